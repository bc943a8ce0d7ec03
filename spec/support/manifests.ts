/**
 * Kargo manifests for specs: Warehouses and Promotions as the API server or
 * a YAML file would hold them.
 * @module
 */
import type { KubeObject } from './fake-kube-api.js';

/** The image the adapter specs push by default. */
export const IMAGE = 'myacr.azurecr.io/app';

/**
 * A Warehouse with one subscription: an image repository URL given as a
 * string, or a whole subscription (`{ git: {…} }`, `{ image: {…} }`, `{ chart: {…} }`).
 */
export function warehouseManifest(
  namespace: string,
  name: string,
  subscription: string | Record<string, unknown> = IMAGE,
): KubeObject {
  return {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Warehouse',
    metadata: { namespace, name },
    spec: {
      subscriptions: [
        typeof subscription === 'string' ? { image: { repoURL: subscription } } : subscription,
      ],
    },
  };
}

/**
 * A Promotion with a git-open-pr step and a git-wait-for-pr step (alias
 * `wait`); `waitingOn` records the PR URL in the wait step's state.
 * `currentStep` defaults to 1: the wait step is running.
 */
export function promotionManifest(
  namespace: string,
  name: string,
  options: { phase?: string; waitingOn?: string; currentStep?: number } = {},
): KubeObject {
  return {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Promotion',
    metadata: { namespace, name },
    spec: {
      stage: 'prod',
      steps: [
        { uses: 'git-open-pr', as: 'open' },
        { uses: 'git-wait-for-pr', as: 'wait' },
      ],
    },
    status: {
      phase: options.phase ?? 'Running',
      currentStep: options.currentStep ?? 1,
      state: options.waitingOn ? { wait: { pr: { url: options.waitingOn } } } : {},
    },
  };
}
