/**
 * The product's feature gates, set with `--feature-gates=Name=true,...`.
 *
 * @module
 */

import { FeatureGates, type FeatureSpec } from "../runtime/feature_gates.ts";

/**
 * Kubeconfig for the terminal comes from the Secret named by `spec.secretRef.name` (on) or, the legacy
 * path, from the ConfigMap named by `spec.configmapName` (off).
 */
export const ALLOW_SECRET_STORE_KUBECONFIG = "AllowSecretStoreKubeconfig";

/** Declarations of every product gate. */
export const CLOUDSHELL_FEATURES: Readonly<Record<string, Readonly<FeatureSpec>>> = Object.freeze({
  [ALLOW_SECRET_STORE_KUBECONFIG]: Object.freeze({ default: true, stage: "Beta" }),
});

/** Creates a fresh registry of the product's gates, all at their defaults. */
export function newFeatureGates(): FeatureGates {
  return new FeatureGates(CLOUDSHELL_FEATURES);
}
