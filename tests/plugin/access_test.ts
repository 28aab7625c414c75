/**
 * Where a Ready shell is opened: through a forward (ClusterIP always, any mode on request) or at its own
 * URL, with a scheme added; a bare Ingress path is refused with what to do instead.
 */
import assert from "node:assert/strict";
import type { CloudShell } from "../../controller/cloudshell/api.ts";
import { forwardUrl, needsForward, routeUrl } from "../../plugin/access.ts";
import { PluginError } from "../../plugin/exit_codes.ts";

const shell = (exposureMode: string | undefined, accessUrl: string): CloudShell => ({
  apiVersion: "cloudshell.cloudtty.io/v1alpha1",
  kind: "CloudShell",
  metadata: { name: "s", namespace: "dev" },
  spec: { exposureMode },
  status: { phase: "Ready", accessUrl },
});

Deno.test("ClusterIP shells are forwarded; others only with --forward", () => {
  assert.equal(needsForward(shell("ClusterIP", "10.0.0.1:7681"), false), true);
  assert.equal(needsForward(shell(undefined, "node:30001"), false), false);
  assert.equal(needsForward(shell("Ingress", "h/p"), true), true);
  assert.equal(forwardUrl(40000), "http://127.0.0.1:40000/");
});

Deno.test("a shell's own URL gets a scheme; a bare path cannot be opened from here", () => {
  assert.equal(routeUrl(shell("NodePort", "127.0.0.5:30001?ttl=60")), "http://127.0.0.5:30001?ttl=60");
  assert.equal(
    routeUrl(shell("Ingress", "shells.example/apis/v1alpha1/cloudshell/s")),
    "http://shells.example/apis/v1alpha1/cloudshell/s",
  );
  assert.throws(
    () => routeUrl(shell("VirtualService", "/apis/v1alpha1/cloudshell/s")),
    (err) => err instanceof PluginError && /only a path .* use --forward/.test(err.message),
  );
});
