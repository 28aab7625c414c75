import assert from "node:assert/strict";
import {
  FeatureGateError,
  type FeatureGateErrorReason,
  FeatureGates,
  type FeatureSpec,
  parseBool,
} from "../../controller/runtime/feature_gates.ts";

const SPECS: Record<string, FeatureSpec> = {
  AlphaThing: { default: false, stage: "Alpha" },
  BetaOn: { default: true, stage: "Beta" },
  BetaOff: { default: false, stage: "Beta" },
  DoneThing: { default: true, stage: "GA", lockToDefault: true },
  OldThing: { default: false, stage: "Deprecated" },
  GaOpen: { default: true, stage: "GA" },
};
const KNOWN = "AllAlpha, AllBeta, AlphaThing, BetaOff, BetaOn, DoneThing, GaOpen, OldThing";

function gates(): FeatureGates {
  return new FeatureGates(SPECS);
}

Deno.test("FeatureGates starts with every gate at its default", () => {
  assert.deepEqual(gates().effective(), {
    AlphaThing: false,
    BetaOff: false,
    BetaOn: true,
    DoneThing: true,
    GaOpen: true,
    OldThing: false,
  });
});

Deno.test("FeatureGates.set() parses name=value lists", async (t) => {
  const cases: [string, Record<string, boolean>][] = [
    ["", {}],
    ["   ", {}],
    [",,", {}],
    ["BetaOn=false", { BetaOn: false }],
    ["BetaOn=false,BetaOff=true", { BetaOn: false, BetaOff: true }],
    [" BetaOn = false ,\tBetaOff=true , ", { BetaOn: false, BetaOff: true }],
    ["BetaOff=true,BetaOff=false", { BetaOff: false }],
    ["AlphaThing=T", { AlphaThing: true }],
    ["DoneThing=true", { DoneThing: true }],
  ];
  for (const [spec, expected] of cases) {
    await t.step(JSON.stringify(spec), () => {
      const g = gates();
      const before = g.effective();
      g.set(spec);
      assert.deepEqual(g.effective(), { ...before, ...expected });
    });
  }
});

Deno.test("FeatureGates.set() accepts exactly Go's strconv.ParseBool spellings", async (t) => {
  const cases: [string, boolean | undefined][] = [
    ["1", true],
    ["t", true],
    ["T", true],
    ["TRUE", true],
    ["true", true],
    ["True", true],
    ["0", false],
    ["f", false],
    ["F", false],
    ["FALSE", false],
    ["false", false],
    ["False", false],
    ["tRUE", undefined],
    ["yes", undefined],
    ["on", undefined],
    ["", undefined],
    ["2", undefined],
  ];
  for (const [text, expected] of cases) {
    await t.step(`"${text}"`, () => {
      assert.equal(parseBool(text), expected);
      const g = gates();
      if (expected === undefined) {
        assert.throws(() => g.set(`BetaOff=${text}`), FeatureGateError);
      } else {
        g.set(`BetaOff=${text}`);
        assert.equal(g.enabled("BetaOff"), expected);
      }
    });
  }
});

Deno.test("FeatureGates.set() rejects bad lists with a message naming the gate and the known gates", async (t) => {
  const cases: [string, string, FeatureGateErrorReason, string, string | undefined][] = [
    ["Nope=true", `Unrecognized feature gate "Nope"`, "unknown", "Nope", undefined],
    ["BetaOn=true,nope=false", `Unrecognized feature gate "nope"`, "unknown", "nope", undefined],
    ["=true", `Unrecognized feature gate ""`, "unknown", "", undefined],
    [
      "BetaOn",
      `Missing bool value for feature gate "BetaOn": expected BetaOn=true or BetaOn=false`,
      "missing-value",
      "BetaOn",
      undefined,
    ],
    [
      "Nope",
      `Missing bool value for feature gate "Nope": expected Nope=true or Nope=false`,
      "missing-value",
      "Nope",
      undefined,
    ],
    [
      "BetaOn=maybe",
      `Invalid value "maybe" for feature gate "BetaOn": expected true or false`,
      "invalid-value",
      "BetaOn",
      "maybe",
    ],
    [
      "BetaOn=",
      `Invalid value "" for feature gate "BetaOn": expected true or false`,
      "invalid-value",
      "BetaOn",
      "",
    ],
    [
      "BetaOn=true=false",
      `Invalid value "true=false" for feature gate "BetaOn": expected true or false`,
      "invalid-value",
      "BetaOn",
      "true=false",
    ],
    [
      "DoneThing=false",
      `Cannot set feature gate "DoneThing" to false: it is locked to true`,
      "locked",
      "DoneThing",
      "false",
    ],
  ];
  for (const [spec, detail, reason, gate, value] of cases) {
    await t.step(JSON.stringify(spec), () => {
      assert.throws(() => gates().set(spec), (err: unknown) => {
        assert.ok(err instanceof FeatureGateError);
        assert.equal(err.message, `${detail}; known gates: ${KNOWN}`);
        assert.equal(err.name, "FeatureGateError");
        assert.equal(err.reason, reason);
        assert.equal(err.gate, gate);
        assert.equal(err.value, value);
        assert.deepEqual(err.knownGates, KNOWN.split(", "));
        return true;
      });
    });
  }
});

Deno.test("FeatureGates.set() changes nothing when any entry is bad", () => {
  const g = gates();
  assert.throws(() => g.set("BetaOn=false,OldThing=true,Nope=true"), FeatureGateError);
  assert.throws(() => g.set("BetaOn=false,DoneThing=false"), FeatureGateError);
  assert.equal(g.enabled("BetaOn"), true);
  assert.deepEqual(g.warnings(), []);
});

Deno.test("FeatureGates.set() accumulates across calls, later values winning", () => {
  const g = gates();
  g.set("BetaOn=false");
  g.set("BetaOff=true");
  assert.equal(g.enabled("BetaOn"), false);
  assert.equal(g.enabled("BetaOff"), true);
  g.set("BetaOn=true");
  assert.equal(g.enabled("BetaOn"), true);
});

Deno.test("FeatureGates.set() warns when GA or Deprecated gates are set", () => {
  const g = gates();
  g.set("BetaOn=false,AlphaThing=true");
  assert.deepEqual(g.warnings(), []);
  g.set("GaOpen=false,OldThing=true,DoneThing=true");
  assert.deepEqual(g.warnings(), [
    "Setting GA feature gate GaOpen=false: it will be removed in a future release",
    "Setting deprecated feature gate OldThing=true: it will be removed in a future release",
    "Setting GA feature gate DoneThing=true: it will be removed in a future release",
  ]);
  g.warnings().pop();
  assert.equal(g.warnings().length, 3, "warnings() returns a copy");
});

Deno.test("FeatureGates AllAlpha and AllBeta switch unset, unlocked gates of their stage", async (t) => {
  await t.step("AllBeta=true turns Beta gates on, not Alpha ones", () => {
    const g = gates();
    g.set("AllBeta=true");
    assert.equal(g.enabled("BetaOff"), true);
    assert.equal(g.enabled("AlphaThing"), false);
    assert.equal(g.enabled("AllBeta"), true);
  });
  await t.step("AllBeta=false turns Beta gates off", () => {
    const g = gates();
    g.set("AllBeta=false");
    assert.equal(g.enabled("BetaOn"), false);
  });
  await t.step("AllAlpha=true turns Alpha gates on, not GA or Deprecated ones", () => {
    const g = gates();
    g.set("AllAlpha=true");
    assert.deepEqual(g.effective(), { ...gates().effective(), AlphaThing: true });
  });
  await t.step("a per-gate value overrides the aggregate in either order", () => {
    for (const spec of ["BetaOn=true,AllBeta=false", "AllBeta=false,BetaOn=true"]) {
      const g = gates();
      g.set(spec);
      assert.equal(g.enabled("BetaOn"), true, spec);
      assert.equal(g.enabled("BetaOff"), false, spec);
    }
  });
  await t.step("locked gates ignore the aggregate", () => {
    const g = new FeatureGates({ Locked: { default: true, stage: "Beta", lockToDefault: true } });
    g.set("AllBeta=false");
    assert.equal(g.enabled("Locked"), true);
  });
});

Deno.test("FeatureGates.set() accepts a locked gate at its default", () => {
  const g = gates();
  g.set("DoneThing=true");
  assert.equal(g.enabled("DoneThing"), true);
});

Deno.test("FeatureGates.enabled() throws a plain Error for an unregistered gate", () => {
  assert.throws(() => gates().enabled("Nope"), (err: unknown) => {
    assert.ok(err instanceof Error);
    assert.ok(!(err instanceof FeatureGateError));
    assert.equal(err.message, `Feature gate "Nope" is not registered`);
    return true;
  });
  assert.throws(() => gates().stage("Nope"), /Feature gate "Nope" is not registered/);
});

Deno.test("FeatureGates.stage() returns the declared stage", () => {
  const g = gates();
  assert.equal(g.stage("BetaOn"), "Beta");
  assert.equal(g.stage("OldThing"), "Deprecated");
  assert.equal(g.stage("AllAlpha"), "Alpha");
});

Deno.test("FeatureGates.knownFeatures() lists every gate like component-base, sorted", () => {
  assert.deepEqual(gates().knownFeatures(), [
    "AllAlpha=true|false (ALPHA - default=false)",
    "AllBeta=true|false (BETA - default=false)",
    "AlphaThing=true|false (ALPHA - default=false)",
    "BetaOff=true|false (BETA - default=false)",
    "BetaOn=true|false (BETA - default=true)",
    "DoneThing=true|false (GA - default=true, locked)",
    "GaOpen=true|false (GA - default=true)",
    "OldThing=true|false (DEPRECATED - default=false)",
  ]);
});

Deno.test("FeatureGates.effective() reflects set values and omits the aggregates", () => {
  const g = gates();
  g.set("AllAlpha=true,BetaOn=false");
  const effective = g.effective();
  assert.equal(effective.BetaOn, false);
  assert.equal(effective.AlphaThing, true);
  assert.ok(!("AllAlpha" in effective));
  assert.deepEqual(Object.keys(effective), Object.keys(effective).sort());
});

Deno.test("FeatureGates rejects invalid declarations", async (t) => {
  const cases: [Record<string, FeatureSpec>, string][] = [
    [
      { AllAlpha: { default: true, stage: "Beta" } },
      `Cannot register feature gate "AllAlpha": name is reserved`,
    ],
    [
      { AllBeta: { default: true, stage: "Beta" } },
      `Cannot register feature gate "AllBeta": name is reserved`,
    ],
    [{ "": { default: true, stage: "Beta" } }, `Cannot register feature gate "": invalid name`],
    [{ "A=B": { default: true, stage: "Beta" } }, `Cannot register feature gate "A=B": invalid name`],
    [{ "A,B": { default: true, stage: "Beta" } }, `Cannot register feature gate "A,B": invalid name`],
    [{ "A B": { default: true, stage: "Beta" } }, `Cannot register feature gate "A B": invalid name`],
    [
      { A: { default: true, stage: "Stable" as FeatureSpec["stage"] } },
      `Cannot register feature gate "A": unknown stage "Stable"`,
    ],
  ];
  for (const [specs, message] of cases) {
    await t.step(message, () => {
      assert.throws(() => new FeatureGates(specs), { message });
    });
  }
});

Deno.test("FeatureGates copies its declarations", () => {
  const specs: Record<string, FeatureSpec> = { A: { default: false, stage: "Beta" } };
  const g = new FeatureGates(specs);
  specs.A.default = true;
  assert.equal(g.enabled("A"), false);
});
