import assert from "node:assert/strict";
import type { EnvVar } from "../../../controller/cloudshell/api.ts";
import { refusedEnvSource } from "../../../controller/cloudshell/policy/env_policy.ts";
import { validateSpec } from "../../../controller/cloudshell/policy/validation.ts";

const OWN_POD: EnvVar[] = [
  { name: "PLAIN", value: "x" },
  { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
  { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory" } } },
];
const SECRET_ENV: EnvVar = { name: "TOKEN", valueFrom: { secretKeyRef: { name: "sa-token", key: "token" } } };
const CONFIGMAP_ENV: EnvVar = { name: "CFG", valueFrom: { configMapKeyRef: { name: "app", key: "k" } } };

Deno.test("env about the terminal's own pod is always allowed", () => {
  assert.equal(refusedEnvSource(OWN_POD, new Set()), undefined);
  assert.equal(validateSpec({ env: OWN_POD }, "demo", "team-a"), undefined);
});

Deno.test("env reading a Secret or ConfigMap is refused unless allowed by flag, naming the entry", () => {
  assert.deepEqual(refusedEnvSource([...OWN_POD, SECRET_ENV], new Set()), {
    name: "TOKEN",
    source: "secretKeyRef",
  });
  const problem = validateSpec({ env: [...OWN_POD, CONFIGMAP_ENV] }, "demo", "team-a");
  assert.equal(problem?.reason, "EnvSourceNotAllowed");
  assert.match(problem?.message ?? "", /env "CFG" uses valueFrom\.configMapKeyRef/);
  assert.match(problem?.message ?? "", /--allow-env-value-from=configMapKeyRef/);

  // Allowed sources pass; the others are still refused.
  const allowSecrets = { allowedEnvValueFrom: new Set(["secretKeyRef"]) };
  assert.equal(validateSpec({ env: [SECRET_ENV] }, "demo", "team-a", allowSecrets), undefined);
  assert.equal(
    validateSpec({ env: [SECRET_ENV, CONFIGMAP_ENV] }, "demo", "team-a", allowSecrets)?.reason,
    "EnvSourceNotAllowed",
  );
});

Deno.test("an env source the operator does not know is refused, whatever the flag says", () => {
  const env: EnvVar[] = [{ name: "X", valueFrom: { someFutureRef: { name: "y" } } }];
  const all = new Set(["secretKeyRef", "configMapKeyRef", "fileKeyRef", "someFutureRef"]);
  assert.deepEqual(refusedEnvSource(env, all), { name: "X", source: "someFutureRef" });
  assert.match(validateSpec({ env }, "demo", "ns")?.message ?? "", /is not supported/);
});
