import assert from "node:assert/strict";
import type { CloudShell } from "../../../controller/cloudshell/api.ts";
import {
  buildCredentialSecret,
  credentialPlan,
  envWithoutPlainCredential,
  generatePassword,
  loginFor,
} from "../../../controller/cloudshell/access/credential.ts";
import { validateSpec } from "../../../controller/cloudshell/policy/validation.ts";

const CS: CloudShell = {
  apiVersion: "cloudshell.cloudtty.io/v1alpha1",
  kind: "CloudShell",
  metadata: { name: "demo", namespace: "team-a", uid: "uid-1" },
};

Deno.test("credentialPlan: TTYD_CREDENTIAL (the last entry wins), generated, from a Secret, none", () => {
  const env = [{ name: "TTYD_CREDENTIAL", value: "old:x" }, { name: "TTYD_CREDENTIAL", value: "qa:pa:ss" }];
  assert.deepEqual(credentialPlan({ env }, "none"), {
    kind: "given",
    login: { username: "qa", password: "pa:ss" },
  });
  assert.deepEqual(credentialPlan({}, "generated"), { kind: "generated" });
  assert.deepEqual(credentialPlan({}, "none"), { kind: "none" });
  const fromSecret = [{ name: "TTYD_CREDENTIAL", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }];
  assert.deepEqual(credentialPlan({ env: fromSecret }, "generated"), { kind: "fromEnv" });
  // Under generated, a field of the pod cannot stand in for the login (an absent annotation resolves to "").
  const fromField = [{
    name: "TTYD_CREDENTIAL",
    valueFrom: { fieldRef: { fieldPath: "metadata.annotations['nonexistent']" } },
  }];
  assert.equal(
    (credentialPlan({ env: fromField }, "generated") as { reason?: string }).reason,
    "InvalidCredential",
  );
  assert.deepEqual(credentialPlan({ env: fromField }, "none"), { kind: "fromEnv" });
});

Deno.test("a TTYD_CREDENTIAL ttyd would refuse is a spec problem whose message keeps the value out", () => {
  for (const value of ["nocolon", ":pw", "qa:line\nbreak"]) {
    const problem = validateSpec({ env: [{ name: "TTYD_CREDENTIAL", value }] }, "demo", "team-a");
    assert.equal(problem?.reason, "InvalidCredential", value);
    assert.ok(!problem.message.includes(value), "the message must not echo the credential");
  }
});

Deno.test("a client option value with '=' is refused, since ttyd would cut it", () => {
  const problem = validateSpec({ ttydClientOptions: { titleFixed: "QA=Shell" } }, "demo", "team-a");
  assert.equal(problem?.reason, "InvalidClientOption");
  assert.equal(validateSpec({ ttydClientOptions: { titleFixed: "QA Shell" } }, "demo", "team-a"), undefined);
});

Deno.test("the pod's env loses plain TTYD_CREDENTIAL values, keeps references and everything else", () => {
  const ref = { name: "TTYD_CREDENTIAL", valueFrom: { secretKeyRef: { name: "s", key: "k" } } };
  assert.deepEqual(
    envWithoutPlainCredential([{ name: "A", value: "1" }, { name: "TTYD_CREDENTIAL", value: "qa:pw" }, ref]),
    [{ name: "A", value: "1" }, ref],
  );
});

Deno.test("the login Secret: generated name, basic-auth, immutable, controlled by the shell", () => {
  const secret = buildCredentialSecret(CS, { username: "qa", password: "pw" });
  assert.deepEqual(secret, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      generateName: "cloudshell-demo-login-",
      namespace: "team-a",
      labels: {
        "cloudshell.cloudtty.io/owner-name": "demo",
        "app.kubernetes.io/managed-by": "cloudshell-operator",
      },
      ownerReferences: [{
        apiVersion: "cloudshell.cloudtty.io/v1alpha1",
        kind: "CloudShell",
        name: "demo",
        uid: "uid-1",
        controller: true,
        blockOwnerDeletion: true,
      }],
    },
    type: "kubernetes.io/basic-auth",
    immutable: true,
    stringData: { username: "qa", password: "pw" },
  });
  const generated = loginFor({ kind: "generated" })!;
  assert.equal(generated.username, "cloudshell");
  assert.match(generated.password, /^[A-Za-z0-9_-]{32}$/);
  assert.notEqual(generatePassword(), generatePassword());
  assert.equal(loginFor({ kind: "none" }), undefined);
});
