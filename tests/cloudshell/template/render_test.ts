import assert from "node:assert/strict";
import { UPSTREAM_V05_TEMPLATE } from "../../_fixtures/upstream_job_template.ts";
import {
  activeDeadlineSecondsFor,
  buildTemplateVars,
  checkTemplateVars,
  compileJobTemplate,
  compileTemplate,
  DEFAULT_JOB_TEMPLATE_TEXT,
  type JsonObject,
  render,
  SAMPLE_TEMPLATE_VARS,
  TemplateError,
  type TemplateVars,
  ttydArgsFor,
  validateJob,
  withoutCommentLines,
} from "../../../controller/cloudshell/template/mod.ts";
import readme from "../../../templates/README.md" with { type: "text" };

/** Variables of a CloudShell `demo` in `team-a` with every option on. */
const VARS: TemplateVars = buildTemplateVars({
  namespace: "team-a",
  cloudShellName: "demo",
  command: "kubectl get pods -w",
  once: true,
  urlArg: true,
  ttlSeconds: 600,
  secretName: "demo-kubeconfig",
  image: "ghcr.io/cloudtty/cloudshell:v0.8.9",
  ttydClientOptions: { fontSize: "16", disableLeaveAlert: "true" },
});

/** The launcher as a Job carries it: the file without its comment lines. */
const LAUNCHER = withoutCommentLines(
  await Deno.readTextFile(new URL("../../../templates/launcher.sh", import.meta.url)),
);

/** The Job the default template must render for {@link VARS}: the golden file, as an object. */
function expectedDefaultJob(): JsonObject {
  const labels = {
    "app.kubernetes.io/name": "cloudshell",
    "app.kubernetes.io/instance": "demo",
    "app.kubernetes.io/component": "terminal",
  };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      namespace: "team-a",
      name: "cloudshell-demo",
      labels: { ...labels, "app.kubernetes.io/managed-by": "cloudshell-operator" },
    },
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: 0,
      activeDeadlineSeconds: 900,
      ttlSecondsAfterFinished: 300,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 10,
          securityContext: { seccompProfile: { type: "RuntimeDefault" } },
          containers: [{
            name: "web-tty",
            image: "ghcr.io/cloudtty/cloudshell:v0.8.9",
            imagePullPolicy: "IfNotPresent",
            command: [
              "/bin/sh",
              "-c",
              LAUNCHER,
              "cloudshell-launcher",
              "--writable",
              "--check-origin",
              "--ping-interval",
              "30",
              "--once",
              "-a",
              "--client-option",
              "disableLeaveAlert=true",
              "--client-option",
              "fontSize=16",
            ],
            env: [
              { name: "KUBECONFIG", value: "/usr/local/kubeconfig/config" },
              { name: "COMMAND", value: "kubectl get pods -w" },
            ],
            ports: [{ name: "tty-ui", containerPort: 7681, protocol: "TCP" }],
            readinessProbe: { tcpSocket: { port: 7681 }, periodSeconds: 1, failureThreshold: 15 },
            livenessProbe: {
              tcpSocket: { port: 7681 },
              initialDelaySeconds: 15,
              periodSeconds: 20,
              failureThreshold: 3,
            },
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "1Gi" } },
            securityContext: {
              privileged: false,
              allowPrivilegeEscalation: false,
              capabilities: { drop: ["ALL"] },
            },
            volumeMounts: [{ name: "kubeconfig", mountPath: "/usr/local/kubeconfig/", readOnly: true }],
          }],
          volumes: [{ name: "kubeconfig", secret: { secretName: "demo-kubeconfig", defaultMode: 0o440 } }],
        },
      },
    },
  };
}

/** Returns the web-tty container of a rendered Job, asserting the path exists. */
function container(job: JsonObject): JsonObject {
  return validateJob(job).spec.template.spec.containers[0];
}

function renderDefault(vars: TemplateVars): JsonObject {
  return render(compileJobTemplate(DEFAULT_JOB_TEMPLATE_TEXT), vars);
}

/** Runs `fn`, asserts it throws a TemplateError, and returns it. */
function templateError(fn: () => unknown): TemplateError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TemplateError, `expected a TemplateError, got ${error}`);
    return error;
  }
  assert.fail("expected a TemplateError, nothing was thrown");
}

Deno.test("default template renders the golden Job", () => {
  assert.deepStrictEqual(renderDefault(VARS), expectedDefaultJob());
});

Deno.test("default template without TTL or ttyd options omits the deadline and the extra argv", () => {
  const vars = buildTemplateVars({
    namespace: "team-a",
    cloudShellName: "demo",
    command: "kubectl get pods -w",
    once: false,
    urlArg: false,
    secretName: "demo-kubeconfig",
    image: "ghcr.io/cloudtty/cloudshell:v0.8.9",
  });
  const job = renderDefault(vars);
  const expected = expectedDefaultJob();
  const spec = expected.spec as JsonObject;
  delete spec.activeDeadlineSeconds;
  container(expected).command = [
    "/bin/sh",
    "-c",
    LAUNCHER,
    "cloudshell-launcher",
    "--writable",
    "--check-origin",
    "--ping-interval",
    "30",
  ];
  assert.deepStrictEqual(job, expected);
  assert.equal("activeDeadlineSeconds" in (job.spec as JsonObject), false);
});

Deno.test("default template uses only the documented variables", () => {
  const compiled = compileJobTemplate(DEFAULT_JOB_TEMPLATE_TEXT);
  assert.deepStrictEqual([...compiled.variables].sort(), [
    "ActiveDeadlineSeconds",
    "CloudShellName",
    "Command",
    "Image",
    "Launcher",
    "Name",
    "Namespace",
    "Secret",
    "TtydArgs",
  ]);
});

/** What Go's text/template followed by Kubernetes' YAML decoder made of {@link UPSTREAM_V05_TEMPLATE}. */
function expectedUpstreamJob(command: string, ttl: string): JsonObject {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { namespace: "team-a", name: "cloudshell-demo" },
    spec: {
      activeDeadlineSeconds: 3600,
      ttlSecondsAfterFinished: 60,
      parallelism: 1,
      completions: 1,
      template: {
        spec: {
          automountServiceAccountToken: false,
          containers: [{
            name: "web-tty",
            image: "ghcr.io/cloudtty/cloudshell:latest",
            imagePullPolicy: "IfNotPresent",
            ports: [{ containerPort: 7681, name: "tty-ui", protocol: "TCP" }],
            command: [
              "bash",
              "-c",
              [
                'once=""',
                'index=""',
                'urlarg=""',
                'if [ "${ONCE}" == "true" ];then once=" --once "; fi;',
                'if [ -f /usr/lib/ttyd/index.html ]; then index=" --index /usr/lib/ttyd/index.html ";fi',
                'if [ "${URLARG}" == "true" ];then urlarg=" -a "; fi',
                'if [ -z "${TTL}" ] || [ "${TTL}" == "0" ];then',
                '    ttyd ${index} ${once} ${urlarg} sh -c "${COMMAND}"',
                "else",
                '    timeout ${TTL} ttyd ${index} ${once} ${urlarg} sh -c "${COMMAND}" || echo "exiting"',
                "fi",
                "",
              ].join("\n"),
            ],
            env: [
              { name: "KUBECONFIG", value: "/usr/local/kubeconfig/config" },
              { name: "ONCE", value: "true" },
              { name: "TTL", value: ttl },
              { name: "COMMAND", value: command },
              { name: "URLARG", value: "true" },
            ],
            volumeMounts: [{ mountPath: "/usr/local/kubeconfig/", name: "kubeconfig" }],
            readinessProbe: { tcpSocket: { port: 7681 }, periodSeconds: 1, failureThreshold: 15 },
            livenessProbe: { tcpSocket: { port: 7681 }, periodSeconds: 20 },
          }],
          restartPolicy: "Never",
          volumes: [{ secret: { defaultMode: 420, secretName: "demo-kubeconfig" }, name: "kubeconfig" }],
        },
      },
    },
  };
}

Deno.test("an upstream CloudTTY v0.5 job-temp.yaml renders as upstream rendered it", () => {
  const compiled = compileJobTemplate(UPSTREAM_V05_TEMPLATE);
  assert.deepStrictEqual(render(compiled, VARS), expectedUpstreamJob("kubectl get pods -w", "600"));
});

Deno.test("the Helm-rendered form of the upstream template (plain {{ .Secret }}) renders the same", () => {
  const helmRendered = UPSTREAM_V05_TEMPLATE.replace("{{`{{ .Secret }}`}}", "{{ .Secret }}");
  assert.notEqual(helmRendered, UPSTREAM_V05_TEMPLATE);
  assert.deepStrictEqual(
    render(compileJobTemplate(helmRendered), VARS),
    render(compileJobTemplate(UPSTREAM_V05_TEMPLATE), VARS),
  );
});

Deno.test("Helm-escaped placeholders with quotes inside are accepted, line numbers unchanged", () => {
  const compiled = compileTemplate('a: {{`"{{ .Once }}"`}}\nb: {{`{{.Secret}}`}}\nc: 1');
  assert.deepStrictEqual(render(compiled, VARS), { a: "true", b: "demo-kubeconfig", c: 1 });
  const error = templateError(() => compileTemplate("a: {{`{{ .Secret }}`}}\nb: {{`{{ .Nope }}`}}"));
  assert.equal(error.line, 2);
});

const HOSTILE_VALUES = [
  "a: b",
  '"; rm -rf /',
  "'; rm -rf / #",
  "line one\nline two: x\n- item\n  nested: {a: 1}",
  "{{ .Name }}",
  "{{ .Secret }}",
  "}}{{",
  "'",
  '"',
  "$(reboot)",
  "`id`",
  "${HOME}",
  "# not a comment",
  "value # trailing",
  "- item",
  "&anchor value",
  "*alias",
  "!!int 42",
  "!tag x",
  "? key",
  "| block",
  "> folded",
  "--- \n...\n",
  "[1, 2]",
  "{a: 1}",
  "true",
  "123",
  "0644",
  "null",
  "~",
  "",
  " leading and trailing spaces ",
  "\ttab",
  "@at %percent",
  "日本語のコマンド ✓ \u202e \u0000 \ud83d\ude00",
  "__cstpl0_0__",
  "__cstpl0_1__ __cstpl1_0__",
];

Deno.test("a hostile command stays exactly one string and changes nothing else", async (t) => {
  const compiled = compileJobTemplate(DEFAULT_JOB_TEMPLATE_TEXT);
  for (const command of HOSTILE_VALUES) {
    await t.step(JSON.stringify(command), () => {
      const job = render(compiled, { ...VARS, Command: command });
      const expected = expectedDefaultJob();
      (container(expected).env as JsonObject[])[1].value = command;
      assert.deepStrictEqual(job, expected);
    });
  }
});

Deno.test("hostile values stay literal in plain, quoted, block and partial scalars of upstream templates", async (t) => {
  const compiled = compileJobTemplate(UPSTREAM_V05_TEMPLATE);
  const blockAndPartial = compileTemplate(
    [
      "plain: {{ .Command }}",
      'double: "{{ .Command }}"',
      "single: '{{ .Command }}'",
      "partial: pre-{{ .Command }}-post",
      "twice: {{ .Command }}{{ .Command }}",
      "flow: {first: {{ .Command }}, second: [{{ .Command }}]}",
      "literal: |",
      "  echo {{ .Command }}",
      "folded: >-",
      "  run {{ .Command }}",
      "list:",
      "  - {{ .Command }}",
    ].join("\n"),
  );
  for (const command of HOSTILE_VALUES) {
    await t.step(JSON.stringify(command), () => {
      assert.deepStrictEqual(
        render(compiled, { ...VARS, Command: command }),
        expectedUpstreamJob(command, "600"),
      );
      assert.deepStrictEqual(render(blockAndPartial, { ...VARS, Command: command }), {
        plain: command,
        double: command,
        single: command,
        partial: `pre-${command}-post`,
        twice: command + command,
        flow: { first: command, second: [command] },
        literal: `echo ${command}\n`,
        folded: `run ${command}`,
        list: [command],
      });
    });
  }
});

Deno.test("hostile names and namespaces stay strings in metadata", () => {
  const compiled = compileJobTemplate(UPSTREAM_V05_TEMPLATE);
  const job = render(compiled, { ...VARS, Name: "x\nkind: Secret", Namespace: "true" });
  assert.deepStrictEqual(job.metadata, { namespace: "true", name: "x\nkind: Secret" });
  assert.equal(job.kind, "Job");
});

Deno.test("typed substitution: whole unquoted bool and int placeholders keep their type", () => {
  const compiled = compileTemplate(
    [
      "once: {{ .Once }}",
      "urlArg: {{.UrlArg}}",
      "ttl: {{ .Ttl }}",
      'quotedTtl: "{{ .Ttl }}"',
      "singleQuoted: '{{ .Once }}'",
      "partial: ttl={{ .Ttl }}s",
      "tagged: !!str {{ .Ttl }}",
      "block: |-",
      "  {{ .Ttl }}",
      "items: [{{ .Once }}, {{ .Ttl }}]",
      "name: {{ .Name }}",
    ].join("\n"),
  );
  assert.deepStrictEqual(render(compiled, { ...VARS, Once: false, UrlArg: true, Ttl: 0 }), {
    once: false,
    urlArg: true,
    ttl: 0,
    quotedTtl: "0",
    singleQuoted: "false",
    partial: "ttl=0s",
    tagged: "0",
    block: "0",
    items: [false, 0],
    name: "cloudshell-demo",
  });
});

Deno.test("typed substitution: string variables never become numbers, booleans or null", () => {
  const compiled = compileTemplate("name: {{ .Name }}\ncommand: {{ .Command }}\nsecret: {{ .Secret }}");
  assert.deepStrictEqual(render(compiled, { ...VARS, Name: "123", Command: "true", Secret: "" }), {
    name: "123",
    command: "true",
    secret: "",
  });
});

Deno.test("ActiveDeadlineSeconds: a number sets the key, null removes it", () => {
  const compiled = compileTemplate("spec:\n  activeDeadlineSeconds: {{ .ActiveDeadlineSeconds }}\n  b: 1");
  assert.deepStrictEqual(render(compiled, { ...VARS, ActiveDeadlineSeconds: 42 }), {
    spec: { activeDeadlineSeconds: 42, b: 1 },
  });
  assert.deepStrictEqual(render(compiled, { ...VARS, ActiveDeadlineSeconds: null }), { spec: { b: 1 } });
});

Deno.test("TtydArgs splices into sequences wherever it is a whole item", () => {
  const compiled = compileTemplate(
    'block:\n  - first\n  - "{{ .TtydArgs }}"\n  - last\nflow: [{{ .TtydArgs }}]',
  );
  assert.deepStrictEqual(render(compiled, { ...VARS, TtydArgs: ["--once", "a b", "x: y"] }), {
    block: ["first", "--once", "a b", "x: y", "last"],
    flow: ["--once", "a b", "x: y"],
  });
  assert.deepStrictEqual(render(compiled, { ...VARS, TtydArgs: [] }), { block: ["first", "last"], flow: [] });
});

Deno.test("YAML 1.1 scalars resolve as Kubernetes' decoder does", () => {
  const compiled = compileTemplate("mode: 0644\nflag: yes\nwhen: 2022-01-01\nclock: 1:30\nnothing: ~");
  assert.deepStrictEqual(render(compiled, VARS), {
    mode: 420,
    flag: true,
    when: "2022-01-01",
    clock: "1:30",
    nothing: null,
  });
});

Deno.test("anchors, aliases and merge keys in the template work", () => {
  const compiled = compileTemplate(
    "base: &probe\n  port: 7681\n  ttl: {{ .Ttl }}\nother:\n  <<: *probe\n  x: 1",
  );
  assert.deepStrictEqual(render(compiled, VARS), {
    base: { port: 7681, ttl: 600 },
    other: { port: 7681, ttl: 600, x: 1 },
  });
});

Deno.test("a __proto__ key stays a plain key", () => {
  const job = render(compileTemplate("__proto__:\n  polluted: {{ .Name }}"), VARS);
  assert.deepStrictEqual(Object.keys(job), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(job), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("each render returns fresh objects", () => {
  const compiled = compileJobTemplate(DEFAULT_JOB_TEMPLATE_TEXT);
  const first = render(compiled, VARS);
  container(first).env = [];
  (first.metadata as JsonObject).name = "changed";
  assert.deepStrictEqual(render(compiled, VARS), expectedDefaultJob());
});

Deno.test("unknown placeholders are errors that name the line", async (t) => {
  const cases: [string, number, RegExp][] = [
    [
      "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {{ .Nmae }}",
      4,
      /Unknown placeholder \{\{ \.Nmae \}\} at line 4/,
    ],
    ["a: 1\nb: {{ .Configmap }}", 2, /replaced it by \{\{ \.Secret \}\}/],
    ["a: {{ .Values.image }}", 1, /Unknown placeholder/],
    ["# {{ .Nope }} in a comment\na: 1", 1, /Unknown placeholder/],
    ["a: {{ .name }}", 1, /Unknown placeholder/],
  ];
  for (const [text, line, message] of cases) {
    await t.step(text, () => {
      const error = templateError(() => compileTemplate(text));
      assert.equal(error.line, line);
      assert.match(error.message, message);
    });
  }
});

Deno.test("Go-template actions other than {{ .Field }} are errors", async (t) => {
  const cases = [
    "a: {{ if .Once }}x{{ end }}",
    "a: {{ .Name | quote }}",
    "a: {{- .Name }}",
    "a: {{ .Name -}}",
    'a: {{ printf "%s" .Name }}',
    "a: {{/* comment */}}",
    "a: {{ . }}",
    "a: {{ $x := 1 }}",
  ];
  for (const text of cases) {
    await t.step(text, () => {
      const error = templateError(() => compileTemplate(`x: 1\n${text}`));
      assert.equal(error.line, 2);
      assert.match(error.message, /Unsupported template action .* at line 2/);
    });
  }
});

Deno.test("placeholders outside scalar values are errors", async (t) => {
  const cases: [string, number, RegExp][] = [
    ["a: 1\n{{ .Name }}: x", 2, /in a mapping key/],
    ["a:\n  pre-{{ .Name }}: x", 2, /in a mapping key/],
    ["a: {{ .Name }}\nb: &{{ .Name }} x", 2, /in an anchor name/],
    ["a: !!int {{ .Ttl }}", 1, /tag:yaml\.org,2002:int/],
    ["a: {{ .TtydArgs }}", 1, /is a list/],
    ["a:\n  - x-{{ .TtydArgs }}", 2, /is a list/],
    ['a: "{{ .ActiveDeadlineSeconds }}"', 1, /may be empty/],
    ["a:\n  - {{ .ActiveDeadlineSeconds }}", 2, /may be empty/],
    ["a: x{{ .ActiveDeadlineSeconds }}", 1, /may be empty/],
    ["a: 1\nb: {{ .Name", 2, /Unclosed placeholder/],
  ];
  for (const [text, line, message] of cases) {
    await t.step(text, () => {
      const error = templateError(() => compileTemplate(text));
      assert.match(error.message, message);
      assert.equal(error.line, line);
    });
  }
});

Deno.test("broken YAML is an error with its line", async (t) => {
  const cases: [string, number][] = [
    ["apiVersion: batch/v1\nkind: Job\nspec:\n  template: [unclosed\n", 5],
    ["a: 1\nb:\n  - x\n  y: 2", 4],
    ["a: 1\na: 2", 2],
    ["a: 1\n---\nb: 2", 2],
    ["a: b: c", 1],
  ];
  for (const [text, line] of cases) {
    await t.step(text, () => {
      const error = templateError(() => compileTemplate(text));
      assert.match(error.message, /^Template is not valid YAML at line \d+: /);
      assert.equal(error.line, line);
    });
  }
  const withPlaceholder = templateError(() => compileTemplate("a: {{ .Name }}\n  b: c"));
  assert.doesNotMatch(withPlaceholder.message, /__cstpl/);
});

Deno.test("a template that is not a mapping is rejected", () => {
  for (const text of ["- a\n- b", "just text", "", "# only a comment"]) {
    assert.match(templateError(() => compileTemplate(text)).message, /must be a YAML mapping/);
  }
});

Deno.test("valid YAML that is not a Job is rejected when the template is loaded", async (t) => {
  const configMap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Name }}\ndata: {}";
  const cases: [string, RegExp][] = [
    [configMap, /apiVersion is "v1", not "batch\/v1"/],
    ["apiVersion: batch/v1\nkind: CronJob\nspec: {}", /kind is "CronJob"/],
    ["apiVersion: batch/v1\nkind: Job", /spec is missing/],
    ["apiVersion: batch/v1\nkind: Job\nspec:\n  template: {}", /spec\.template\.spec is missing/],
    ["apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers: []", /containers/],
  ];
  for (const [text, message] of cases) {
    await t.step(text.split("\n")[1], () => {
      compileTemplate(text); // parses fine: only the trial render finds the problem
      assert.match(templateError(() => compileJobTemplate(text)).message, message);
    });
  }
});

Deno.test("a Job without the web-tty container is rejected", () => {
  const job = (containers: string, policy = "Never") =>
    `apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      restartPolicy: ${policy}\n` +
    `      containers:\n${containers}`;
  const shell = "        - name: shell\n          image: {{ .Image }}\n";
  const webTty = "        - name: web-tty\n          image: {{ .Image }}\n";
  assert.match(
    templateError(() => compileJobTemplate(job(shell))).message,
    /no container is named "web-tty"/,
  );
  assert.match(templateError(() => compileJobTemplate(job(webTty + webTty))).message, /used twice/);
  assert.match(templateError(() => compileJobTemplate(job(webTty, "Always"))).message, /restartPolicy/);
  assert.match(templateError(() => compileJobTemplate(job("        - image: x\n"))).message, /has no name/);
  compileJobTemplate(job(shell + webTty)); // a sidecar next to web-tty is fine
});

Deno.test("render rejects variables of the wrong kind", () => {
  const compiled = compileTemplate("a: {{ .Ttl }}");
  assert.throws(() => render(compiled, { ...VARS, Ttl: -1 }), RangeError);
  assert.throws(() => render(compiled, { ...VARS, Ttl: 1.5 }), RangeError);
  assert.throws(() => render(compiled, { ...VARS, ActiveDeadlineSeconds: 0 }), RangeError);
  assert.throws(() => checkTemplateVars({ ...VARS, TtydArgs: [1] as unknown as string[] }), RangeError);
  checkTemplateVars(SAMPLE_TEMPLATE_VARS);
});

Deno.test("buildTemplateVars derives upstream's and the new variables", () => {
  assert.deepStrictEqual(VARS, {
    Namespace: "team-a",
    Name: "cloudshell-demo",
    CloudShellName: "demo",
    Command: "kubectl get pods -w",
    Once: true,
    UrlArg: true,
    Ttl: 600,
    Secret: "demo-kubeconfig",
    Image: "ghcr.io/cloudtty/cloudshell:v0.8.9",
    Launcher: LAUNCHER,
    TtydArgs: [
      "--writable",
      "--check-origin",
      "--ping-interval",
      "30",
      "--once",
      "-a",
      "--client-option",
      "disableLeaveAlert=true",
      "--client-option",
      "fontSize=16",
    ],
    ActiveDeadlineSeconds: 900,
  });
  const defaults = buildTemplateVars({
    namespace: "n",
    cloudShellName: "c",
    command: "",
    once: false,
    urlArg: false,
    image: "i",
  });
  assert.equal(defaults.Command, "bash");
  assert.equal(defaults.Ttl, 0);
  assert.equal(defaults.Secret, "");
  assert.equal(defaults.ActiveDeadlineSeconds, null);
  assert.deepStrictEqual(defaults.TtydArgs, ["--writable", "--check-origin", "--ping-interval", "30"]);
});

Deno.test("ttyd arguments and deadlines", () => {
  const flags = { once: false, urlArg: false };
  assert.deepStrictEqual(ttydArgsFor({ ...flags, clientOptions: { b: "x|y", a: "1" } }), [
    "--writable",
    "--check-origin",
    "--ping-interval",
    "30",
    "--client-option",
    "a=1",
    "--client-option",
    "b=x|y",
  ]);
  assert.deepStrictEqual(
    ttydArgsFor({ once: true, urlArg: true, readOnly: true, checkOrigin: false, pingIntervalSeconds: 5 }),
    ["--ping-interval", "5", "--once", "-a"],
  );
  assert.deepStrictEqual(ttydArgsFor({ ...flags, authHeader: "X-Forwarded-User" }), [
    "--writable",
    "--check-origin",
    "--auth-header",
    "X-Forwarded-User",
    "--ping-interval",
    "30",
  ]);
  // ttyd cuts keys and values at "=": refused rather than mangled.
  const bad: Record<string, string>[] = [{ "a=b": "c" }, { "": "c" }, { "-x": "c" }, {
    titleFixed: "QA=Shell",
  }];
  for (const clientOptions of bad) {
    assert.throws(() => ttydArgsFor({ ...flags, clientOptions }), RangeError);
  }
  assert.throws(() => ttydArgsFor({ ...flags, pingIntervalSeconds: 0 }), RangeError);
  assert.equal(activeDeadlineSecondsFor(0), null);
  assert.equal(activeDeadlineSecondsFor(60), 360);
  assert.equal(activeDeadlineSecondsFor(60, 0), 60);
  assert.throws(() => activeDeadlineSecondsFor(-5), RangeError);
});

Deno.test("the README's example template compiles and renders as it says", () => {
  const text = /<!-- deno-fmt-ignore-start -->\s*```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(text, "example template in templates/README.md");
  const vars = buildTemplateVars({
    namespace: "team-a",
    cloudShellName: "demo",
    command: "bash",
    once: true,
    urlArg: false,
    ttlSeconds: 3600,
    secretName: "demo-kubeconfig",
    image: "registry.local/shell:1",
    ttydClientOptions: { fontSize: "16" },
  });
  const job = render(compileJobTemplate(text), vars);
  const terminal = container(job);
  assert.deepStrictEqual(terminal.command, [
    "/bin/sh",
    "-c",
    'exec ttyd --port 7681 "$@" sh -c "$COMMAND"',
    "launcher",
    "--writable",
    "--check-origin",
    "--ping-interval",
    "30",
    "--once",
    "--client-option",
    "fontSize=16",
  ]);
  assert.equal((job.spec as JsonObject).activeDeadlineSeconds, 3900);
  assert.deepStrictEqual((terminal.env as JsonObject[]).find((e) => e.name === "CLOUDSHELL_TTL"), {
    name: "CLOUDSHELL_TTL",
    value: "3600",
  });
});
