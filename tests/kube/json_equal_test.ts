import assert from "node:assert/strict";
import { jsonEqual } from "../../controller/kube/json_equal.ts";

Deno.test("jsonEqual compares JSON values deeply, object keys in any order", () => {
  const a = { spec: { rules: [{ host: "a", paths: [1, 2] }], tls: null }, n: 1, ok: true };
  assert.ok(jsonEqual(a, { ok: true, n: 1, spec: { tls: null, rules: [{ paths: [1, 2], host: "a" }] } }));
  assert.ok(jsonEqual([], []));
  assert.ok(jsonEqual({ a: undefined }, {}), "an undefined key is absent, as in JSON");
  for (
    const [x, y] of [
      [a, { ...a, n: 2 }],
      [{ a: [1, 2] }, { a: [2, 1] }],
      [{ a: [1] }, { a: { 0: 1 } }],
      [{ a: 1 }, { a: 1, b: 2 }],
      [{ a: 1, c: 3 }, { a: 1, b: 3 }],
      [null, {}],
      ["1", 1],
      [[1], [1, 1]],
    ]
  ) {
    assert.ok(!jsonEqual(x, y), `${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
    assert.ok(!jsonEqual(y, x), `${JSON.stringify(y)} vs ${JSON.stringify(x)}`);
  }
});
