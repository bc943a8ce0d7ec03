/**
 * `kargo-azure-receiver/testing`: what tests of an app that mounts the
 * receiver need: realistic Azure webhook bodies and a recording adapter.
 * @module
 */
export { acrPing, acrPush, acrChartPush, DOCKER_MANIFEST_V2, OCI_MANIFEST } from './payloads.js';
export type { AcrPushOptions, Payload } from './payloads.js';
export {
  devopsGitPush,
  devopsPullRequestCreated,
  devopsPullRequestUpdated,
  devopsPullRequestMerged,
  ZERO_OBJECT_ID,
} from './azure-devops-payloads.js';
export type { DevOpsGitPushOptions, DevOpsPullRequestOptions } from './azure-devops-payloads.js';
export { recordingAdapter } from './recording-adapter.js';
export type { RecordingAdapter, RecordingAdapterOptions } from './recording-adapter.js';
