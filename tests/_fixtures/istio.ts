/**
 * Istio's VirtualService type for tests, without Istio.
 */
import { VirtualServices } from "../../controller/cloudshell/routing/routes.ts";
import { type KubeClient, Resources } from "../../controller/kube/mod.ts";
import { eventually } from "../harness/cluster.ts";

/**
 * A minimal stand-in for Istio's VirtualService CRD (the real one's schema
 * preserves unknown fields too). It is installed into the shared cluster and
 * never removed, since other test files running at the same time may use it;
 * applying it again is a no-op.
 */
const VIRTUAL_SERVICE_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: {
    name: "virtualservices.networking.istio.io",
    labels: { "app.kubernetes.io/part-of": "cloudshell-e2e-tests" },
  },
  spec: {
    group: "networking.istio.io",
    names: {
      kind: "VirtualService",
      listKind: "VirtualServiceList",
      plural: "virtualservices",
      singular: "virtualservice",
    },
    scope: "Namespaced",
    versions: [{
      name: "v1beta1",
      served: true,
      storage: true,
      schema: {
        openAPIV3Schema: {
          type: "object",
          properties: {
            spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
            status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
          },
        },
      },
    }],
  },
};

/** Installs the VirtualService CRD (idempotently) and waits until VirtualServices are served. */
export async function installVirtualServiceCrd(client: KubeClient): Promise<void> {
  await client.patch(
    Resources.customResourceDefinitions,
    undefined,
    VIRTUAL_SERVICE_CRD.metadata.name,
    VIRTUAL_SERVICE_CRD,
    "apply",
    { force: true },
  );
  // Established is not enough: the group must show in discovery before a list succeeds.
  await eventually("VirtualServices to be served", async () => {
    await client.list(VirtualServices, { namespace: "default", limit: 1 });
    return true;
  });
}
