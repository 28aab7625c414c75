import assert from "node:assert/strict";
import type { CloudShell } from "../../../controller/cloudshell/api.ts";
import {
  buildNetworkPolicy,
  wantsNetworkPolicy,
} from "../../../controller/cloudshell/access/network_policy.ts";

const CS: CloudShell = {
  apiVersion: "cloudshell.cloudtty.io/v1alpha1",
  kind: "CloudShell",
  metadata: { name: "demo", namespace: "team-a", uid: "uid-1" },
};

Deno.test("the NetworkPolicy admits the named sources to the ttyd port of this shell's pod only", () => {
  const sources = {
    cidrs: ["10.0.0.0/8"],
    namespaceSelectors: [{ "kubernetes.io/metadata.name": "ingress-nginx" }],
  };
  const policy = buildNetworkPolicy(CS, sources) as unknown as Record<string, Record<string, unknown>>;
  assert.equal(policy.metadata.name, "cloudshell-demo");
  assert.deepEqual((policy.metadata.ownerReferences as { uid: string }[]).map((r) => r.uid), ["uid-1"]);
  assert.deepEqual(policy.spec, {
    podSelector: { matchLabels: { "cloudshell.cloudtty.io/owner-name": "demo" } },
    policyTypes: ["Ingress"],
    ingress: [{
      from: [
        { ipBlock: { cidr: "10.0.0.0/8" } },
        { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } },
      ],
      ports: [{ protocol: "TCP", port: 7681 }],
    }],
  });
  assert.equal(wantsNetworkPolicy(sources), true);
  assert.equal(wantsNetworkPolicy({ cidrs: [], namespaceSelectors: [] }), false);
  assert.equal(wantsNetworkPolicy(undefined), false);
});
