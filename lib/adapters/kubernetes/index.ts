/**
 * The Kubernetes adapter and its building blocks.
 * @module
 */
export { kubernetesAdapter } from './adapter.js';
export type { KubernetesAdapter, KubernetesAdapterStats } from './adapter.js';
export type { KubernetesAdapterOptions } from './options.js';
export { KubernetesAdapterError, KubeClusterError, explainKubeFailure } from './errors.js';
export type { KubernetesErrorCode, KubeClusterErrorCode } from './errors.js';
export { ResourceWatcher } from './resource-watcher.js';
export type {
  KubeObjectLike,
  ObjectRef,
  ResourceWatcherOptions,
  ResourceWatcherStats,
} from './resource-watcher.js';
export { REFRESH_ANNOTATION } from './refresher.js';
export type { RefreshRetryOptions, RefreshStats } from './refresher.js';
export type { BackoffOptions, Sleep } from './backoff.js';
export type { ResourceType } from './kube-http.js';
