/** The NodePort host: a Ready node's ExternalIP before any InternalIP, the first by name, in one pass. */
import assert from "node:assert/strict";
import {
  hostPort,
  type NodeLike,
  nodePortAddress,
} from "../../../controller/cloudshell/routing/node_address.ts";

function node(name: string, ready: boolean, addresses: Record<string, string>): NodeLike {
  return {
    metadata: { name },
    status: {
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
      addresses: Object.entries(addresses).map(([type, address]) => ({ type, address })),
    },
  };
}

Deno.test("an ExternalIP of a Ready node wins over every InternalIP, the first node by name", () => {
  const nodes = [
    node("c", true, { InternalIP: "10.0.0.3", ExternalIP: "203.0.113.3" }),
    node("a", true, { InternalIP: "10.0.0.1" }),
    node("b", true, { InternalIP: "10.0.0.2", ExternalIP: "203.0.113.2" }),
    node("0-not-ready", false, { ExternalIP: "203.0.113.9" }),
  ];
  assert.equal(nodePortAddress(nodes), "203.0.113.2");
  // The order of the list does not matter.
  assert.equal(nodePortAddress([...nodes].reverse()), "203.0.113.2");
});

Deno.test("without ExternalIPs, the InternalIP of the first Ready node by name; none without a Ready node", () => {
  const nodes = [node("b", true, { InternalIP: "10.0.0.2" }), node("a", true, { InternalIP: "10.0.0.1" })];
  assert.equal(nodePortAddress(nodes), "10.0.0.1");
  assert.equal(nodePortAddress([node("a", false, { InternalIP: "10.0.0.1" })]), undefined);
  assert.equal(nodePortAddress([]), undefined);
});

Deno.test("the first node by name is found wherever it is in a large cluster", () => {
  const nodes = Array.from(
    { length: 5000 },
    (_, i) =>
      node(`node-${String(4999 - i).padStart(4, "0")}`, true, { InternalIP: `10.1.${i >> 8}.${i & 255}` }),
  );
  // node-0000 is the last in the list.
  assert.equal(nodePortAddress(nodes), "10.1.19.135");
});

Deno.test("IPv6 hosts are bracketed", () => {
  assert.equal(hostPort("2001:db8::1", 30001), "[2001:db8::1]:30001");
  assert.equal(hostPort("192.0.2.10", 30001), "192.0.2.10:30001");
});
