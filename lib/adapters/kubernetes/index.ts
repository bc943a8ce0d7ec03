/**
 * The Kubernetes adapter and its building blocks.
 * @module
 */
export { kubernetesAdapter } from './adapter.js';
export type { KubernetesAdapter, KubernetesAdapterStats } from './adapter.js';
export type { KubernetesAdapterOptions } from './options.js';
export { KubernetesAdapterError, KubeClusterError, explainKubeFailure } from '../../kube/errors.js';
export type { KubernetesErrorCode, KubeClusterErrorCode } from '../../kube/errors.js';
export { ResourceWatcher } from '../../kube/watcher.js';
export type {
  KubeObjectLike,
  ObjectRef,
  ResourceWatcherOptions,
  ResourceWatcherStats,
} from '../../kube/watcher-options.js';
export { REFRESH_ANNOTATION } from './refresh-patch.js';
export type { RefreshRetryOptions, RefreshStats } from './refresher.js';
export type { BackoffOptions, Sleep } from '../../kube/backoff.js';
export type { ResourceType } from '../../kube/http.js';
