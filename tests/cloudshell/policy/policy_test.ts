import assert from "node:assert/strict";
import {
  allowedBy,
  DEFAULT_POLICY,
  effectiveIdleTimeout,
  effectiveTtl,
  PERMISSIVE_POLICY,
  routeProblem,
  type TenantPolicy,
} from "../../../controller/cloudshell/policy/policy.ts";
import type { DesiredRoute } from "../../../controller/cloudshell/routing/routes.ts";

/** The default limits, with per-shell hosts configured (without them, routes are refused first). */
const HOSTED: TenantPolicy = {
  ...DEFAULT_POLICY,
  ingressHostPattern: { kind: "perShell", text: "{name}.{namespace}.shells.example.com" },
  virtualServiceHostPattern: { kind: "perShell", text: "{name}.{namespace}.shells.example.com" },
};

function route(extra: Partial<DesiredRoute> = {}): DesiredRoute {
  return {
    mode: "VirtualService",
    namespace: "team-a",
    objectName: "shells",
    path: "/apis/v1alpha1/cloudshell/x",
    serviceName: "cloudshell-x",
    serviceNamespace: "team-a",
    owner: "x",
    ...extra,
  };
}

Deno.test("allowedBy() matches exact keys and prefixes ending in *", () => {
  const list = ["nginx.ingress.kubernetes.io/proxy-read-timeout", "example.com/*"];
  assert.ok(allowedBy(list, "nginx.ingress.kubernetes.io/proxy-read-timeout"));
  assert.ok(allowedBy(list, "example.com/anything"));
  assert.ok(!allowedBy(list, "nginx.ingress.kubernetes.io/proxy-read-timeout-x"));
  assert.ok(!allowedBy(list, "nginx.ingress.kubernetes.io/configuration-snippet"));
  assert.ok(!allowedBy([], "a"));
  assert.ok(allowedBy(["*"], "nginx.ingress.kubernetes.io/server-snippet"));
});

Deno.test("routeProblem(): a route in another namespace needs --route-namespaces", () => {
  assert.equal(routeProblem(route(), "team-a", HOSTED), undefined);
  const problem = routeProblem(route({ namespace: "team-b" }), "team-a", HOSTED);
  assert.equal(problem?.reason, "RouteNamespaceNotAllowed");
  assert.equal(problem?.retry, false);
  assert.match(problem?.message ?? "", /virtualServiceConfig.namespace "team-b" is not allowed/);
  const shared: TenantPolicy = { ...HOSTED, routeNamespaces: ["istio-system"] };
  assert.equal(routeProblem(route({ namespace: "istio-system" }), "team-a", shared), undefined);
  assert.equal(
    routeProblem(route({ namespace: "team-b" }), "team-a", shared)?.reason,
    "RouteNamespaceNotAllowed",
  );
  assert.equal(routeProblem(route({ namespace: "team-b" }), "team-a", PERMISSIVE_POLICY), undefined);
});

Deno.test("routeProblem(): Ingress annotations pass only when allowed, all refused ones named", () => {
  const ingress = (annotations: Record<string, string>) =>
    route({ mode: "Ingress", ingress: { annotations } });
  assert.equal(
    routeProblem(
      ingress({ "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600" }),
      "team-a",
      HOSTED,
    ),
    undefined,
  );
  const problem = routeProblem(
    ingress({
      "nginx.ingress.kubernetes.io/server-snippet": "x",
      "nginx.ingress.kubernetes.io/configuration-snippet": "y",
      "nginx.ingress.kubernetes.io/proxy-send-timeout": "60",
    }),
    "team-a",
    HOSTED,
  );
  assert.equal(problem?.reason, "IngressAnnotationNotAllowed");
  assert.match(
    problem?.message ?? "",
    /"nginx.ingress.kubernetes.io\/configuration-snippet", "nginx.ingress.kubernetes.io\/server-snippet" are not allowed/,
  );
  assert.doesNotMatch(problem?.message ?? "", /proxy-send-timeout"/);
  const none: TenantPolicy = { ...HOSTED, ingressAnnotations: [] };
  assert.match(routeProblem(ingress({ a: "b" }), "team-a", none)?.message ?? "", /allowed: none/);
});

Deno.test("effectiveTtl(): the default for shells without one, the maximum caps the rest", () => {
  assert.deepEqual(effectiveTtl({}, DEFAULT_POLICY), { seconds: undefined });
  assert.deepEqual(effectiveTtl({ ttl: 30 }, DEFAULT_POLICY), { seconds: 30 });
  const policy: TenantPolicy = { ...DEFAULT_POLICY, defaultTtlSeconds: 600, maxTtlSeconds: 3600 };
  assert.deepEqual(effectiveTtl({}, policy), { seconds: 600 });
  assert.deepEqual(effectiveTtl({ ttlSecondsAfterStarted: 500 }, policy), { seconds: 500 });
  assert.deepEqual(effectiveTtl({ ttlSecondsAfterStarted: 86_400 }, policy), {
    seconds: 3600,
    cappedFrom: 86_400,
  });
  // The legacy field counts the same; the new one wins over it.
  assert.deepEqual(effectiveTtl({ ttl: 7200 }, policy), { seconds: 3600, cappedFrom: 7200 });
  assert.deepEqual(effectiveTtl({ ttl: 7200, ttlSecondsAfterStarted: 60 }, policy), { seconds: 60 });
  // A maximum without a default: shells that ask for nothing get the maximum.
  assert.deepEqual(effectiveTtl({}, { ...DEFAULT_POLICY, maxTtlSeconds: 3600 }), { seconds: 3600 });
});

Deno.test("effectiveTtl(): a TTL of 0 asks for none, as in CloudTTY's Job-based releases", () => {
  assert.deepEqual(effectiveTtl({ ttlSecondsAfterStarted: 0 }, DEFAULT_POLICY), { seconds: undefined });
  assert.deepEqual(effectiveTtl({ ttl: 0 }, DEFAULT_POLICY), { seconds: undefined });
  const policy: TenantPolicy = { ...DEFAULT_POLICY, defaultTtlSeconds: 600, maxTtlSeconds: 3600 };
  assert.deepEqual(effectiveTtl({ ttlSecondsAfterStarted: 0 }, policy), { seconds: 600 });
  assert.deepEqual(effectiveTtl({ ttl: 0 }, { ...DEFAULT_POLICY, maxTtlSeconds: 3600 }), { seconds: 3600 });
});

Deno.test("effectiveIdleTimeout(): the shell's own, 0 for none, the default, the maximum over all", () => {
  assert.deepEqual(effectiveIdleTimeout({}, DEFAULT_POLICY), { seconds: undefined });
  assert.deepEqual(effectiveIdleTimeout({ idleTimeoutSeconds: 90 }, DEFAULT_POLICY), { seconds: 90 });
  const policy: TenantPolicy = { ...DEFAULT_POLICY, defaultIdleTimeoutSeconds: 1800 };
  assert.deepEqual(effectiveIdleTimeout({}, policy), { seconds: 1800 });
  assert.deepEqual(effectiveIdleTimeout({ idleTimeoutSeconds: 0 }, policy), { seconds: undefined });
  const capped: TenantPolicy = { ...policy, maxIdleTimeoutSeconds: 3600 };
  assert.deepEqual(effectiveIdleTimeout({ idleTimeoutSeconds: 0 }, capped), { seconds: 3600 });
  assert.deepEqual(effectiveIdleTimeout({ idleTimeoutSeconds: 7200 }, capped), {
    seconds: 3600,
    cappedFrom: 7200,
  });
});

Deno.test("routeProblem(): Ingress and VirtualService routes need a host an administrator configured", () => {
  for (const mode of ["Ingress", "VirtualService"] as const) {
    const problem = routeProblem(route({ mode }), "team-a", DEFAULT_POLICY);
    assert.equal(problem?.reason, "RouteHostNotConfigured");
    assert.equal(problem?.retry, false);
    assert.match(
      problem?.message ?? "",
      mode === "Ingress" ? /--ingress-host-pattern/ : /--virtual-service-host-pattern/,
    );
  }
  // A host the shell names is enough for Ingress mode, where an administrator allows it.
  const named = route({ mode: "Ingress", ingress: { host: "shells.example.com" } });
  assert.equal(routeProblem(named, "team-a", DEFAULT_POLICY)?.reason, "IngressHostNotAllowed");
  assert.equal(
    routeProblem(named, "team-a", { ...DEFAULT_POLICY, ingressHostsAllowed: ["*.example.com"] }),
    undefined,
  );
});

Deno.test("routeProblem(): a shell's host is the pattern's, or one the allow list admits and no other shell has", () => {
  const own = "x.team-a.shells.example.com";
  assert.equal(routeProblem(route({ mode: "Ingress", ingress: { host: own } }), "team-a", HOSTED), undefined);
  const other = route({ mode: "Ingress", ingress: { host: "bank.example.com" } });
  const refused = routeProblem(other, "team-a", HOSTED);
  assert.equal(refused?.reason, "IngressHostNotAllowed");
  assert.match(
    refused?.message ?? "",
    /"bank.example.com" is not allowed; allowed: none \(--ingress-hosts-allowed\), or leave it out for x.team-a.shells.example.com/,
  );
  const open: TenantPolicy = { ...HOSTED, ingressHostsAllowed: ["*.example.com"] };
  assert.equal(routeProblem(other, "team-a", open), undefined);
  // Even where the allow list admits it, another shell's host is never a tenant's to take.
  const squat = routeProblem(
    route({ mode: "Ingress", ingress: { host: "victim.team-b.shells.example.com" } }),
    "team-a",
    open,
  );
  assert.equal(squat?.reason, "IngressHostNotAllowed");
  assert.match(squat?.message ?? "", /it is the host of CloudShell team-b\/victim/);
});

Deno.test("routeProblem(): classes, gateways and exportTo only from the administrator's lists", () => {
  const cls = route({ mode: "Ingress", ingress: { className: "public" } });
  assert.equal(routeProblem(cls, "team-a", HOSTED)?.reason, "IngressClassNotAllowed");
  assert.equal(routeProblem(cls, "team-a", { ...HOSTED, ingressClassesAllowed: ["public"] }), undefined);
  assert.equal(routeProblem(route({ mode: "Ingress" }), "team-a", HOSTED), undefined, "the default class");
  const gw = route({ virtualService: { gateway: "istio-system/public" } });
  assert.equal(routeProblem(gw, "team-a", HOSTED)?.reason, "GatewayNotAllowed");
  assert.equal(
    routeProblem(gw, "team-a", { ...HOSTED, virtualServiceGatewaysAllowed: ["istio-system/public"] }),
    undefined,
  );
  const exp = route({ virtualService: { exportTo: "*" } });
  assert.equal(routeProblem(exp, "team-a", HOSTED)?.reason, "ExportToNotAllowed");
  assert.equal(routeProblem(exp, "team-a", { ...HOSTED, virtualServiceExportToAllowed: ["*"] }), undefined);
  for (const r of [cls, gw, exp]) assert.equal(routeProblem(r, "team-a", PERMISSIVE_POLICY), undefined);
});
