/**
 * What deploy/ ships, checked without running the operator: the kustomization and the Helm chart render
 * the expected objects; the chart's copies of the CRD and the Job template match their sources; the RBAC
 * rules are exactly the listed permissions; the Deployment is locked down and its flags are accepted by the
 * operator's own parser and agree with the other objects; the chart honours the values CloudTTY's chart
 * users set; and every rendering passes a server-side dry-run (strict field validation, admission, and
 * the restricted Pod Security profile) against the test API server.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import denoConfig from "../../deno.json" with { type: "json" };
import { ALLOW_SECRET_STORE_KUBECONFIG } from "../../controller/cloudshell/features.ts";
import { type Options, parseOptions } from "../../controller/options.ts";
import { enforceRestrictedPodSecurity, testCluster } from "../harness/cluster.ts";
import { installCrd } from "../e2e/_operator.ts";
import {
  CHART,
  DEPLOY,
  DEPLOY_NAME,
  DEPLOY_NAMESPACE,
  dryRunApply,
  IDENTITY_COMPONENT,
  isNamespaced,
  isTerminalRole,
  LEGACY_COMPONENT,
  type Manifest,
  ofKind,
  operatorClusterRole,
  parseManifests,
  rebase,
  renderChart,
  renderKustomize,
  REPO,
  single,
  withoutMetricsReader,
} from "./_manifests.ts";
import {
  CLUSTER_PERMISSIONS,
  flatten,
  IDENTITY_RULES,
  LEGACY_CONFIGMAP_PERMISSIONS,
  METRICS_AUTH_PERMISSIONS,
  NAMESPACE_PERMISSIONS,
  rulesOf,
} from "./_rbac.ts";

const CLOUDTTY_VALUES = new URL("./testdata/cloudtty_values.yaml", import.meta.url).pathname;
const JOB_TEMPLATE_KEY = "job-template.yaml";

// deno-lint-ignore no-explicit-any
type Any = any;

const sorted = (xs: Iterable<string>) => [...xs].sort();
const names = (objs: readonly Manifest[]) => sorted(objs.map((o) => `${o.kind}/${o.metadata.name}`));

Deno.test("deploy/ renders with kustomize into the operator's objects, and every manifest is part of it", async () => {
  const objs = await renderKustomize();
  assert.deepEqual(
    names(objs),
    sorted([
      "Namespace/cloudshell-system",
      "CustomResourceDefinition/cloudshells.cloudshell.cloudtty.io",
      "ValidatingAdmissionPolicy/cloudshell-creator-can-read",
      "ValidatingAdmissionPolicyBinding/cloudshell-creator-can-read",
      "ValidatingAdmissionPolicy/cloudshell-creator-record",
      "ValidatingAdmissionPolicyBinding/cloudshell-creator-record",
      "ValidatingAdmissionPolicy/cloudshell-operator-limits",
      "ValidatingAdmissionPolicyBinding/cloudshell-operator-limits",
      "ServiceAccount/cloudshell-operator",
      "ClusterRole/cloudshell-operator",
      "ClusterRole/cloudshell-terminal",
      "ClusterRoleBinding/cloudshell-operator",
      "Role/cloudshell-operator",
      "RoleBinding/cloudshell-operator",
      "ConfigMap/cloudshell-job-template",
      "Deployment/cloudshell-operator",
      "Service/cloudshell-operator-metrics",
      "FlowSchema/cloudshell-operator-leader-election",
      "ClusterRole/cloudshell-operator-metrics-reader",
    ]),
  );
  for (const obj of objs.filter((o) => !["Namespace", "CustomResourceDefinition"].includes(o.kind!))) {
    if (isNamespaced(obj)) {
      assert.equal(obj.metadata.namespace, DEPLOY_NAMESPACE, `${obj.kind} namespace`);
    }
    assert.equal(obj.metadata.labels?.["app.kubernetes.io/name"], DEPLOY_NAME, `${obj.kind} labels`);
  }
  const kustomization = parseYaml(await Deno.readTextFile(`${DEPLOY}/kustomization.yaml`)) as {
    resources: string[];
  };
  const files: string[] = [];
  for await (const entry of Deno.readDir(DEPLOY)) {
    if (entry.isFile && entry.name.endsWith(".yaml") && entry.name !== "kustomization.yaml") {
      files.push(entry.name);
    }
  }
  assert.deepEqual(sorted(kustomization.resources), sorted(files), "manifests left out of the kustomization");
});

Deno.test("the chart's copies of the CRD, admission policy and Job template are those of deploy/ and templates/", async () => {
  const template = await Deno.readTextFile(`${REPO}templates/job_default.yaml`);
  const crd = await Deno.readTextFile(`${DEPLOY}/crd.yaml`);
  const policy = await Deno.readTextFile(`${DEPLOY}/admission_policy.yaml`);
  const operatorPolicy = await Deno.readTextFile(`${DEPLOY}/operator_admission_policy.yaml`);
  const hint = "copy it again: cp templates/job_default.yaml deploy/chart/files/job-template.yaml; " +
    "cp deploy/crd.yaml deploy/admission_policy.yaml deploy/operator_admission_policy.yaml " +
    "deploy/terminal_cluster_role.yaml deploy/chart/files/";
  assert.equal(await Deno.readTextFile(`${CHART}/files/job-template.yaml`), template, hint);
  assert.equal(await Deno.readTextFile(`${CHART}/files/crd.yaml`), crd, hint);
  assert.equal(await Deno.readTextFile(`${CHART}/files/admission_policy.yaml`), policy, hint);
  assert.equal(
    await Deno.readTextFile(`${CHART}/files/operator_admission_policy.yaml`),
    operatorPolicy,
    hint,
  );
  const terminalRole = await Deno.readTextFile(`${DEPLOY}/terminal_cluster_role.yaml`);
  assert.equal(await Deno.readTextFile(`${CHART}/files/terminal_cluster_role.yaml`), terminalRole, hint);

  // What reaches the cluster: the template text unchanged (placeholders intact), the CRD's spec unchanged.
  const kustomized = await renderKustomize();
  const charted = await renderChart();
  for (const objs of [kustomized, charted]) {
    const cm = single(objs, "ConfigMap") as Any;
    assert.equal(cm.metadata.name, "cloudshell-job-template");
    assert.equal(cm.data[JOB_TEMPLATE_KEY], template);
    assert.match(cm.data[JOB_TEMPLATE_KEY], /name: \{\{ \.Name \}\}/);
    const rendered = single(objs, "CustomResourceDefinition") as Any;
    assert.deepEqual(rendered.spec, (parseYaml(crd) as Any).spec);
  }
  // The admission policies and their bindings, as deploy/ has them (the chart adds its labels, and names
  // its own operator account where deploy/ matches every account named cloudshell-operator).
  const named = (objs: Manifest[], kind: string, name: string) =>
    objs.find((o) => o.kind === kind && o.metadata.name === name) as Any;
  for (const text of [policy, operatorPolicy]) {
    for (const shipped of parseManifests(text) as Any[]) {
      assert.deepEqual(named(kustomized, shipped.kind, shipped.metadata.name)?.spec, shipped.spec);
      const inChart = named(charted, shipped.kind, shipped.metadata.name);
      assert.deepEqual({ ...inChart?.spec, matchConditions: undefined }, {
        ...shipped.spec,
        matchConditions: undefined,
      });
    }
  }
  assert.deepEqual(
    named(charted, "ValidatingAdmissionPolicy", "cloudshell-operator-limits").spec.matchConditions,
    [{
      name: "operator",
      expression:
        'request.userInfo.username == "system:serviceaccount:cloudshell-system:cloudshell-operator"',
    }],
  );
  assert.deepEqual(
    names(
      await renderChart({ set: ["admissionPolicy.enabled=false", "operatorAdmissionPolicy.enabled=false"] }),
    )
      .filter((n) => n.includes("Admission")),
    [],
  );
  // The identity component's MutatingAdmissionPolicy, copied into the chart.
  const creatorPolicy = await Deno.readTextFile(`${IDENTITY_COMPONENT}/creator_policy.yaml`);
  assert.equal(
    await Deno.readTextFile(`${CHART}/files/creator_policy.yaml`),
    creatorPolicy,
    "copy it again: cp deploy/components/identity/creator_policy.yaml deploy/chart/files/",
  );
  const chartCrd = single(charted, "CustomResourceDefinition");
  assert.equal(
    chartCrd.metadata.annotations?.["helm.sh/resource-policy"],
    "keep",
    "uninstall keeps CloudShells",
  );
  assert.deepEqual(
    names(await renderChart({ set: ["installCRDs=false"] })).filter((n) => n.includes("Custom")),
    [],
  );

  const custom = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Name }}\n";
  const own = await renderChart({ set: [`jobTemplate.template=${custom}`] });
  assert.equal((single(own, "ConfigMap") as Any).data[JOB_TEMPLATE_KEY], custom);
});

Deno.test("the image tag and chart versions are deno.json's version", async () => {
  const version = denoConfig.version;
  const chart = parseYaml(await Deno.readTextFile(`${CHART}/Chart.yaml`)) as {
    version: string;
    appVersion: string;
  };
  assert.equal(chart.appVersion, version);
  assert.equal(chart.version, version);
  for (const objs of [await renderKustomize(), await renderChart()]) {
    const container = (single(objs, "Deployment") as Any).spec.template.spec.containers[0];
    assert.equal(container.image, `ghcr.io/cloudtty/cloudshell-operator:${version}`);
  }
});

/** The ClusterRole's and Role's permissions, flattened (throws on wildcards). */
function permissionsOf(objs: readonly Manifest[]) {
  return {
    cluster: sorted(flatten(rulesOf(operatorClusterRole(withoutMetricsReader(objs))))),
    namespace: sorted(flatten(rulesOf(single(objs, "Role")))),
  };
}

Deno.test("the ClusterRole and Role grant exactly the listed permissions, in kustomize and in the chart", async () => {
  const cluster = sorted(Object.keys(CLUSTER_PERMISSIONS));
  const namespace = sorted(Object.keys(NAMESPACE_PERMISSIONS));
  const legacy = sorted([...cluster, ...Object.keys(LEGACY_CONFIGMAP_PERMISSIONS)]);
  // The chart serves /metrics securely by default (chart_test.ts): that adds the two reviews.
  const secure = sorted([...new Set([...cluster, ...Object.keys(METRICS_AUTH_PERMISSIONS)])]);
  assert.deepEqual(permissionsOf(await renderKustomize()), { cluster, namespace });
  assert.deepEqual(permissionsOf(await renderChart()), { cluster: secure, namespace });
  assert.deepEqual(permissionsOf(await renderChart({ set: ["metrics.secure=false"] })), {
    cluster,
    namespace,
  });
  assert.deepEqual(permissionsOf(await renderKustomize([LEGACY_COMPONENT])), { cluster: legacy, namespace });
  assert.deepEqual(
    permissionsOf(
      await renderChart({
        set: [`featureGates.${ALLOW_SECRET_STORE_KUBECONFIG}=false`, "metrics.secure=false"],
      }),
    ),
    { cluster: legacy, namespace },
  );
  // The gate as CloudTTY v0.5 spelled it, overridden by the new key: the new key wins.
  assert.deepEqual(
    permissionsOf(
      await renderChart({
        set: [
          `image.featureGates.${ALLOW_SECRET_STORE_KUBECONFIG}=false`,
          `featureGates.${ALLOW_SECRET_STORE_KUBECONFIG}=true`,
          "metrics.secure=false",
        ],
      }),
    ),
    { cluster, namespace },
  );

  // The names in the rules follow the chart's settings.
  const tuned = permissionsOf(
    await renderChart({
      release: "shells",
      set: ["kubeconfigClusterRole=edit", "nodePortHost=shell.example.com", "jobTemplate.configMapName=tpl"],
    }),
  );
  assert.ok(tuned.cluster.includes("bind rbac.authorization.k8s.io/clusterroles:edit"));
  assert.ok(!tuned.cluster.some((p) => p.includes("clusterroles:view")));
  assert.ok(!tuned.cluster.some((p) => p.includes("core/nodes")), "a fixed NodePort host needs no nodes");
  assert.ok(tuned.namespace.includes("get coordination.k8s.io/leases:shells-cloudshell-operator"));
  assert.ok(tuned.namespace.includes("watch core/configmaps:tpl"));

  // The bindings give the roles to the operator's ServiceAccount, and to nothing else.
  for (const rendered of [await renderKustomize(), await renderChart()]) {
    const objs = withoutMetricsReader(rendered);
    const sa = single(objs, "ServiceAccount");
    for (const [binding, role] of [["ClusterRoleBinding", "ClusterRole"], ["RoleBinding", "Role"]]) {
      const b = single(objs, binding) as Any;
      assert.deepEqual(b.roleRef, {
        apiGroup: "rbac.authorization.k8s.io",
        kind: role,
        name: (role === "ClusterRole" ? operatorClusterRole(objs) : single(objs, role)).metadata.name,
      });
      assert.deepEqual(b.subjects, [{
        kind: "ServiceAccount",
        name: sa.metadata.name,
        namespace: DEPLOY_NAMESPACE,
      }]);
    }
  }
});

/** The Deployment's checks; returns the parsed operator options. */
function checkDeployment(objs: readonly Manifest[], what: string): Options {
  const deployment = single(objs, "Deployment") as Any;
  const pod = deployment.spec.template.spec;
  assert.deepEqual(
    deployment.spec.selector.matchLabels,
    Object.fromEntries(
      Object.entries(deployment.spec.template.metadata.labels).filter(([k]) =>
        k in deployment.spec.selector.matchLabels
      ),
    ),
    `${what}: the selector matches the Pod labels`,
  );
  assert.equal(pod.serviceAccountName, single(objs, "ServiceAccount").metadata.name, what);
  assert.equal(pod.automountServiceAccountToken ?? true, true, `${what}: the operator needs its token`);
  assert.equal(pod.securityContext.runAsNonRoot, true, what);
  assert.equal(pod.securityContext.seccompProfile?.type, "RuntimeDefault", what);
  assert.equal(pod.hostNetwork ?? false, false, what);
  assert.equal(pod.containers.length, 1, what);
  const c = pod.containers[0];
  assert.equal(c.securityContext.runAsNonRoot, true, what);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true, what);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false, what);
  assert.equal(c.securityContext.privileged ?? false, false, what);
  assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] }, what);
  assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, `${what}: resource requests`);
  assert.ok(c.resources?.limits?.memory, `${what}: a memory limit`);
  // The temp directory is the one writable path (for the runtime; the operator itself writes nothing there).
  const tmp = c.volumeMounts.find((m: Any) => m.mountPath === "/tmp");
  assert.ok(pod.volumes.find((v: Any) => v.name === tmp?.name)?.emptyDir, `${what}: /tmp is an emptyDir`);
  assert.deepEqual(
    c.env.find((e: Any) => e.name === "POD_NAMESPACE")?.valueFrom,
    { fieldRef: { fieldPath: "metadata.namespace" } },
    what,
  );

  const parsed = parseOptions(c.args, { version: denoConfig.version, defaultNamespace: DEPLOY_NAMESPACE });
  assert.equal(parsed.kind, "run", `${what}: the operator rejects its arguments: ${JSON.stringify(parsed)}`);
  const opts = (parsed as { options: Options }).options;
  assert.ok(opts.leaderElection.enabled, `${what}: leader election`);
  assert.equal(opts.kubeconfig, undefined, `${what}: in-cluster config`);

  const port = (name: string) => c.ports.find((p: Any) => p.name === name)?.containerPort;
  assert.equal(port("health"), opts.healthProbeBindAddress?.port, `${what}: the health port`);
  assert.equal(port("metrics"), opts.metricsBindAddress?.port, `${what}: the metrics port`);
  assert.deepEqual(
    [c.livenessProbe?.httpGet, c.readinessProbe?.httpGet],
    [{ path: "/healthz", port: "health" }, { path: "/readyz", port: "health" }],
    `${what}: probes`,
  );
  const service = single(objs, "Service") as Any;
  assert.equal(service.spec.ports[0].targetPort, "metrics", what);
  for (const [k, v] of Object.entries(service.spec.selector)) {
    assert.equal(
      deployment.spec.template.metadata.labels[k],
      v,
      `${what}: the metrics Service selects the Pods`,
    );
  }

  // Names that flags and other objects must agree on. With watchNamespace a second Role holds the shell rights.
  const role = flatten(
    rulesOf(single(objs.filter((o) => o.metadata.namespace === DEPLOY_NAMESPACE), "Role")),
  );
  assert.ok(
    role.has(`get coordination.k8s.io/leases:${opts.leaderElection.resourceName}`),
    `${what}: Lease name`,
  );
  const cm = ofKind(objs, "ConfigMap")[0];
  if (cm) assert.equal(cm.metadata.name, opts.jobTemplateConfigMap.name, `${what}: template ConfigMap`);
  assert.ok(
    role.has(`watch core/configmaps:${opts.jobTemplateConfigMap.name}`),
    `${what}: template ConfigMap`,
  );
  assert.equal(opts.jobTemplateKey, JOB_TEMPLATE_KEY, what);
  const clusterRole = flatten(
    withoutMetricsReader(objs).filter((o) =>
      (o.kind === "ClusterRole" && !isTerminalRole(o)) || o.kind === "Role"
    ).flatMap(rulesOf),
  );
  assert.ok(
    clusterRole.has(`bind rbac.authorization.k8s.io/clusterroles:${opts.kubeconfigClusterRole}`),
    `${what}: bind on --kubeconfig-clusterrole`,
  );
  // Neither kubeconfig source needs a rule: the operator reads no Secret and no ConfigMap of a tenant.
  assert.ok(!clusterRole.has("get core/configmaps"), `${what}: no ConfigMap rule`);
  assert.ok(!clusterRole.has("get core/secrets"), `${what}: no Secret rule`);
  return opts;
}

Deno.test("the Deployment is locked down, and its flags parse and agree with the other objects", async () => {
  checkDeployment(await renderKustomize(), "kustomize");
  checkDeployment(await renderKustomize([LEGACY_COMPONENT]), "kustomize with the legacy component");
  const opts = checkDeployment(await renderChart(), "chart");
  assert.equal(opts.cloudshellImage, "ghcr.io/cloudtty/cloudshell:v0.8.9");
  const fenced = checkDeployment(
    await renderChart({
      set: [
        "terminalAccess.checkOrigin=false",
        "terminalAccess.credential=none",
        "terminalAccess.authHeader=X-Forwarded-User",
        "terminalAccess.pingInterval=20s",
        "terminalAccess.networkPolicy.cidrs={10.0.0.0/8,192.168.0.0/16}",
        "terminalAccess.networkPolicy.namespaces[0]=kubernetes.io/metadata.name=traefik",
      ],
    }),
    "chart with terminal access settings",
  );
  assert.deepEqual(JSON.parse(JSON.stringify(fenced.terminalAccess)), {
    checkOrigin: false,
    authHeader: "X-Forwarded-User",
    credential: "none",
    pingIntervalSeconds: 20,
    networkPolicy: {
      cidrs: ["10.0.0.0/8", "192.168.0.0/16"],
      namespaceSelectors: [{ "kubernetes.io/metadata.name": "traefik" }],
    },
  });
  checkDeployment(await renderChart({ valuesFiles: [CLOUDTTY_VALUES] }), "chart with CloudTTY's values");
  checkDeployment(
    await renderChart({
      release: "shells",
      set: [
        "kubeconfigClusterRole=edit",
        "jobTemplate.configMapName=tpl",
        "leaderElection.leaseDuration=30s",
        "watchNamespace=team-a",
        "extraArgs[0]=--kube-api-qps=20",
      ],
    }),
    "chart with settings",
  );
});

Deno.test("a new install's terminals have a login, the Origin check, a NetworkPolicy and an origin each", async () => {
  for (
    const [what, objs] of [["kustomize", await renderKustomize()], ["chart", await renderChart()]] as const
  ) {
    const opts = checkDeployment(objs, what);
    assert.deepEqual(JSON.parse(JSON.stringify(opts.terminalAccess)), {
      checkOrigin: true,
      credential: "generated",
      pingIntervalSeconds: 30,
      networkPolicy: { cidrs: [], namespaceSelectors: [{ "kubernetes.io/metadata.name": "ingress-nginx" }] },
    }, what);
    // No shared origins, and nothing for tenants to choose: Ingress and VirtualService shells wait for a
    // host pattern (RouteHostNotConfigured) rather than share one host.
    assert.deepEqual(JSON.parse(JSON.stringify(opts.routeHosts)), {
      ingressHostsAllowed: [],
      ingressClassesAllowed: [],
      virtualServiceGatewaysAllowed: [],
      virtualServiceExportToAllowed: [],
    }, what);
    assert.equal(opts.kubeconfigClusterRole, "view", what);
  }
  // The role without pod logs, offered: always in deploy/, in the chart when chosen (and then bound).
  const offered = await renderChart({ set: ["kubeconfigClusterRole=cloudshell-terminal"] });
  assert.ok(
    flatten(rulesOf(operatorClusterRole(offered))).has(
      "bind rbac.authorization.k8s.io/clusterroles:cloudshell-terminal",
    ),
  );
  for (const objs of [await renderKustomize(), offered]) {
    const role = objs.find((o) =>
      o.kind === "ClusterRole" && o.metadata.name === "cloudshell-terminal"
    ) as Any;
    const resources = role.rules.flatMap((r: { resources: string[] }) => r.resources);
    assert.ok(resources.includes("pods") && !resources.includes("pods/log"));
    assert.ok(!resources.includes("secrets"));
  }
  assert.ok(!(await renderChart()).some((o) => o.metadata.name === "cloudshell-terminal"));
  // Chart values choose per-shell hosts and what tenants may pick.
  const values = await Deno.makeTempFile({ suffix: ".yaml" });
  await Deno.writeTextFile(
    values,
    [
      "routes:",
      '  ingressHostPattern: "{name}.{namespace}.shells.example.com"',
      '  virtualServiceHostPattern: "*"',
      "  ingressClassesAllowed: [nginx, internal]",
      "  virtualServiceGatewaysAllowed: [istio-system/internal]",
    ].join("\n"),
  );
  const routed = checkDeployment(await renderChart({ valuesFiles: [values] }), "chart with route settings");
  await Deno.remove(values);
  assert.deepEqual(JSON.parse(JSON.stringify(routed.routeHosts)), {
    ingressHostPattern: { kind: "perShell", text: "{name}.{namespace}.shells.example.com" },
    virtualServiceHostPattern: { kind: "any" },
    ingressHostsAllowed: [],
    ingressClassesAllowed: ["nginx", "internal"],
    virtualServiceGatewaysAllowed: ["istio-system/internal"],
    virtualServiceExportToAllowed: [],
  });
});

Deno.test("the chart honours the values CloudTTY's chart users set", async () => {
  const values = parseYaml(await Deno.readTextFile(CLOUDTTY_VALUES)) as Any;
  const objs = await renderChart({ valuesFiles: [CLOUDTTY_VALUES] });
  const opts = checkDeployment(objs, "CloudTTY values");
  const deployment = single(objs, "Deployment") as Any;
  const pod = deployment.spec.template;
  const c = pod.spec.containers[0];

  assert.equal(deployment.spec.replicas, 2);
  // global.imageRegistry wins over image.registry, for the operator and the terminal alike.
  assert.equal(c.image, "registry.example.test/cloudtty/cloudshell-operator:v9.9.9");
  assert.equal(c.imagePullPolicy, "Always");
  assert.deepEqual(pod.spec.imagePullSecrets, [{ name: "global-pull" }, { name: "operator-pull" }]);
  // CloudTTY v0.5's jobTemplate.image is the terminal image.
  assert.equal(opts.cloudshellImage, "registry.example.test/team/custom-shell:1.2");
  // featureGates wins over v0.5's image.featureGates.
  assert.equal(opts.featureGates.enabled(ALLOW_SECRET_STORE_KUBECONFIG), false);
  assert.deepEqual(c.resources, values.resources);
  assert.deepEqual(pod.spec.nodeSelector, values.nodeSelector);
  assert.deepEqual(pod.spec.affinity, values.affinity);
  assert.deepEqual(pod.spec.tolerations, values.tolerations);
  assert.equal(pod.metadata.annotations["prometheus.io/scrape"], "true");
  assert.equal(pod.metadata.labels.tier, "control");
  for (const obj of objs) assert.equal(obj.metadata.labels?.team, "platform", `${obj.kind} has the labels`);
  assert.ok(ofKind(objs, "CustomResourceDefinition").length === 1, "installCRDs");

  // Without jobTemplate.image, cloudshell.image is the terminal image; a string of gates works too.
  const gates = await Deno.makeTempFile({ suffix: ".yaml" });
  try {
    await Deno.writeTextFile(gates, `featureGates: "${ALLOW_SECRET_STORE_KUBECONFIG}=false"\n`);
    const plain = checkDeployment(
      await renderChart({
        valuesFiles: [gates],
        set: [
          "cloudshell.image.repository=me/shell",
          "cloudshell.image.tag=2",
          "global.imageRegistry=reg.test",
        ],
      }),
      "cloudshell.image",
    );
    assert.equal(plain.cloudshellImage, "reg.test/me/shell:2");
    assert.equal(plain.featureGates.enabled(ALLOW_SECRET_STORE_KUBECONFIG), false);
  } finally {
    await Deno.remove(gates);
  }

  // CloudTTY shipped its probes disabled; that value still switches ours off.
  const noProbes = single(await renderChart({ set: ["livenessProbe.enabled=false"] }), "Deployment") as Any;
  assert.equal(noProbes.spec.template.spec.containers[0].livenessProbe, undefined);
});

Deno.test("every rendering of deploy/ passes a server-side dry-run under the restricted Pod Security profile", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);
  const renderings: [string, Manifest[]][] = [
    ["kustomize", await renderKustomize()],
    ["kustomize with the legacy component", await renderKustomize([LEGACY_COMPONENT])],
    ["chart", await renderChart()],
    ["chart with CloudTTY's values", await renderChart({ valuesFiles: [CLOUDTTY_VALUES] })],
  ];
  for (const [what, objs] of renderings) {
    const ns = await cluster.namespace("deploy-dryrun");
    // Enforced for Pods, warned about for Deployments: a warning names what the Pod template lacks.
    await enforceRestrictedPodSecurity(cluster.client, ns);
    const res = await dryRunApply(cluster.kubeconfigPath, rebase(objs, { namespace: ns, suffix: ns }));
    assert.equal(res.code, 0, `${what}: ${res.stderr}`);
    assert.doesNotMatch(res.stderr, /Warning|PodSecurity/, `${what}: warnings: ${res.stderr}`);
    const applied = res.stdout.split("\n").filter((l) => l.includes("(server dry run)"));
    assert.equal(applied.length, objs.length, `${what}: ${res.stdout}`);
  }
});

Deno.test("identity mode: the component and the chart value add the impersonation role, the creator policy and the flag", async () => {
  const kustomized = await renderKustomize([IDENTITY_COMPONENT]);
  const charted = await renderChart({ set: ["identity.enabled=true"] });
  const shipped = parseManifests(
    await Deno.readTextFile(`${IDENTITY_COMPONENT}/creator_policy.yaml`),
  ) as Any[];
  for (const [what, objs] of [["kustomize", kustomized], ["chart", charted]] as const) {
    const roles = ofKind(objs, "ClusterRole") as Any[];
    const identity = roles.find((r) => r.metadata.name.endsWith("-identity"));
    assert.ok(identity, `${what}: the identity ClusterRole`);
    assert.deepEqual(identity.rules, IDENTITY_RULES, what);
    const binding = (ofKind(objs, "ClusterRoleBinding") as Any[]).find((b) =>
      b.roleRef.name === identity.metadata.name
    );
    assert.deepEqual(binding.subjects, [{
      kind: "ServiceAccount",
      name: single(objs, "ServiceAccount").metadata.name,
      namespace: DEPLOY_NAMESPACE,
    }]);
    for (const obj of shipped) {
      const found = objs.find((o) => o.kind === obj.kind && o.metadata.name === obj.metadata.name) as Any;
      assert.deepEqual(found?.spec, obj.spec, `${what}: ${obj.kind}`);
    }
    const args: string[] = (single(objs, "Deployment") as Any).spec.template.spec.containers[0].args;
    assert.ok(args.includes("--terminal-identity=creator"), `${what}: ${args}`);
  }
  // Off by default; on without the MutatingAdmissionPolicy for clusters older than 1.36.
  assert.ok(!names(await renderChart()).some((n) => n.includes("-identity") || n.startsWith("Mutating")));
  const declared = names(
    await renderChart({ set: ["identity.enabled=true", "identity.recordCreator=false"] }),
  );
  assert.ok(declared.some((n) => n.endsWith("-identity")));
  assert.ok(!declared.some((n) => n.startsWith("Mutating")));
});
