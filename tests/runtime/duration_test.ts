import assert from "node:assert/strict";
import { DurationError, formatDuration, parseDuration } from "../../controller/runtime/duration.ts";

Deno.test("parseDuration() reads Go-style durations into milliseconds", async (t) => {
  const cases: [string, number][] = [
    ["0", 0],
    ["+0", 0],
    ["-0", 0],
    ["0s", 0],
    ["300ms", 300],
    ["15s", 15_000],
    ["1m30s", 90_000],
    ["2h", 7_200_000],
    ["2h45m", 9_900_000],
    ["1h2m3s4ms", 3_723_004],
    ["1.5h", 5_400_000],
    [".5s", 500],
    ["5.s", 5_000],
    ["-1.5s", -1_500],
    ["+10s", 10_000],
    ["1000000ns", 1],
    ["2000us", 2],
    ["2000\u00b5s", 2],
    ["2000\u03bcs", 2],
    ["1s500ms", 1_500],
  ];
  for (const [input, expected] of cases) {
    await t.step(`"${input}" is ${expected}ms`, () => {
      assert.equal(parseDuration(input), expected);
    });
  }
});

Deno.test("parseDuration() keeps sub-millisecond precision", () => {
  assert.equal(parseDuration("100us"), 0.1);
  assert.equal(parseDuration("1500ns"), 0.0015);
});

Deno.test("parseDuration() rejects malformed durations with a message naming the input", async (t) => {
  const syntax = "expected a number followed by a unit, like 300ms, 1m30s or 2h";
  const units = "expected one of ns, us, ms, s, m, h";
  const cases: [string, string][] = [
    ["", syntax],
    ["-", syntax],
    ["abc", syntax],
    [".", syntax],
    [".s", syntax],
    [" 1s", syntax],
    ["15", `missing unit, ${units}`],
    ["1s5", `missing unit, ${units}`],
    ["1.5.5s", `missing unit, ${units}`],
    ["15x", `unknown unit "x", ${units}`],
    ["1d", `unknown unit "d", ${units}`],
    ["1s ", `unknown unit "s ", ${units}`],
    ["15S", `unknown unit "S", ${units}`],
    [`${"9".repeat(400)}h`, "value is too large"],
  ];
  for (const [input, detail] of cases) {
    await t.step(JSON.stringify(input), () => {
      assert.throws(() => parseDuration(input), (err: unknown) => {
        assert.ok(err instanceof DurationError);
        assert.equal(err.message, `Invalid duration "${input}": ${detail}`);
        assert.equal(err.input, input);
        assert.equal(err.detail, detail);
        return true;
      });
    });
  }
});

Deno.test("formatDuration() writes durations the way Go's Duration.String does", async (t) => {
  const cases: [number, string][] = [
    [0, "0s"],
    [0.1, "100us"],
    [300, "300ms"],
    [1.5, "1.5ms"],
    [1_000, "1s"],
    [1_500, "1.5s"],
    [90_000, "1m30s"],
    [7_200_000, "2h0m0s"],
    [3_723_004, "1h2m3.004s"],
    [-1_500, "-1.5s"],
  ];
  for (const [ms, expected] of cases) {
    await t.step(`${ms}ms is "${expected}"`, () => {
      assert.equal(formatDuration(ms), expected);
      assert.equal(parseDuration(expected), ms);
    });
  }
});

Deno.test("formatDuration() rejects non-finite numbers", () => {
  assert.throws(() => formatDuration(Number.NaN), /Cannot format duration NaN: not a finite number/);
  assert.throws(() => formatDuration(Infinity), RangeError);
});
