/**
 * The bottom layer of the runtime: credentials, a typed REST client, API
 * errors, resource descriptors and object keys. It knows nothing of caches,
 * queues or CloudShells.
 *
 * @module
 */
export * from "./client.ts";
export * from "./config.ts";
export * from "./credentials.ts";
export * from "./errors.ts";
export * from "./kubeconfig.ts";
export * from "./object_key.ts";
export * from "./rate_limit.ts";
export * from "./resources.ts";
export * from "./retry.ts";
export * from "./types.ts";
