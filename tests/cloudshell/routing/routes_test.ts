/**
 * Route entries in shared Ingresses and VirtualServices, against a real API
 * server: shape on creation, appending without disturbing others, no write when
 * nothing changes, many concurrent writers (in one process and across two
 * managers that really collide with 409s), removal, and what is deleted.
 */
import assert from "node:assert/strict";
import { installVirtualServiceCrd } from "../../_fixtures/istio.ts";
import {
  ApiError,
  isNotFound,
  KubeClient,
  type KubeObject,
  type RequestInfo,
  Resources,
  type ResourceType,
} from "../../../controller/kube/mod.ts";
import { MANAGED_BY, MANAGED_BY_LABEL, OWNER_LABEL, TTYD_PORT } from "../../../controller/cloudshell/api.ts";
import {
  type DesiredRoute,
  encodeRouteRef,
  type Ingress,
  parseRouteRef,
  REWRITE_TARGET_ANNOTATION,
  RouteError,
  RouteManager,
  type VirtualService,
  VirtualServices,
} from "../../../controller/cloudshell/routing/routes.ts";
import { removeIngressPath } from "../../../controller/cloudshell/routing/ingress_route.ts";
import { type TestCluster, testCluster } from "../../harness/cluster.ts";
import { startControlPlane } from "../../harness/control_plane.ts";

const INGRESS = "cloudshell-ingress";
const VS = "cloudshell-virtualservice";

function ingressRoute(namespace: string, owner: string, extra: Partial<DesiredRoute> = {}): DesiredRoute {
  return {
    mode: "Ingress",
    namespace,
    objectName: INGRESS,
    path: `/apis/v1alpha1/cloudshell/${owner}`,
    serviceName: `cloudshell-${owner}`,
    serviceNamespace: namespace,
    owner,
    ...extra,
  };
}

function vsRoute(namespace: string, owner: string, extra: Partial<DesiredRoute> = {}): DesiredRoute {
  return { ...ingressRoute(namespace, owner), mode: "VirtualService", objectName: VS, ...extra };
}

/** A route with itself as the backend whose entries may be removed (the shell's own Service). */
function own(route: DesiredRoute): [DesiredRoute, DesiredRoute] {
  return [route, route];
}

function allPaths(ing: Ingress): string[] {
  return (ing.spec?.rules ?? []).flatMap((r) => r.http?.paths?.map((p) => p.path ?? "") ?? []);
}

/** A client that records every request it sends, to count writes and conflicts. */
function recordingClient(cluster: TestCluster): { client: KubeClient; requests: RequestInfo[] } {
  const requests: RequestInfo[] = [];
  const client = new KubeClient(cluster.connection, {
    qps: 1000,
    burst: 2000,
    onRequest: (info) => requests.push(info),
  });
  return { client, requests };
}

/** A client that lets another writer act between its next read and the caller's write. */
class InterferingClient extends KubeClient {
  interfere: (() => Promise<void>) | undefined;

  override async get<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T> {
    const obj = await super.get<T>(type, namespace, name);
    const interfere = this.interfere;
    this.interfere = undefined;
    await interfere?.();
    return obj;
  }
}

/** A client whose every update loses to another writer. */
class AlwaysConflictingClient extends KubeClient {
  updates = 0;

  override update<T extends KubeObject>(_type: ResourceType, _obj: T): Promise<T> {
    this.updates++;
    return Promise.reject(new ApiError(409, { kind: "Status", reason: "Conflict", code: 409 }, "PUT"));
  }
}

/**
 * Runs a route operation as the reconciler would: a `RouteConflict` (the attempt budget spent against a
 * writer that kept winning, which two writers busy on one object can cause) is requeued; anything else fails.
 */
async function requeued(op: () => Promise<void>): Promise<void> {
  for (let i = 0;; i++) {
    try {
      return await op();
    } catch (err) {
      if (!(err instanceof RouteError && err.reason === "RouteConflict") || i >= 5) throw err;
    }
  }
}

const writes = (requests: RequestInfo[]) => requests.filter((r) => r.method !== "GET");

async function getIngress(client: KubeClient, ns: string, name = INGRESS): Promise<Ingress | undefined> {
  try {
    return await client.get<Ingress>(Resources.ingresses, ns, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A user's own Ingress, created without this operator's labels. */
function userIngress(ns: string, paths: string[]): Ingress {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: INGRESS, namespace: ns, annotations: { "team.example.com/owner": "platform" } },
    spec: {
      ingressClassName: "user-class",
      rules: [{
        host: "shell.example.com",
        http: {
          paths: paths.map((path) => ({
            path,
            pathType: "Exact",
            backend: { service: { name: "user-svc", port: { number: 80 } } },
          })),
        },
      }],
    },
  };
}

Deno.test("route refs survive an annotation round trip and malformed ones are rejected", () => {
  const ref = { mode: "Ingress" as const, namespace: "team-a", objectName: "ing", path: '/a b/"c"' };
  assert.deepEqual(parseRouteRef(encodeRouteRef(ref)), ref);
  const vs = { mode: "VirtualService" as const, namespace: "n", objectName: "v", path: "/p" };
  assert.deepEqual(parseRouteRef(encodeRouteRef(vs)), vs);
  for (
    const bad of [
      undefined,
      "",
      "x",
      "null",
      "[]",
      '{"mode":"NodePort","namespace":"n","objectName":"o","path":"/"}',
      '{"mode":"Ingress","namespace":"","objectName":"o","path":"/"}',
      '{"mode":"Ingress","namespace":"n","path":"/"}',
    ]
  ) {
    assert.equal(parseRouteRef(bad), undefined, `parse ${bad}`);
  }
});

Deno.test("removing the only path of a user's Ingress keeps a valid, path-less rule", () => {
  const before = userIngress("ns", ["/apis/v1alpha1/cloudshell/a"]);
  const ref = {
    mode: "Ingress" as const,
    namespace: "ns",
    objectName: INGRESS,
    path: "/apis/v1alpha1/cloudshell/a",
  };
  const backend = { serviceName: "user-svc", serviceNamespace: "ns" };
  const removal = removeIngressPath(before, ref, backend);
  assert.equal(removal.action, "update");
  assert.deepEqual(removal.action === "update" && removal.object.spec?.rules, [{
    host: "shell.example.com",
  }]);
  assert.deepEqual(removeIngressPath(before, { ...ref, path: "/other" }, backend), { action: "none" });
  // Input is never mutated.
  assert.deepEqual(allPaths(before), ["/apis/v1alpha1/cloudshell/a"]);
});

Deno.test("Ingress routes against a real API server", async (t) => {
  await using cluster = await testCluster();
  const routes = new RouteManager(cluster.client);

  await t.step("the first ensure creates the Ingress with the right shape", async () => {
    const ns = await cluster.namespace("route-create");
    await routes.ensure(ingressRoute(ns, "a", { ingress: { annotations: { "x.example.com/y": "z" } } }));
    const ing = await getIngress(cluster.client, ns);
    assert.ok(ing, "the Ingress exists");
    assert.deepEqual(ing.metadata.labels, { [MANAGED_BY_LABEL]: MANAGED_BY, [OWNER_LABEL]: "a" });
    assert.deepEqual(ing.metadata.annotations, { [REWRITE_TARGET_ANNOTATION]: "/", "x.example.com/y": "z" });
    assert.ok(!("ingressClassName" in (ing.spec ?? {})), "no empty ingressClassName");
    assert.deepEqual(ing.spec?.rules, [{
      http: {
        paths: [{
          path: "/apis/v1alpha1/cloudshell/a",
          pathType: "Prefix",
          backend: { service: { name: "cloudshell-a", port: { number: TTYD_PORT } } },
        }],
      },
    }]);

    await routes.ensure(ingressRoute(ns, "b", { objectName: "classy", ingress: { className: "nginx" } }));
    const classy = await getIngress(cluster.client, ns, "classy");
    assert.equal(classy?.spec?.ingressClassName, "nginx");
  });

  await t.step(
    "a second shell's path is appended; the existing Ingress's config is not changed",
    async () => {
      const ns = await cluster.namespace("route-append");
      await routes.ensure(ingressRoute(ns, "a"));
      await routes.ensure(
        ingressRoute(ns, "b", { ingress: { className: "other", annotations: { k: "v" } } }),
      );
      const ing = await getIngress(cluster.client, ns);
      assert.deepEqual(allPaths(ing!), ["/apis/v1alpha1/cloudshell/a", "/apis/v1alpha1/cloudshell/b"]);
      assert.equal(ing!.spec?.rules?.[0].http?.paths[0].backend.service?.name, "cloudshell-a");
      assert.equal(ing!.spec?.rules?.[0].http?.paths[1].backend.service?.name, "cloudshell-b");
      assert.equal(ing!.metadata.labels?.[OWNER_LABEL], "a", "the creator stays the owner");
      assert.equal(ing!.spec?.ingressClassName, undefined);
      assert.equal(ing!.metadata.annotations?.k, undefined);
    },
  );

  await t.step("ensure is idempotent: no write when the entry is already right", async () => {
    const ns = await cluster.namespace("route-idem");
    await routes.ensure(ingressRoute(ns, "a"));
    await routes.ensure(ingressRoute(ns, "b"));
    const before = await getIngress(cluster.client, ns);
    const { client, requests } = recordingClient(cluster);
    try {
      const second = new RouteManager(client);
      await second.ensure(ingressRoute(ns, "a"));
      await second.ensure(ingressRoute(ns, "b"));
      assert.deepEqual(writes(requests), []);
      const after = await getIngress(cluster.client, ns);
      assert.equal(after?.metadata.resourceVersion, before?.metadata.resourceVersion);

      // A path that leads to another backend is someone else's: never replaced, never removed.
      await assert.rejects(
        second.ensure(ingressRoute(ns, "a", { serviceName: "renamed" })),
        (err) => err instanceof RouteError && err.reason === "RoutePathConflict",
      );
      await second.remove(ingressRoute(ns, "a"), { serviceName: "renamed", serviceNamespace: ns });
      await second.remove(ingressRoute(ns, "a"), {
        serviceName: "cloudshell-a",
        serviceNamespace: "elsewhere",
      });
      const unchanged = await getIngress(cluster.client, ns);
      assert.equal(unchanged?.metadata.resourceVersion, before?.metadata.resourceVersion);
    } finally {
      client.close();
    }
  });

  await t.step(
    "a user's Ingress is left alone; with the opt-in our path is added and removed, theirs untouched",
    async () => {
      const ns = await cluster.namespace("route-user");
      const created = await cluster.client.create<Ingress>(Resources.ingresses, userIngress(ns, ["/theirs"]));
      const host = "shell.example.com";
      await assert.rejects(
        routes.ensure(ingressRoute(ns, "a", { ingress: { host } })),
        (err) => err instanceof RouteError && err.reason === "IngressConflict",
      );
      const untouched = await getIngress(cluster.client, ns);
      assert.equal(untouched?.metadata.resourceVersion, created.metadata.resourceVersion);

      const optIn = new RouteManager(cluster.client, { useExistingObjects: true });
      await optIn.ensure(
        ingressRoute(ns, "a", { ingress: { host, className: "ours", annotations: { k: "v" } } }),
      );
      const ing = await getIngress(cluster.client, ns);
      assert.equal(ing!.spec?.ingressClassName, "user-class");
      assert.deepEqual(ing!.metadata.annotations, {
        "team.example.com/owner": "platform",
        [REWRITE_TARGET_ANNOTATION]: "/",
      });
      assert.equal(ing!.spec?.rules?.length, 1);
      assert.deepEqual(allPaths(ing!), ["/theirs", "/apis/v1alpha1/cloudshell/a"]);

      await optIn.remove(...own(ingressRoute(ns, "a")));
      const after = await getIngress(cluster.client, ns);
      assert.ok(after, "a user's Ingress is never deleted");
      assert.deepEqual(after.spec?.rules, userIngress(ns, ["/theirs"]).spec?.rules);

      // Even when our path was the last one (the user's path taken out as its own backend would).
      await optIn.remove(
        { mode: "Ingress", namespace: ns, objectName: INGRESS, path: "/theirs" },
        { serviceName: "user-svc", serviceNamespace: ns },
      );
      await optIn.ensure(ingressRoute(ns, "b", { ingress: { host } }));
      await optIn.remove(...own(ingressRoute(ns, "b")));
      const emptied = await getIngress(cluster.client, ns);
      assert.ok(emptied, "an emptied user Ingress is kept");
      assert.deepEqual(emptied.spec?.rules, [{ host }]);
    },
  );

  await t.step("host rules: a path goes to the rule of its host, one is added when missing", async () => {
    const ns = await cluster.namespace("route-host");
    await routes.ensure(ingressRoute(ns, "a", { ingress: { host: "a.example.com" } }));
    let ing = await getIngress(cluster.client, ns);
    assert.equal(ing!.spec?.rules?.[0].host, "a.example.com");
    await routes.ensure(ingressRoute(ns, "b"));
    await routes.ensure(ingressRoute(ns, "c", { ingress: { host: "a.example.com" } }));
    ing = await getIngress(cluster.client, ns);
    const rules = ing!.spec!.rules!;
    assert.equal(rules.length, 2);
    assert.equal(rules[0].host, "a.example.com");
    assert.deepEqual(rules[0].http?.paths.map((p) => p.path), [
      "/apis/v1alpha1/cloudshell/a",
      "/apis/v1alpha1/cloudshell/c",
    ]);
    assert.equal(rules[1].host, undefined);
    assert.deepEqual(rules[1].http?.paths.map((p) => p.path), ["/apis/v1alpha1/cloudshell/b"]);

    // The host-less rule loses its only path and goes; the host rule stays.
    await routes.remove(...own(ingressRoute(ns, "b")));
    ing = await getIngress(cluster.client, ns);
    assert.deepEqual(ing!.spec?.rules?.map((r) => r.host), ["a.example.com"]);
  });

  await t.step(
    "remove takes out one path and leaves the others; the last one deletes our Ingress",
    async () => {
      const ns = await cluster.namespace("route-remove");
      for (const o of ["a", "b", "c"]) await routes.ensure(ingressRoute(ns, o));
      await routes.remove(...own(ingressRoute(ns, "b")));
      let ing = await getIngress(cluster.client, ns);
      assert.deepEqual(allPaths(ing!), ["/apis/v1alpha1/cloudshell/a", "/apis/v1alpha1/cloudshell/c"]);
      await routes.remove(...own(ingressRoute(ns, "b")));
      await routes.remove(...own(ingressRoute(ns, "a")));
      ing = await getIngress(cluster.client, ns);
      assert.deepEqual(allPaths(ing!), ["/apis/v1alpha1/cloudshell/c"]);
      await routes.remove(...own(ingressRoute(ns, "c")));
      assert.equal(await getIngress(cluster.client, ns), undefined, "our emptied Ingress is deleted");
    },
  );

  await t.step("remove on a missing Ingress (or namespace) is fine", async () => {
    const ns = await cluster.namespace("route-missing");
    await routes.remove(...own(ingressRoute(ns, "a")));
    await routes.remove(...own(ingressRoute("no-such-namespace-route", "a")));
  });

  await t.step(
    "50 concurrent ensures on one Ingress all land, and 50 concurrent removes delete it",
    async () => {
      const ns = await cluster.namespace("route-many");
      const owners = Array.from({ length: 50 }, (_, i) => `shell-${i}`);
      await Promise.all(owners.map((o) => routes.ensure(ingressRoute(ns, o))));
      const ing = await getIngress(cluster.client, ns);
      assert.deepEqual(allPaths(ing!).sort(), owners.map((o) => `/apis/v1alpha1/cloudshell/${o}`).sort());
      await Promise.all(owners.map((o) => routes.remove(...own(ingressRoute(ns, o)))));
      assert.equal(await getIngress(cluster.client, ns), undefined);
    },
  );

  await t.step("two managers racing on one Ingress collide with 409s and lose nothing", async () => {
    const a = recordingClient(cluster);
    const b = recordingClient(cluster);
    try {
      const managers = [new RouteManager(a.client), new RouteManager(b.client)];
      let conflicts = 0;
      // Collisions are timing dependent; a few rounds make at least one (near) certain.
      for (let round = 0; round < 5 && conflicts === 0; round++) {
        const ns = await cluster.namespace("route-race");
        const owners = Array.from({ length: 40 }, (_, i) => `shell-${i}`);
        // Both create at once too, so one of them meets AlreadyExists.
        await Promise.all(owners.map((o, i) => requeued(() => managers[i % 2].ensure(ingressRoute(ns, o)))));
        const ing = await getIngress(cluster.client, ns);
        assert.deepEqual(allPaths(ing!).sort(), owners.map((o) => `/apis/v1alpha1/cloudshell/${o}`).sort());
        const keep = owners.slice(0, 5);
        await Promise.all(
          owners.slice(5).map((o, i) => requeued(() => managers[i % 2].remove(...own(ingressRoute(ns, o))))),
        );
        const left = await getIngress(cluster.client, ns);
        assert.deepEqual(allPaths(left!).sort(), keep.map((o) => `/apis/v1alpha1/cloudshell/${o}`).sort());
        conflicts = [...a.requests, ...b.requests].filter((r) => r.code === 409).length;
      }
      assert.ok(conflicts > 0, "the two managers really collided");
    } finally {
      a.client.close();
      b.client.close();
    }
  });

  await t.step("a write between our read and our update or delete is never overwritten", async () => {
    const ns = await cluster.namespace("route-interfere");
    const client = new InterferingClient(cluster.connection);
    try {
      const racy = new RouteManager(client);
      await racy.ensure(ingressRoute(ns, "a"));
      // The PUT carries the resourceVersion of the read, so it fails with 409 and is redone on fresh data.
      client.interfere = () => routes.ensure(ingressRoute(ns, "other"));
      await racy.ensure(ingressRoute(ns, "b"));
      assert.deepEqual(allPaths((await getIngress(cluster.client, ns))!).sort(), [
        "/apis/v1alpha1/cloudshell/a",
        "/apis/v1alpha1/cloudshell/b",
        "/apis/v1alpha1/cloudshell/other",
      ]);
      await routes.remove(...own(ingressRoute(ns, "other")));
      await racy.remove(...own(ingressRoute(ns, "b")));
      // Our last path goes while someone adds theirs: the delete is preconditioned, so theirs survives.
      client.interfere = () => routes.ensure(ingressRoute(ns, "late"));
      await racy.remove(...own(ingressRoute(ns, "a")));
      const ing = await getIngress(cluster.client, ns);
      assert.ok(ing, "not deleted under the other writer's path");
      assert.deepEqual(allPaths(ing), ["/apis/v1alpha1/cloudshell/late"]);
    } finally {
      client.close();
    }
  });

  await t.step("endless conflicts end in RouteError RouteConflict after the attempt budget", async () => {
    const ns = await cluster.namespace("route-giveup");
    await routes.ensure(ingressRoute(ns, "a"));
    const client = new AlwaysConflictingClient(cluster.connection);
    try {
      const doomed = new RouteManager(client, { maxAttempts: 8, baseDelayMs: 1 });
      await assert.rejects(
        doomed.ensure(ingressRoute(ns, "b")),
        (err) =>
          err instanceof RouteError && err.reason === "RouteConflict" && /after 8 attempts/.test(err.message),
      );
      assert.equal(client.updates, 8);
    } finally {
      client.close();
    }
  });

  await t.step("an Ingress backend in another namespace is refused", async () => {
    await assert.rejects(
      routes.ensure(ingressRoute("ns-a", "a", { serviceNamespace: "ns-b" })),
      (err) => err instanceof RouteError && err.reason === "BackendNamespaceMismatch",
    );
  });
});

async function getVs(client: KubeClient, ns: string): Promise<VirtualService | undefined> {
  try {
    return await client.get<VirtualService>(VirtualServices, ns, VS);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const prefixes = (vs: VirtualService | undefined) => vs?.spec?.http?.map((r) => r.match?.[0]?.uri?.prefix);

// A private control plane: installing the Istio CRD must not leak into the other test files' shared cluster.
Deno.test("VirtualService routes against a real API server", async (t) => {
  await using cp = await startControlPlane({ nodes: 1 });
  const client = cp.client;
  const routes = new RouteManager(client);
  const ns = "shells";
  await client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });

  await t.step("without Istio's CRD, ensure says so and remove is a no-op", async () => {
    await assert.rejects(routes.ensure(vsRoute(ns, "a")), (err) => {
      assert.ok(err instanceof RouteError);
      assert.equal(err.reason, "VirtualServiceCRDMissing");
      assert.match(err.message, /install Istio's CRDs or choose another exposureMode/);
      return true;
    });
    await routes.remove(...own(vsRoute(ns, "a")));
  });

  await installVirtualServiceCrd(client);

  await t.step("the first ensure creates the VirtualService with the right shape", async () => {
    await routes.ensure(vsRoute(ns, "a", { serviceNamespace: "elsewhere" }));
    const vs = await getVs(client, ns);
    assert.deepEqual(vs?.metadata.labels, { [MANAGED_BY_LABEL]: MANAGED_BY, [OWNER_LABEL]: "a" });
    assert.deepEqual(vs?.spec, {
      hosts: ["*"],
      http: [{
        name: "a",
        match: [{ uri: { prefix: "/apis/v1alpha1/cloudshell/a" } }],
        rewrite: { uri: "/" },
        // The Service's namespace, not the VirtualService's.
        route: [{
          destination: { host: "cloudshell-a.elsewhere.svc.cluster.local", port: { number: TTYD_PORT } },
        }],
      }],
    });
  });

  await t.step(
    "a second route is appended; ensure is idempotent; a route leading elsewhere is never replaced",
    async () => {
      await routes.ensure(
        vsRoute(ns, "b", { virtualService: { gateway: "istio-system/gw", exportTo: "." } }),
      );
      let vs = await getVs(client, ns);
      assert.deepEqual(prefixes(vs), ["/apis/v1alpha1/cloudshell/a", "/apis/v1alpha1/cloudshell/b"]);
      assert.equal(vs?.spec?.gateways, undefined, "an existing VirtualService's gateways are not changed");

      const rv = vs?.metadata.resourceVersion;
      await routes.ensure(vsRoute(ns, "a", { serviceNamespace: "elsewhere" }));
      await routes.ensure(vsRoute(ns, "b"));
      assert.equal((await getVs(client, ns))?.metadata.resourceVersion, rv, "no write when already right");

      // A same-named shell of another namespace cannot take the route, nor remove it.
      await assert.rejects(
        routes.ensure(vsRoute(ns, "a")),
        (err) => err instanceof RouteError && err.reason === "RoutePathConflict",
      );
      await routes.remove(...own(vsRoute(ns, "a")));
      vs = await getVs(client, ns);
      assert.equal(vs?.metadata.resourceVersion, rv);
      assert.equal(
        vs?.spec?.http?.[0].route?.[0].destination.host,
        "cloudshell-a.elsewhere.svc.cluster.local",
      );
      await routes.remove(...own(vsRoute(ns, "a", { serviceNamespace: "elsewhere" })));
      await routes.ensure(vsRoute(ns, "a"));
    },
  );

  await t.step("remove takes out one route; the last one deletes our VirtualService", async () => {
    await routes.remove(...own(vsRoute(ns, "a")));
    assert.deepEqual(prefixes(await getVs(client, ns)), ["/apis/v1alpha1/cloudshell/b"]);
    await routes.remove(...own(vsRoute(ns, "a")));
    await routes.remove(...own(vsRoute(ns, "b")));
    assert.equal(await getVs(client, ns), undefined);
    await routes.remove(...own(vsRoute(ns, "b")));
  });

  await t.step("gateway and exportTo are set on creation only when given", async () => {
    await routes.ensure(vsRoute(ns, "g", { virtualService: { gateway: "istio-system/gw", exportTo: "." } }));
    const vs = await getVs(client, ns);
    assert.deepEqual(vs?.spec?.gateways, ["istio-system/gw"]);
    assert.deepEqual(vs?.spec?.exportTo, ["."]);
    await routes.remove(...own(vsRoute(ns, "g")));
    assert.equal(await getVs(client, ns), undefined);
  });

  await t.step("a user's VirtualService is left alone; with the opt-in it keeps its routes", async () => {
    const other = { match: [{ uri: { exact: "/theirs" } }], route: [{ destination: { host: "user.svc" } }] };
    await client.create<VirtualService>(VirtualServices, {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: { name: VS, namespace: ns },
      spec: { hosts: ["shell.example.com"], http: [other] },
    });
    await assert.rejects(
      routes.ensure(vsRoute(ns, "a")),
      (err) => err instanceof RouteError && err.reason === "VirtualServiceConflict",
    );
    assert.deepEqual(prefixes(await getVs(client, ns)), [undefined]);
    const optIn = new RouteManager(client, { useExistingObjects: true });
    await optIn.ensure(vsRoute(ns, "a"));
    assert.deepEqual(prefixes(await getVs(client, ns)), [undefined, "/apis/v1alpha1/cloudshell/a"]);
    await optIn.remove(...own(vsRoute(ns, "a")));
    let vs = await getVs(client, ns);
    assert.deepEqual(vs?.spec, { hosts: ["shell.example.com"], http: [other] });

    // The user drops their own route, leaving only ours.
    await optIn.ensure(vsRoute(ns, "b"));
    const current = (await getVs(client, ns))!;
    const onlyOurs = current.spec!.http!.filter((r) => r.name === "b");
    await client.update<VirtualService>(VirtualServices, {
      ...current,
      spec: { ...current.spec, http: onlyOurs },
    });
    await optIn.remove(...own(vsRoute(ns, "b")));
    vs = await getVs(client, ns);
    assert.ok(vs, "an emptied user VirtualService is kept");
    assert.deepEqual(vs.spec?.http, []);
    await client.delete(VirtualServices, ns, VS);
  });

  await t.step(
    "a shell's hosts: its own VirtualService answers on them, and one on other hosts is not joined",
    async () => {
      const host = "x.shells.shells.example.com";
      const mine = vsRoute(ns, "x", { objectName: "cloudshell-x", virtualService: { hosts: [host] } });
      await routes.ensure(mine);
      const vs = await client.get<VirtualService>(VirtualServices, ns, "cloudshell-x");
      assert.deepEqual(vs.spec?.hosts, [host]);
      // Another shell naming it would be served on x's host, the same origin: refused, and nothing written.
      const joiner = vsRoute(ns, "y", {
        objectName: "cloudshell-x",
        virtualService: { hosts: ["y.shells.shells.example.com"] },
      });
      await assert.rejects(routes.ensure(joiner), (err) => {
        assert.ok(err instanceof RouteError);
        assert.equal(err.reason, "RouteHostConflict");
        assert.match(err.message, /answers on hosts \["x.shells.shells.example.com"\]/);
        return true;
      });
      const after = await client.get<VirtualService>(VirtualServices, ns, "cloudshell-x");
      assert.equal(after.metadata.resourceVersion, vs.metadata.resourceVersion);
      await routes.remove(...own(mine));
    },
  );

  await t.step("20 concurrent ensures from two managers on one VirtualService all land", async () => {
    const owners = Array.from({ length: 20 }, (_, i) => `vs-${i}`);
    const other = new RouteManager(client);
    await Promise.all(owners.map((o, i) => requeued(() => (i % 2 ? routes : other).ensure(vsRoute(ns, o)))));
    const got = prefixes(await getVs(client, ns))?.sort();
    assert.deepEqual(got, owners.map((o) => `/apis/v1alpha1/cloudshell/${o}`).sort());
  });
});
