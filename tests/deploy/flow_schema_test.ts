/**
 * deploy/'s FlowSchema, applied to the real API server, routes the operator ServiceAccount's Lease calls in
 * its own namespace to the `leader-election` priority level and leaves everything else it does where it was
 * (`service-accounts`, priority level workload-low). The API server itself is the oracle: every response
 * names the FlowSchema and priority level that classified the request (X-Kubernetes-PF-* headers).
 */
import assert from "node:assert/strict";
import { testCluster } from "../harness/cluster.ts";
import { classify, FLOW_SCHEMAS, PRIORITY_LEVELS, uidOf } from "./_flow_control.ts";
import { apply, DEPLOY_NAME, rebase, renderChart, renderKustomize, single } from "./_manifests.ts";

Deno.test("the FlowSchema sends the operator's Lease calls, and nothing else, to the leader-election level", async () => {
  await using cluster = await testCluster();
  const ns = await cluster.namespace("deploy-apf");
  const schema = single(rebase(await renderKustomize(), { namespace: ns, suffix: ns }), "FlowSchema");
  await apply(cluster.kubeconfigPath, [schema]);
  const schemaPath = `${FLOW_SCHEMAS}/${schema.metadata.name}`;
  try {
    const schemaUid = await uidOf(cluster.client, schemaPath);
    const leaderElection = await uidOf(cluster.client, `${PRIORITY_LEVELS}/leader-election`);
    const workloadLow = await uidOf(cluster.client, `${PRIORITY_LEVELS}/workload-low`);
    const operator = cluster.client.impersonating(`system:serviceaccount:${ns}:${DEPLOY_NAME}`);
    const stranger = cluster.client.impersonating(`system:serviceaccount:${ns}:someone-else`);
    const lease = `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${DEPLOY_NAME}`;

    // The API server's configuration controller takes the new schema up asynchronously.
    const deadline = Date.now() + 30_000;
    let seen = await classify(operator, lease);
    while (seen.flowSchema !== schemaUid && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      seen = await classify(operator, lease);
    }
    assert.deepEqual(seen, { flowSchema: schemaUid, level: leaderElection }, "the operator's Lease GET");

    // Everything else the operator does, and Leases of other accounts or namespaces, stay in workload-low.
    for (
      const [who, path] of [
        [operator, `/api/v1/namespaces/${ns}/configmaps`],
        [operator, `/apis/coordination.k8s.io/v1/namespaces/default/leases/${DEPLOY_NAME}`],
        [stranger, lease],
      ] as const
    ) {
      const other = await classify(who, path);
      assert.notEqual(other.flowSchema, schemaUid, path);
      assert.equal(other.level, workloadLow, path);
    }
  } finally {
    const res = await cluster.client.request({ method: "DELETE", path: schemaPath });
    await res.body?.cancel();
  }
});

Deno.test("the chart renders the same FlowSchema for its release, and none when turned off", async () => {
  const fromKustomize = single(await renderKustomize(), "FlowSchema");
  const fromChart = single(await renderChart(), "FlowSchema");
  assert.deepEqual(fromChart.spec, fromKustomize.spec);
  const moved = single(await renderChart({ namespace: "elsewhere" }), "FlowSchema") as unknown as {
    spec: {
      rules: {
        subjects: { serviceAccount: { namespace: string } }[];
        resourceRules: { namespaces: string[] }[];
      }[];
    };
  };
  assert.equal(moved.spec.rules[0].subjects[0].serviceAccount.namespace, "elsewhere");
  assert.deepEqual(moved.spec.rules[0].resourceRules[0].namespaces, ["elsewhere"]);
  for (const set of ["flowSchema.enabled=false", "leaderElection.enabled=false"]) {
    const objs = await renderChart({ set: [set] });
    assert.equal(objs.filter((o) => o.kind === "FlowSchema").length, 0, set);
  }
});
