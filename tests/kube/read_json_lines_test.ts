import assert from "node:assert/strict";
import { readJsonLines } from "../../controller/kube/client.ts";

/** A byte stream that yields `chunks` and then stays open (like a quiet watch), unless `close` is set. */
function stream(chunks: string[], close = false): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      if (close) controller.close();
    },
  });
}

Deno.test("readJsonLines: values split across chunks and a last line without newline", async () => {
  const got = [];
  for await (const v of readJsonLines(stream(['{"a":', '1}\n\n{"b"', ':2}\n{"c":3}'], true))) got.push(v);
  assert.deepEqual(got, [{ a: 1 }, { b: 2 }, { c: 3 }]);
});

Deno.test("readJsonLines: an abort ends a stream that never closes, while a read is pending", async () => {
  const abort = new AbortController();
  const got: unknown[] = [];
  const reading = (async () => {
    for await (const v of readJsonLines(stream(['{"a":1}\n']), abort.signal)) got.push(v);
  })();
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(got, [{ a: 1 }]);
  abort.abort(new Error("stopped"));
  const outcome = await Promise.race([
    reading.then(() => "returned", (err: Error) => err.message),
    new Promise((r) => setTimeout(() => r("still waiting"), 2_000)),
  ]);
  assert.equal(outcome, "stopped");
});

Deno.test("readJsonLines: a signal aborted before the first read ends it at once", async () => {
  const abort = new AbortController();
  abort.abort(new Error("already"));
  await assert.rejects(async () => {
    for await (const _ of readJsonLines(stream(['{"a":1}\n']), abort.signal)) {
      // nothing
    }
  }, /already/);
});
