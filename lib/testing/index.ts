/**
 * `kargo-azure-receiver/testing`: what tests of an app that mounts the
 * receiver need: realistic Azure webhook bodies and a recording adapter.
 * @module
 */
export {
  acrPing,
  acrPush,
  acrChartPush,
  devopsGitPush,
  devopsPullRequestCreated,
  devopsPullRequestUpdated,
  devopsPullRequestMerged,
  DOCKER_MANIFEST_V2,
  OCI_MANIFEST,
  ZERO_OBJECT_ID,
} from './payloads.js';
export type {
  AcrPushOptions,
  DevOpsGitPushOptions,
  DevOpsPullRequestOptions,
  Payload,
} from './payloads.js';
export { recordingAdapter } from './recording-adapter.js';
export type { RecordingAdapter, RecordingAdapterOptions } from './recording-adapter.js';
