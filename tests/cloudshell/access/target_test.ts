import assert from "node:assert/strict";
import { splitCommand, terminalTarget } from "../../../controller/cloudshell/access/target.ts";
import { accessChecks, describeCheck } from "../../../controller/cloudshell/access/access_review.ts";

Deno.test("splitCommand splits as sh does, and gives up on shell syntax", () => {
  assert.deepEqual(splitCommand("kubectl exec -it app -- sh"), ["kubectl", "exec", "-it", "app", "--", "sh"]);
  assert.deepEqual(splitCommand(`kubectl  exec 'my app' -- sh -c "echo \\"a; b\\""`), [
    "kubectl",
    "exec",
    "my app",
    "--",
    "sh",
    "-c",
    'echo "a; b"',
  ]);
  assert.deepEqual(splitCommand("a\\ b c"), ["a b", "c"]);
  for (const line of ["a; b", "a | b", "a && b", "a $(b)", "a `b`", 'a "$B"', "a 'b", "a > f", "a *"]) {
    assert.equal(splitCommand(line), undefined, line);
  }
});

Deno.test("terminalTarget finds CloudTTY's exec and logs targets", () => {
  const ns = "team-a";
  const cases: [string, ReturnType<typeof terminalTarget>][] = [
    ["kubectl exec -it app -- sh", { verb: "exec", namespace: ns, pod: "app", object: "app" }],
    ["kubectl exec app -c main -- sh", { verb: "exec", namespace: ns, pod: "app", object: "app" }],
    ["kubectl -n other exec -ti pod/app -- bash", {
      verb: "exec",
      namespace: "other",
      pod: "app",
      object: "pod/app",
    }],
    ["kubectl exec --namespace=other --stdin --tty app -- sh", {
      verb: "exec",
      namespace: "other",
      pod: "app",
      object: "app",
    }],
    ["/usr/local/bin/kubectl exec -nother app -- sh", {
      verb: "exec",
      namespace: "other",
      pod: "app",
      object: "app",
    }],
    ["kubectl exec -it deploy/web -- sh", { verb: "exec", namespace: ns, object: "deploy/web" }],
    ["kubectl logs -f app", { verb: "logs", namespace: ns, pod: "app", object: "app" }],
    ["kubectl -n kube-system logs -f deploy/coredns", {
      verb: "logs",
      namespace: "kube-system",
      object: "deploy/coredns",
    }],
    ["kubectl logs --tail=10 -f -l app=web", { verb: "logs", namespace: ns, object: "-l app=web" }],
    ["kubectl logs -f app main --timestamps", { verb: "logs", namespace: ns, pod: "app", object: "app" }],
    // Not a target: a shell, another subcommand, another identity or cluster, unknown flags, shell syntax.
    ["bash", undefined],
    ["kubectl get pods", undefined],
    ["kubectl exec --kubeconfig=/k app -- sh", undefined],
    ["kubectl --as=bob exec app -- sh", undefined],
    ["kubectl --context other logs app", undefined],
    ["kubectl exec --weird app -- sh", undefined],
    ["kubectl exec app -- sh; kubectl logs x", undefined],
    ["kubectl exec", undefined],
    ["kubectl exec -n", undefined],
    ["kubectl logs deploy/", undefined],
    ["kubectl logs a/b/c", undefined],
  ];
  for (const [command, expected] of cases) assert.deepEqual(terminalTarget(command, ns), expected, command);
});

Deno.test("accessChecks ask for what kubectl asks the API server", () => {
  const exec = accessChecks({ verb: "exec", namespace: "a", pod: "app", object: "app" });
  assert.deepEqual(exec.map(describeCheck), [
    "get pods app in namespace a",
    "create pods/exec app in namespace a",
  ]);
  const logs = accessChecks({ verb: "logs", namespace: "b", object: "deploy/web" });
  assert.deepEqual(logs.map(describeCheck), ["list pods in namespace b", "get pods/log in namespace b"]);
});
