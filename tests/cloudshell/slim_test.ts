import assert from "node:assert/strict";
import { type CloudShell, ROUTE_ANNOTATION } from "../../controller/cloudshell/api.ts";
import { slimCloudShell } from "../../controller/cloudshell/slim.ts";

Deno.test("slimCloudShell keeps spec, status and identity, and drops labels and foreign annotations", () => {
  const spec = { commandAction: "bash", env: [{ name: "A", value: "1" }], ttlSecondsAfterStarted: 60 };
  const status = { phase: "Ready" as const, accessUrl: "10.0.0.1:7681" };
  const cs: CloudShell = {
    apiVersion: "cloudshell.cloudtty.io/v1alpha1",
    kind: "CloudShell",
    metadata: {
      name: "demo",
      namespace: "team-a",
      uid: "u-1",
      resourceVersion: "42",
      generation: 3,
      creationTimestamp: "2026-12-01T00:00:00Z",
      finalizers: ["cloudtty.io/cloudshell-controller"],
      labels: { team: "a".repeat(1000) },
      annotations: {
        "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({ spec }).repeat(100),
        [ROUTE_ANNOTATION]: "Ingress/team-a/shells/x",
      },
    },
    spec,
    status,
  };
  const slim = slimCloudShell(structuredClone(cs));
  assert.deepEqual(JSON.parse(JSON.stringify(slim)), {
    apiVersion: cs.apiVersion,
    kind: cs.kind,
    metadata: {
      name: "demo",
      namespace: "team-a",
      uid: "u-1",
      resourceVersion: "42",
      generation: 3,
      creationTimestamp: "2026-12-01T00:00:00Z",
      finalizers: ["cloudtty.io/cloudshell-controller"],
      annotations: { [ROUTE_ANNOTATION]: "Ingress/team-a/shells/x" },
    },
    spec,
    status,
  });
  const bare = slimCloudShell({ ...structuredClone(cs), metadata: { name: "b", annotations: { a: "b" } } });
  assert.equal(bare.metadata.annotations, undefined);
});

Deno.test("slimCloudShell keeps a refused shell as its verdict and its route fields, not its spec", () => {
  const big = "x".repeat(60_000);
  const cs: CloudShell = {
    apiVersion: "cloudshell.cloudtty.io/v1alpha1",
    kind: "CloudShell",
    metadata: { name: "r", namespace: "ns", uid: "u", generation: 3 },
    spec: {
      exposureMode: "Ingress",
      cleanup: true,
      pathPrefix: "/p",
      commandAction: big.slice(0, 16_000),
      ingressConfig: { ingressName: "shells", annotations: { a: big.slice(0, 4000) } },
      env: [{ name: "A", value: big }],
    },
    status: { phase: "" },
  };
  const verdict = { reason: "EnvSourceNotAllowed", message: "no" };
  const slim = slimCloudShell(structuredClone(cs), () => verdict);
  assert.deepEqual(slim.refused, verdict);
  assert.deepEqual(slim.spec, {
    exposureMode: "Ingress",
    cleanup: true,
    pathPrefix: "/p",
    pathSuffix: undefined,
    ingressConfig: { ingressName: "shells", namespace: undefined, host: undefined },
    virtualServiceConfig: undefined,
  });
  assert.ok(JSON.stringify(slim).length < 1000);
  // The verdict sees the whole spec; a shell it accepts is kept whole.
  let seen: CloudShell | undefined;
  const kept = slimCloudShell(structuredClone(cs), (s) => {
    seen = s;
    return undefined;
  });
  assert.equal(seen?.spec?.env?.[0].value, big);
  assert.equal(kept.refused, undefined);
  assert.deepEqual(kept.spec, cs.spec);
});
