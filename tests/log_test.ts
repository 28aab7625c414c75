import assert from "node:assert/strict";
import {
  errorMessage,
  isSecretKey,
  type LogFormat,
  Logger,
  type LoggerOptions,
  REDACTED,
} from "../controller/log.ts";

const NOW = new Date("2024-01-02T03:04:05.678Z");
const TIME = "2024-01-02T03:04:05.678Z";

function capture(options: LoggerOptions = {}): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger({ now: () => NOW, sink: (line) => lines.push(line), ...options });
  return { log, lines };
}

function jsonLine(line: string | undefined): Record<string, unknown> {
  assert.ok(line !== undefined, "a line was written");
  return JSON.parse(line);
}

Deno.test("Logger text format writes logfmt pairs in order", () => {
  const { log, lines } = capture();
  log.info("synced", { key: "default/demo", count: 3, ok: true, ratio: 0.5, none: null });
  assert.deepEqual(lines, [
    `time=${TIME} level=info msg=synced key=default/demo count=3 ok=true ratio=0.5 none=null`,
  ]);
});

Deno.test("Logger text format quotes values that need it", async (t) => {
  const cases: [unknown, string][] = [
    ["two words", `"two words"`],
    ['say "hi"', `"say \\"hi\\""`],
    ["a=b", `"a=b"`],
    ["", `""`],
    ["line\nbreak", `"line\\nbreak"`],
    ["tab\there", `"tab\\there"`],
    ["back\\slash", `"back\\\\slash"`],
    ["bell\u0007", `"bell\\u0007"`],
    ["plain-value_1.2/x:y", "plain-value_1.2/x:y"],
    ["héllo", "héllo"],
    [["a", "b"], `"[\\"a\\",\\"b\\"]"`],
    [{ a: 1 }, `"{\\"a\\":1}"`],
    [12n, "12"],
    [new Date("2020-01-01T00:00:00Z"), "2020-01-01T00:00:00.000Z"],
  ];
  for (const [value, expected] of cases) {
    await t.step(JSON.stringify(String(value)), () => {
      const { log, lines } = capture();
      log.info("m", { v: value });
      assert.equal(lines[0], `time=${TIME} level=info msg=m v=${expected}`);
    });
  }
});

Deno.test("Logger text format quotes the message when needed", () => {
  const { log, lines } = capture();
  log.warn("Job template rejected");
  assert.equal(lines[0], `time=${TIME} level=warn msg="Job template rejected"`);
});

Deno.test("Logger text format sanitises odd keys", () => {
  const { log, lines } = capture();
  log.info("m", { "a b": 1, "c=d": 2, "": 3 });
  assert.equal(lines[0], `time=${TIME} level=info msg=m a_b=1 c_d=2 _=3`);
});

Deno.test("Logger json format writes one object per line with time, level, msg first", () => {
  const { log, lines } = capture({ format: "json" });
  log.error("Reconcile failed", { key: "ns/a", attempt: 2, tags: ["x"], nested: { depth: 1 } });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0].includes("\n"));
  const entry = jsonLine(lines[0]);
  assert.deepEqual(Object.keys(entry), ["time", "level", "msg", "key", "attempt", "tags", "nested"]);
  assert.deepEqual(entry, {
    time: TIME,
    level: "error",
    msg: "Reconcile failed",
    key: "ns/a",
    attempt: 2,
    tags: ["x"],
    nested: { depth: 1 },
  });
});

Deno.test("Logger renames fields that collide with time, level or msg", async (t) => {
  for (const format of ["text", "json"] as LogFormat[]) {
    await t.step(format, () => {
      const { log, lines } = capture({ format });
      log.info("real", { msg: "fake", level: "error", time: 1 });
      if (format === "json") {
        assert.deepEqual(jsonLine(lines[0]), {
          time: TIME,
          level: "info",
          msg: "real",
          "fields.msg": "fake",
          "fields.level": "error",
          "fields.time": 1,
        });
      } else {
        assert.equal(
          lines[0],
          `time=${TIME} level=info msg=real fields.msg=fake fields.level=error fields.time=1`,
        );
      }
    });
  }
});

Deno.test("Logger drops lines below its level", async (t) => {
  const cases: [LoggerOptions["level"], string[]][] = [
    [undefined, ["info", "warn", "error"]],
    ["debug", ["debug", "info", "warn", "error"]],
    ["info", ["info", "warn", "error"]],
    ["warn", ["warn", "error"]],
    ["error", ["error"]],
  ];
  for (const [level, expected] of cases) {
    await t.step(String(level), () => {
      const { log, lines } = capture({ level, format: "json" });
      log.debug("d");
      log.info("i");
      log.warn("w");
      log.error("e");
      assert.deepEqual(lines.map((line) => jsonLine(line).level), expected);
      assert.equal(log.enabled("debug"), expected.includes("debug"));
      assert.equal(log.enabled("error"), true);
    });
  }
});

Deno.test("Logger defaults to info level and text format", () => {
  const log = new Logger({ sink: () => {} });
  assert.equal(log.level, "info");
  assert.equal(log.format, "text");
});

Deno.test("Logger.with() adds fields to a child without changing the parent", () => {
  const { log, lines } = capture();
  const child = log.with({ controller: "cloudshell", key: "a/b" });
  const grandchild = child.with({ reconcileID: "r1" });
  grandchild.info("start", { key: "a/c" });
  child.info("child");
  log.info("root");
  assert.deepEqual(lines, [
    `time=${TIME} level=info msg=start controller=cloudshell key=a/c reconcileID=r1`,
    `time=${TIME} level=info msg=child controller=cloudshell key=a/b`,
    `time=${TIME} level=info msg=root`,
  ]);
  assert.equal(child.level, log.level);
});

Deno.test("Logger.with() children keep the parent's level and format", () => {
  const { log, lines } = capture({ level: "warn", format: "json" });
  const child = log.with({ controller: "x" });
  child.info("dropped");
  child.warn("kept");
  assert.equal(lines.length, 1);
  assert.deepEqual(jsonLine(lines[0]), { time: TIME, level: "warn", msg: "kept", controller: "x" });
});

Deno.test("Logger skips undefined fields", () => {
  const { log, lines } = capture();
  log.info("m", { a: undefined, b: 1 });
  assert.equal(lines[0], `time=${TIME} level=info msg=m b=1`);
});

Deno.test("isSecretKey() matches secret-looking keys but never key, name or namespace", async (t) => {
  const cases: [string, boolean][] = [
    ["token", true],
    ["accessToken", true],
    ["TOKEN", true],
    ["password", true],
    ["dbPassword", true],
    ["secret", true],
    ["clientSecret", true],
    ["secretRef", true],
    ["credentials", true],
    ["kubeconfig", true],
    ["KubeConfig", true],
    ["authorization", true],
    ["Authorization", true],
    ["cert", true],
    ["caCertificate", true],
    ["privateKey", true],
    ["apiKey", true],
    ["Key", true],
    ["key", false],
    ["name", false],
    ["namespace", false],
    ["keys", false],
    ["keyName", false],
    ["controller", false],
    ["reconcileID", false],
    ["image", false],
    ["msg", false],
  ];
  for (const [key, expected] of cases) {
    await t.step(`${key} -> ${expected}`, () => {
      assert.equal(isSecretKey(key), expected);
    });
  }
});

Deno.test("Logger redacts secret-looking fields in both formats", async (t) => {
  const secret = "s3cr3t-value";
  const fields = {
    token: secret,
    password: secret,
    clientSecret: secret,
    credential: { user: secret },
    kubeconfig: secret,
    authorization: `Bearer ${secret}`,
    tlsCert: secret,
    privateKey: secret,
    key: "default/demo",
    name: "demo",
    namespace: "default",
  };
  for (const format of ["text", "json"] as LogFormat[]) {
    await t.step(format, () => {
      const { log, lines } = capture({ format });
      log.info("m", fields);
      log.with({ token: secret }).info("child");
      assert.equal(lines.length, 2);
      for (const line of lines) assert.ok(!line.includes(secret), line);
      if (format === "json") {
        assert.deepEqual(jsonLine(lines[0]), {
          time: TIME,
          level: "info",
          msg: "m",
          token: REDACTED,
          password: REDACTED,
          clientSecret: REDACTED,
          credential: REDACTED,
          kubeconfig: REDACTED,
          authorization: REDACTED,
          tlsCert: REDACTED,
          privateKey: REDACTED,
          key: "default/demo",
          name: "demo",
          namespace: "default",
        });
        assert.equal(jsonLine(lines[1]).token, REDACTED);
      } else {
        assert.equal(
          lines[0],
          `time=${TIME} level=info msg=m token=${REDACTED} password=${REDACTED} clientSecret=${REDACTED} ` +
            `credential=${REDACTED} kubeconfig=${REDACTED} authorization=${REDACTED} tlsCert=${REDACTED} ` +
            `privateKey=${REDACTED} key=default/demo name=demo namespace=default`,
        );
        assert.equal(lines[1], `time=${TIME} level=info msg=child token=${REDACTED}`);
      }
    });
  }
});

Deno.test("Logger redacts nested secrets in objects, arrays and maps", async (t) => {
  const secret = "hunter2";
  const value = {
    spec: { secretRef: { name: "kc" }, image: "img", env: [{ name: "A", password: secret }] },
    headers: new Map<string, string>([["Authorization", secret], ["accept", "json"]]),
  };
  for (const format of ["text", "json"] as LogFormat[]) {
    await t.step(format, () => {
      const { log, lines } = capture({ format });
      log.info("m", { object: value });
      assert.ok(!lines[0].includes(secret), lines[0]);
      const object = format === "json"
        ? jsonLine(lines[0]).object
        : JSON.parse(JSON.parse(lines[0].slice(lines[0].indexOf("object=") + "object=".length)));
      assert.deepEqual(object, {
        spec: { secretRef: REDACTED, image: "img", env: [{ name: "A", password: REDACTED }] },
        headers: { Authorization: REDACTED, accept: "json" },
      });
    });
  }
});

Deno.test("Logger writes errors as their message and cause chain, never as objects", async (t) => {
  const root = new Error("connection refused");
  const wrapped = new Error("Cannot list CloudShells", { cause: new Error("watch failed", { cause: root }) });
  for (const format of ["text", "json"] as LogFormat[]) {
    await t.step(format, () => {
      const { log, lines } = capture({ format });
      log.error("Sync failed", { err: wrapped, nested: { err: root } });
      assert.ok(!lines[0].includes("stack"), lines[0]);
      assert.ok(!lines[0].includes("at "), lines[0]);
      if (format === "json") {
        const entry = jsonLine(lines[0]);
        assert.equal(entry.err, "Cannot list CloudShells: watch failed: connection refused");
        assert.deepEqual(entry.nested, { err: "connection refused" });
      } else {
        assert.equal(
          lines[0],
          `time=${TIME} level=error msg="Sync failed" err="Cannot list CloudShells: watch failed: connection refused" ` +
            `nested="{\\"err\\":\\"connection refused\\"}"`,
        );
      }
    });
  }
});

Deno.test("errorMessage() renders causes of any kind", async (t) => {
  const cases: [unknown, string][] = [
    [new Error("plain"), "plain"],
    [new TypeError("typed"), "typed"],
    [new Error(""), "Error"],
    [new Error("outer", { cause: "a string cause" }), "outer: a string cause"],
    [new Error("outer", { cause: 42 }), "outer: 42"],
    [new Error("outer", { cause: { message: "error-like" } }), "outer: error-like"],
    [new Error("outer", { cause: { secret: "x" } }), "outer: non-error value"],
    [new Error("read config: not found", { cause: new Error("not found") }), "read config: not found"],
    ["thrown string", "thrown string"],
    [undefined, ""],
  ];
  for (const [err, expected] of cases) {
    await t.step(expected || "(empty)", () => {
      assert.equal(errorMessage(err), expected);
    });
  }
});

Deno.test("errorMessage() stops on cause cycles", () => {
  const a = new Error("a");
  const b = new Error("b", { cause: a });
  a.cause = b;
  const message = errorMessage(a);
  assert.ok(message.startsWith("a: b: a: b"), message);
  assert.equal(message.split(": ").length, 10);
});

Deno.test("Logger survives circular and deep values", () => {
  const { log, lines } = capture({ format: "json" });
  const loop: Record<string, unknown> = { name: "loop" };
  loop.self = loop;
  const shared = { n: 1 };
  let deep: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < 20; i++) deep = { next: deep };
  log.info("m", { loop, pair: [shared, shared], deep, fn: function handler() {}, bytes: new Uint8Array(3) });
  const entry = jsonLine(lines[0]);
  assert.deepEqual(entry.loop, { name: "loop", self: "[circular]" });
  assert.deepEqual(entry.pair, [{ n: 1 }, { n: 1 }]);
  assert.ok(JSON.stringify(entry.deep).includes("[too deep]"));
  assert.equal(entry.fn, "[function handler]");
  assert.equal(entry.bytes, "[3 bytes]");
});
