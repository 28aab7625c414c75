/**
 * `kubectl explain` explains every field of a CloudShell: the API server accepts the CRD's descriptions and
 * publishes each of them in its OpenAPI v3 document, which is what kubectl explain reads.
 */
import assert from "node:assert/strict";
import { eventually, testCluster } from "../harness/cluster.ts";
import { installCrd } from "./_operator.ts";
import { kubectl } from "./_support.ts";

interface OpenApiNode {
  description?: string;
  properties?: Record<string, OpenApiNode>;
  items?: OpenApiNode;
  additionalProperties?: OpenApiNode | boolean;
  allOf?: OpenApiNode[];
  $ref?: string;
}

/** Paths of published schema nodes without a description (a `$ref`, such as ObjectMeta, is described where it points). */
function undescribed(node: OpenApiNode, path: string): string[] {
  const missing = node.description?.trim() || node.$ref || node.allOf ? [] : [path];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    missing.push(...undescribed(child, `${path}.${name}`));
  }
  if (node.items) missing.push(...undescribed(node.items, `${path}[]`));
  if (typeof node.additionalProperties === "object") {
    missing.push(...undescribed(node.additionalProperties, `${path}{}`));
  }
  return missing;
}

Deno.test("kubectl explain describes every CloudShell field, including those CloudTTY described", async () => {
  await using cluster = await testCluster();
  await installCrd(cluster.client);

  // The API server publishes a CRD's OpenAPI some time after the CRD is Established, and republishes it
  // after an update: wait for a document in which the CloudShell schema is described.
  let missing: string[] = [];
  await eventually(
    "the CloudShell schema to be published with its descriptions",
    async () => {
      const doc = await kubectl(cluster.kubeconfigPath, [
        "get",
        "--raw",
        "/openapi/v3/apis/cloudshell.cloudtty.io/v1alpha1",
      ]);
      if (doc.code !== 0) throw new Error(doc.stderr);
      const schemas = (JSON.parse(doc.stdout) as { components: { schemas: Record<string, OpenApiNode> } })
        .components.schemas;
      const cloudShell = Object.entries(schemas).find(([name]) => name.endsWith(".v1alpha1.CloudShell"))?.[1];
      if (!cloudShell) throw new Error(`no CloudShell schema among ${Object.keys(schemas).join(", ")}`);
      missing = undescribed(cloudShell, "cloudshell");
      return missing.length === 0;
    },
    60_000,
    500,
  ).catch((err) => {
    throw new Error(`${err.message}; undescribed: ${missing.join(", ")}`);
  });

  for (
    const field of [
      "spec.pathPrefix",
      "spec.ingressConfig.ingressClassName",
      "spec.virtualServiceConfig.gateway",
    ]
  ) {
    const explained = await kubectl(cluster.kubeconfigPath, ["explain", `cloudshell.${field}`]);
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(
      explained.stdout,
      /DESCRIPTION:\n\s+\S/,
      `kubectl explain cloudshell.${field}:\n${explained.stdout}`,
    );
  }
});
