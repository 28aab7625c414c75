import assert from "node:assert/strict";
import { Backoff } from "../../controller/cache/backoff.ts";
import { ApiError } from "../../controller/kube/errors.ts";
import type { KubeClient } from "../../controller/kube/client.ts";
import type { KubeObject } from "../../controller/kube/types.ts";
import { Logger } from "../../controller/log.ts";
import { EventRecorder } from "../../controller/runtime/events.ts";

/** A client whose Event creates give the scripted answers in turn ("ok" or an error), recording names. */
function scriptedClient(answers: (Error | "ok")[]) {
  const names: string[] = [];
  const client = {
    create(_type: unknown, obj: KubeObject): Promise<KubeObject> {
      names.push(obj.metadata.name!);
      const answer = answers.shift() ?? "ok";
      return answer === "ok" ? Promise.resolve(obj) : Promise.reject(answer);
    },
  } as unknown as KubeClient;
  return { client, names };
}

function recorder(client: KubeClient): EventRecorder {
  return new EventRecorder({
    client,
    component: "test",
    instance: "test-0",
    logger: new Logger({ level: "error", sink: () => {} }),
    retryBackoff: () => new Backoff(1, 1, () => 0),
  });
}

const shell: KubeObject = {
  apiVersion: "cloudshell.cloudtty.io/v1alpha1",
  kind: "CloudShell",
  metadata: { name: "s", namespace: "ns", uid: "u1" },
};

Deno.test("EventRecorder: an API server that is away (no answer, 503) is retried with the same Event", async () => {
  const { client, names } = scriptedClient([
    new TypeError("connection refused"),
    new ApiError(503, undefined, "x"),
    "ok",
  ]);
  const events = recorder(client);
  events.event(shell, "Normal", "Ready", "ready");
  await events.flush();
  assert.equal(names.length, 3);
  assert.equal(new Set(names).size, 1, "every attempt sends the same name");
});

Deno.test("EventRecorder: a refusal (403) is not retried; retries stop after five attempts", async () => {
  const refused = scriptedClient([new ApiError(403, undefined, "namespace terminating")]);
  const a = recorder(refused.client);
  a.event(shell, "Normal", "Ready", "ready");
  await a.flush();
  assert.equal(refused.names.length, 1);

  const down = scriptedClient(Array.from({ length: 10 }, () => new ApiError(500, undefined, "down")));
  const b = recorder(down.client);
  b.event(shell, "Normal", "Ready", "ready");
  await b.flush();
  assert.equal(down.names.length, 5);
});

Deno.test("EventRecorder: AlreadyExists on a retry means an earlier attempt landed", async () => {
  const { client, names } = scriptedClient([
    new TypeError("reset"),
    new ApiError(409, { reason: "AlreadyExists" } as never, "x"),
  ]);
  const events = recorder(client);
  events.event(shell, "Normal", "Ready", "ready");
  await events.flush();
  assert.equal(names.length, 2);
});
