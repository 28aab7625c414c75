/**
 * Informers and their caches: list+watch kept current, read through listers.
 * Depends only on the kube layer; knows nothing of queues or reconcilers.
 *
 * @module
 */
export * from "./backoff.ts";
export * from "./informer.ts";
export * from "./store.ts";
