import assert from "node:assert/strict";
import { ApiError } from "../../controller/kube/errors.ts";
import type { KubeClient } from "../../controller/kube/client.ts";
import type { KubeObject } from "../../controller/kube/types.ts";
import { Logger } from "../../controller/log.ts";
import type { RetryPolicy } from "../../controller/kube/retry.ts";
import { EVENT_RETRY, EventRecorder } from "../../controller/runtime/events.ts";

/** A client whose Event creates give the scripted answers in turn ("ok" or an error), recording calls. */
function scriptedClient(answers: (Error | "ok")[]) {
  const names: string[] = [];
  const retries: (RetryPolicy | undefined)[] = [];
  const client = {
    create(_type: unknown, obj: KubeObject, opts: { retry?: RetryPolicy } = {}): Promise<KubeObject> {
      names.push(obj.metadata.name!);
      retries.push(opts.retry);
      const answer = answers.shift() ?? "ok";
      return answer === "ok" ? Promise.resolve(obj) : Promise.reject(answer);
    },
  } as unknown as KubeClient;
  return { client, names, retries };
}

function recorder(client: KubeClient, sink: (line: string) => void = () => {}): EventRecorder {
  return new EventRecorder({
    client,
    component: "test",
    instance: "test-0",
    logger: new Logger({ level: "debug", format: "json", sink }),
  });
}

const shell: KubeObject = {
  apiVersion: "cloudshell.cloudtty.io/v1alpha1",
  kind: "CloudShell",
  metadata: { name: "s", namespace: "ns", uid: "u1" },
};

Deno.test("EventRecorder: the client retries an Event, also when no answer comes (API server restarts)", async () => {
  const { client, names, retries } = scriptedClient(["ok"]);
  const events = recorder(client);
  events.event(shell, "Normal", "Ready", "ready");
  await events.flush();
  assert.equal(names.length, 1, "one create: retrying is the client's job (one mechanism)");
  assert.deepEqual(retries, [EVENT_RETRY]);
  assert.equal(EVENT_RETRY.retryNoAnswer, true);
  // 1 + 2 + 4 + 4 s between five attempts: longer than kube-apiserver takes to restart here.
  assert.equal(EVENT_RETRY.maxAttempts, 5);
});

Deno.test("EventRecorder: a refusal is logged at debug and dropped; AlreadyExists means an attempt landed", async () => {
  const lines: string[] = [];
  const refused = scriptedClient([new ApiError(403, undefined, "namespace terminating")]);
  const a = recorder(refused.client, (l) => lines.push(l));
  a.event(shell, "Normal", "Ready", "ready");
  await a.flush();
  assert.equal(refused.names.length, 1);
  assert.equal(lines.filter((l) => l.includes("Could not record event")).length, 1);

  lines.length = 0;
  const landed = scriptedClient([new ApiError(409, { reason: "AlreadyExists" } as never, "x")]);
  const b = recorder(landed.client, (l) => lines.push(l));
  b.event(shell, "Normal", "Ready", "ready");
  await b.flush();
  assert.deepEqual(lines.filter((l) => l.includes("Could not record event")), []);
});

Deno.test("EventRecorder: messages reach the API server with control characters escaped", async () => {
  const sent: KubeObject[] = [];
  const client = {
    create(_type: unknown, obj: KubeObject): Promise<KubeObject> {
      sent.push(obj);
      return Promise.resolve(obj);
    },
  } as unknown as KubeClient;
  const events = recorder(client);
  events.event(
    shell,
    "Warning",
    "InvalidEnv",
    'env name "A\u001b]0;PWNED\u0007\u001b[2J\nlevel=error" is invalid',
  );
  await events.flush();
  const message = (sent[0] as KubeObject & { message: string }).message;
  assert.equal(message, 'env name "A\\u001b]0;PWNED\\u0007\\u001b[2J\\u000alevel=error" is invalid');
});

Deno.test("EventRecorder: deduplication remembers a bounded number of fixed-size keys", async () => {
  const { client } = scriptedClient([]);
  const events = recorder(client);
  const big = "x".repeat(20_000);
  for (let i = 0; i < 12_000; i++) {
    events.event({ ...shell, metadata: { ...shell.metadata, uid: `u${i}` } }, "Warning", "Big", `${big}${i}`);
  }
  await events.flush();
  assert.ok(events.remembered <= 10_000, `remembered ${events.remembered}`);
});
