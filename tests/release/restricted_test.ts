/**
 * The terminal under the `restricted` Pod Security level: the restricted variant of the built-in Job
 * template (templates/job_restricted.yaml) is the built-in one plus the fields that level requires; the chart
 * and deploy/components/restricted-terminal install it with the project's terminal image and pass a
 * server-side dry-run in a namespace that enforces `restricted`; and in such a namespace the operator's Job from that template gets its pod created
 * by the Job controller (admitted by Pod Security), while the built-in template's pod is refused.
 */
import assert from "node:assert/strict";
import denoConfig from "../../deno.json" with { type: "json" };
import type { CloudShell } from "../../controller/cloudshell/api.ts";
import {
  compileJobTemplate,
  DEFAULT_JOB_TEMPLATE_TEXT,
  type JsonObject,
  type KubeconfigSource,
  postRender,
  render,
  SAMPLE_TEMPLATE_VARS,
} from "../../controller/cloudshell/template/mod.ts";
import { type KubeObject, Resources } from "../../controller/kube/mod.ts";
import { enforceRestrictedPodSecurity, testCluster } from "../harness/cluster.ts";
import { createCloudShell, installCrd, OperatorProcess, waitForCloudShell } from "../e2e/_operator.ts";
import {
  CHART,
  DEPLOY,
  dryRunApply,
  helm,
  KUBE_VERSION,
  kubectl,
  rebase,
  renderChart,
  renderKustomize,
  single,
} from "../deploy/_manifests.ts";
import { REPO, stage, terminalDockerfile } from "./_release.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const RESTRICTED_TEXT = await Deno.readTextFile(`${REPO}templates/job_restricted.yaml`);
const TERMINAL_IMAGE = `ghcr.io/cloudtty/cloudshell-terminal:${denoConfig.version}`;
const RESTRICTED_COMPONENT = `${DEPLOY}/components/restricted-terminal`;
const RESTRICTED_VALUES = [
  "jobTemplate.variant=restricted",
  "cloudshell.image.repository=cloudtty/cloudshell-terminal",
  `cloudshell.image.tag=${denoConfig.version}`,
];

/** What the restricted variant adds to the built-in template's Job, and nothing else. */
function restrict(defaultJob: JsonObject): JsonObject {
  const job = structuredClone(defaultJob) as Any;
  const pod = job.spec.template.spec;
  pod.securityContext = { runAsNonRoot: true, fsGroup: 1000, ...pod.securityContext };
  const terminal = pod.containers.find((c: Any) => c.name === "web-tty");
  terminal.securityContext.readOnlyRootFilesystem = true;
  terminal.volumeMounts.push({ name: "home", mountPath: "/home/cloudshell" }, {
    name: "tmp",
    mountPath: "/tmp",
  });
  pod.volumes.push(
    { name: "home", emptyDir: { sizeLimit: "256Mi" } },
    { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
  );
  return job;
}

Deno.test("the restricted template is the built-in one plus what the restricted level needs", async () => {
  const built = render(compileJobTemplate(DEFAULT_JOB_TEMPLATE_TEXT), SAMPLE_TEMPLATE_VARS);
  const restricted = render(compileJobTemplate(RESTRICTED_TEXT), SAMPLE_TEMPLATE_VARS);
  assert.deepEqual(
    restricted,
    restrict(built),
    "templates/job_restricted.yaml drifted from templates/job_default.yaml: carry the change over",
  );
  for (
    const copy of [`${CHART}/files/job-template-restricted.yaml`, `${RESTRICTED_COMPONENT}/job-template.yaml`]
  ) {
    assert.equal(
      await Deno.readTextFile(copy),
      RESTRICTED_TEXT,
      `copy it again: cp templates/job_restricted.yaml ${copy}`,
    );
  }
});

Deno.test("under the restricted template, the terminal image's user can read every file the operator mounts", async () => {
  // The image's user and home (images/terminal/Dockerfile) are what the template's fsGroup and home volume assume.
  const final = stage(await terminalDockerfile(), "final");
  const [uid, gid] = final.find((i) => i.keyword === "USER")!.args.split(":").map(Number);
  assert.ok(uid > 0);
  const home = /\bHOME=(\S+)/.exec(final.filter((i) => i.keyword === "ENV").map((i) => i.args).join(" "))![1];

  const sources: KubeconfigSource[] = [
    { kind: "Secret", name: "my-kubeconfig" },
    { kind: "ConfigMap", name: "my-kubeconfig" },
    { kind: "ServiceAccount", serviceAccountName: "cloudshell-x" },
  ];
  for (const kubeconfig of sources) {
    const job = postRender(
      render(compileJobTemplate(RESTRICTED_TEXT), SAMPLE_TEMPLATE_VARS),
      SAMPLE_TEMPLATE_VARS,
      {
        kubeconfig,
        credentialSecret: "x-login",
      },
    ) as Any;
    const pod = job.spec.template.spec;
    assert.equal(pod.securityContext.fsGroup, gid, `${kubeconfig.kind}: fsGroup is the image's group`);
    assert.ok(pod.containers[0].volumeMounts.some((m: Any) => m.name === "home" && m.mountPath === home));
    let files = 0;
    for (const volume of pod.volumes) {
      // Files of Secret, ConfigMap and projected volumes belong to root and the fsGroup: the group must read them.
      const source = volume.secret ?? volume.configMap ?? volume.projected;
      if (!source) continue;
      const items = [
        ...(source.items ?? []),
        ...(source.sources ?? []).flatMap((s: Any) => Object.values(s).flatMap((p: Any) => p.items ?? [p])),
      ];
      for (const item of items.length > 0 ? items : [{}]) {
        const mode = item.mode ?? source.defaultMode ?? 0o644;
        assert.ok(mode & 0o040, `${kubeconfig.kind}: volume ${volume.name} has mode ${mode.toString(8)}`);
        files++;
      }
    }
    assert.ok(files >= 2, `${kubeconfig.kind}: the kubeconfig and the login are mounted`);
  }
});

Deno.test("the chart and the kustomize component install the restricted variant with the terminal image", async () => {
  for (
    const objs of [
      await renderChart({ set: RESTRICTED_VALUES }),
      await renderKustomize([RESTRICTED_COMPONENT]),
    ]
  ) {
    assert.equal((single(objs, "ConfigMap") as Any).data["job-template.yaml"], RESTRICTED_TEXT);
    const args = (single(objs, "Deployment") as Any).spec.template.spec.containers[0].args as string[];
    assert.equal(args.filter((a) => a.startsWith("--cloudshell-image=")).length, 1, args.join(" "));
    assert.ok(args.includes(`--cloudshell-image=${TERMINAL_IMAGE}`), args.join(" "));
  }

  // The chart refuses the variant with CloudTTY's image, and an unknown variant.
  const template = (set: string[]) =>
    helm(["template", "x", CHART, "--kube-version", KUBE_VERSION, ...set.flatMap((s) => ["--set", s])]);
  const cloudtty = await template(["jobTemplate.variant=restricted"]);
  assert.notEqual(cloudtty.code, 0);
  assert.match(cloudtty.stderr, /needs a terminal image that runs as non-root/);
  const unknown = await template(["jobTemplate.variant=strict"]);
  assert.notEqual(unknown.code, 0);
  // The values schema refuses it first (values.schema.json), naming the key.
  assert.match(unknown.stderr, /variant/);
});

Deno.test("under an enforced restricted level: the chart dry-runs cleanly and the restricted Job gets its pod", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const client = cluster.client;

  // The chart and the component as a user installs them for restricted namespaces: admitted, and not one
  // Pod Security warning.
  for (
    const rendered of [
      await renderChart({ set: RESTRICTED_VALUES }),
      await renderKustomize([RESTRICTED_COMPONENT]),
    ]
  ) {
    const deployNs = await cluster.namespace("release-restricted-deploy");
    await enforceRestrictedPodSecurity(client, deployNs);
    const dry = await dryRunApply(
      cluster.kubeconfigPath,
      rebase(rendered, { namespace: deployNs, suffix: deployNs }),
    );
    assert.equal(dry.code, 0, dry.stderr);
    assert.doesNotMatch(dry.stderr, /Warning|PodSecurity/, dry.stderr);
  }

  // The operator with the restricted template and the terminal image, in a namespace enforcing restricted.
  const ns = await cluster.namespace("release-restricted");
  await enforceRestrictedPodSecurity(client, ns);
  await client.create(Resources.configMaps, {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cloudshell-job-template", namespace: ns },
    data: { "job-template.yaml": RESTRICTED_TEXT },
  });
  await using _op = await OperatorProcess.start(cluster.kubeconfigPath, ns, [
    `--cloudshell-image=${TERMINAL_IMAGE}`,
  ]);
  await createCloudShell(client, ns, "restricted", { commandAction: "bash", ttlSecondsAfterStarted: 600 });
  // The pod exists only if Pod Security admitted what the Job controller created; kwok then runs it.
  const shell = await waitForCloudShell(
    client,
    ns,
    "restricted",
    "Ready",
    (cs: CloudShell) => cs.status?.phase === "Ready",
    60_000,
  );
  assert.ok(shell.status?.accessUrl);
  const pods = await client.list<KubeObject & { spec: Any }>(Resources.pods, {
    namespace: ns,
    labelSelector: "cloudshell.cloudtty.io/owner-name=restricted",
  });
  assert.equal(pods.items.length, 1);
  assert.equal(pods.items[0].spec.containers[0].image, TERMINAL_IMAGE);
  assert.equal(pods.items[0].spec.securityContext.runAsNonRoot, true);

  // The built-in template's pod, for contrast, is refused in the same namespace.
  const defaultJob = render(compileJobTemplate(DEFAULT_JOB_TEMPLATE_TEXT), {
    ...SAMPLE_TEMPLATE_VARS,
    Namespace: ns,
  }) as Any;
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "default-template", namespace: ns },
    spec: defaultJob.spec.template.spec,
  };
  const refused = await kubectl(
    cluster.kubeconfigPath,
    ["create", "--dry-run=server", "-f", "-"],
    JSON.stringify(pod),
  );
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /violates PodSecurity "restricted:latest": .*runAsNonRoot/);
});
