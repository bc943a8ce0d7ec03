/**
 * Kargo-configured receivers: ProjectConfig + Secret → Kargo's Azure URLs.
 * @module
 */
export { kargoReceivers } from './receivers.js';
export type { KargoReceiversRouter } from './receivers.js';
export { listReceiverURLs, receiverPath, receiverDetails } from './urls.js';
export type { ListReceiverURLsOptions, ReceiverInfo } from './urls.js';
export type { KargoAdapter, KargoReceiversOptions } from './options.js';
export { DEFAULT_SYSTEM_NAMESPACE, PREVIOUS_SECRET_KEY } from './resources.js';
