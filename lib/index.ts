/**
 * kargo-azure-receiver: receive Azure Container Registry and Azure DevOps
 * webhooks in Express and make Kargo refresh what they concern at once.
 * @module
 */
export { azureReceiver } from './receiver.js';
export { bodyParserErrors } from './body-parser-errors.js';
export { kargoToken, TokenRegistry } from './token.js';
export { memoryAdapter } from './adapters/memory.js';
export { ADAPTER_MEMBERS } from './adapter-members.js';
export {
  kubernetesAdapter,
  KubernetesAdapterError,
  KubeClusterError,
  REFRESH_ANNOTATION,
} from './adapters/kubernetes/index.js';
export {
  kargoReceivers,
  listReceiverURLs,
  receiverPath,
  DEFAULT_SYSTEM_NAMESPACE,
  PREVIOUS_SECRET_KEY,
} from './kargo/index.js';
export {
  normalizeGitURL,
  normalizeImageURL,
  normalizeChartURL,
  normalizePullRequestURL,
} from './urls.js';
export { WarehouseIndex, PromotionIndex } from './matching/index.js';
export { ReceiverError } from './errors.js';
export { DEFAULT_MAX_BODY_BYTES, DEFAULT_CONCURRENCY } from './options.js';

export type { AzureReceiverOptions, WebhookRecord } from './options.js';
export type { BasicCredentials } from './auth/second-factor.js';
export type {
  KargoAdapter,
  KargoReceiversOptions,
  KargoReceiversRouter,
  ListReceiverURLsOptions,
  ReceiverInfo,
} from './kargo/index.js';
export type { KargoTokenInput } from './token.js';
export type { MemoryAdapter, MemoryAdapterOptions, RefreshRecord } from './adapters/memory.js';
export type {
  KubernetesAdapter,
  KubernetesAdapterOptions,
  KubernetesAdapterStats,
  KubernetesErrorCode,
  KubeClusterErrorCode,
} from './adapters/kubernetes/index.js';
export type { KubeConfigLike } from './adapters/kubernetes/kube-config.js';
export type {
  Adapter,
  ArtifactKind,
  EventSource,
  ExplainPush,
  Logger,
  Lookup,
  NearMiss,
  PullRequestEvent,
  PushEvent,
  PushExplanation,
  ReceiverEvent,
  Refresh,
  RefreshTarget,
  WarehouseExplanation,
} from './types.js';
export type { AnsweredWarehouse, ExplanationFields } from './explanation.js';
