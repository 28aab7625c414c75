import assert from "node:assert/strict";
import { printable } from "../../controller/runtime/printable.ts";

Deno.test("printable: escape sequences, newlines, DEL, C1 and bidi overrides become visible escapes", () => {
  assert.equal(printable("plain text, ünïcode, 日本"), "plain text, ünïcode, 日本");
  assert.equal(printable("a\u001b[31mred\u001b[0m"), "a\\u001b[31mred\\u001b[0m");
  assert.equal(printable("x\ny\tz\u007f\u009b"), "x\\u000ay\\u0009z\\u007f\\u009b");
  assert.equal(printable("abc\u202edcba"), "abc\\u202edcba");
});
