import assert from "node:assert/strict";
import { cancellableTimeout } from "../../controller/kube/cancellable_timeout.ts";

Deno.test("cancellableTimeout aborts with a TimeoutError naming the work", async () => {
  const timeout = cancellableTimeout(20, "request");
  // The timeout's timer is unref'd: a timer of the test's own keeps the event loop running meanwhile.
  let keepAlive: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    new Promise((r) => timeout.signal.addEventListener("abort", r, { once: true })),
    new Promise((r) => keepAlive = setTimeout(r, 2_000)),
  ]);
  clearTimeout(keepAlive);
  assert.ok(timeout.signal.aborted, "aborted within 2 s");
  const reason = timeout.signal.reason as DOMException;
  assert.equal(reason.name, "TimeoutError");
  assert.equal(reason.message, "The request timed out");
});

Deno.test("a cleared cancellableTimeout never aborts", async () => {
  const timeout = cancellableTimeout(20, "reconcile");
  timeout.clear();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(timeout.signal.aborted, false);
});
