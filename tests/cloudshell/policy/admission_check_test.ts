import assert from "node:assert/strict";
import { judgePolicy, needsAdmissionPolicy } from "../../../controller/cloudshell/policy/admission_check.ts";

const NAME = "cloudshell-creator-can-read";
const policy = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicy",
  metadata: { name: NAME },
  spec: { failurePolicy: "Fail" },
};
const binding = (spec: Record<string, unknown>) => ({
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicyBinding",
  metadata: { name: NAME },
  spec: { policyName: NAME, validationActions: ["Deny"], ...spec },
});

Deno.test("the policy is in force only when it exists, fails closed, and its binding denies everywhere", () => {
  assert.deepEqual(judgePolicy(NAME, policy, binding({})), { inForce: true });
  const why = (p: typeof policy | undefined, b: ReturnType<typeof binding> | undefined) => {
    const state = judgePolicy(NAME, p, b);
    assert.equal(state.inForce, false);
    return (state as { why: string }).why;
  };
  assert.match(
    why(undefined, binding({})),
    /ValidatingAdmissionPolicy cloudshell-creator-can-read does not exist/,
  );
  assert.match(why({ ...policy, spec: { failurePolicy: "Ignore" } }, binding({})), /failurePolicy Ignore/);
  assert.match(why(policy, undefined), /Binding cloudshell-creator-can-read does not exist/);
  assert.match(why(policy, binding({ policyName: "other" })), /binds policy "other"/);
  assert.match(why(policy, binding({ validationActions: ["Warn", "Audit"] })), /validationActions Deny/);
  assert.match(
    why(policy, binding({ matchResources: { namespaceSelector: { matchLabels: { a: "b" } } } })),
    /some CloudShells only/,
  );
  // Selectors that select everything narrow nothing.
  assert.deepEqual(
    judgePolicy(NAME, policy, binding({ matchResources: { namespaceSelector: {}, objectSelector: {} } })),
    { inForce: true },
  );
});

Deno.test("a shell needs the policy when it names a Secret or ConfigMap or carries a plain login", () => {
  const sa = { kind: "ServiceAccount" as const, serviceAccountName: "cloudshell-x" };
  assert.equal(needsAdmissionPolicy({}, sa), false);
  assert.equal(needsAdmissionPolicy({}, { kind: "Secret", name: "kc" }), true);
  assert.equal(needsAdmissionPolicy({}, { kind: "ConfigMap", name: "kc" }), true);
  const env = (e: Record<string, unknown>) => ({ env: [{ name: "X", ...e }] });
  assert.equal(
    needsAdmissionPolicy(env({ valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }), sa),
    false,
  );
  assert.equal(needsAdmissionPolicy(env({ valueFrom: { secretKeyRef: { name: "s", key: "k" } } }), sa), true);
  assert.equal(
    needsAdmissionPolicy(env({ valueFrom: { configMapKeyRef: { name: "c", key: "k" } } }), sa),
    true,
  );
  assert.equal(needsAdmissionPolicy({ env: [{ name: "TTYD_CREDENTIAL", value: "a:b" }] }, sa), true);
});
