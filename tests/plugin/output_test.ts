/**
 * What the plugin prints: the list table (ready, reason, mode, command, when it ends, age), `-o name`, and
 * a session in each format.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import type { CloudShell } from "../../controller/cloudshell/api.ts";
import { age, formatList, formatSession, resourceName, type Session } from "../../plugin/output.ts";

const NOW = Date.parse("2026-12-07T12:00:00Z");

function shell(name: string, spec: CloudShell["spec"], status: CloudShell["status"]): CloudShell {
  return {
    apiVersion: "cloudshell.cloudtty.io/v1alpha1",
    kind: "CloudShell",
    metadata: { name, namespace: "dev", generation: 1, creationTimestamp: "2026-12-07T11:00:00Z" },
    spec,
    status,
  };
}

const ready = shell("a", { ttlSecondsAfterStarted: 7200 }, {
  phase: "Ready",
  accessUrl: "10.0.0.1:7681",
  lastScheduleTime: "2026-12-07T11:00:00Z",
  conditions: [{
    type: "Ready",
    status: "True",
    reason: "TerminalReady",
    message: "",
    lastTransitionTime: "2026-12-07T11:00:01Z",
    observedGeneration: 1,
  }],
});
const waiting = shell("b", { commandAction: "kubectl logs -f app", exposureMode: "NodePort" }, {
  conditions: [{
    type: "Ready",
    status: "False",
    reason: "WaitingForPod",
    message: "pod",
    lastTransitionTime: "2026-12-07T11:00:01Z",
    observedGeneration: 1,
  }],
});

Deno.test("list: a table with readiness, reason, mode, command, end and age; -A adds the namespace", () => {
  const table = formatList([ready, waiting], undefined, false, NOW);
  assert.deepEqual(table.trimEnd().split("\n").map((l) => l.split(/\s{2,}/)), [
    ["NAME", "READY", "STATUS", "MODE", "COMMAND", "ENDS", "AGE"],
    ["a", "True", "Ready", "NodePort", "bash", "in 60m", "60m"],
    ["b", "False", "WaitingForPod", "NodePort", "kubectl logs -f app", "-", "60m"],
  ]);
  assert.match(formatList([ready], undefined, true, NOW), /^NAMESPACE\s+NAME/);
  assert.equal(formatList([], undefined, false, NOW), "");
  assert.equal(formatList([ready, waiting], "name", false), `${resourceName("a")}\n${resourceName("b")}\n`);
  assert.equal(resourceName("a"), "cloudshell.cloudshell.cloudtty.io/a");
  const json = JSON.parse(formatList([ready], "json", false)) as { kind: string; items: CloudShell[] };
  assert.equal(json.kind, "List");
  assert.equal(json.items[0].metadata.name, "a");
});

Deno.test("a session as json, yaml and name", () => {
  const session: Session = {
    name: "a",
    namespace: "dev",
    exposureMode: "ClusterIP",
    url: "http://127.0.0.1:40000/",
    accessUrl: "10.0.0.1:7681",
    forward: { pod: "cloudshell-a-x", localPort: 40000, podPort: 7681 },
    login: null,
    credentialSecretName: null,
    expiresAt: null,
  };
  assert.deepEqual(JSON.parse(formatSession(session, "json")), session);
  assert.deepEqual(parse(formatSession(session, "yaml")), session);
  assert.equal(formatSession(session, "name"), "cloudshell.cloudshell.cloudtty.io/a\n");
});

Deno.test("ages as kubectl prints them", () => {
  assert.deepEqual([age(5_000), age(150_000), age(3 * 3600_000), age(3 * 86400_000)], [
    "5s",
    "2m",
    "3h",
    "3d",
  ]);
});
