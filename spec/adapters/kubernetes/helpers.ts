/**
 * Shared pieces of the Kubernetes adapter specs: manifests, events, an
 * injectable sleep, and a poll that waits on the event loop, not on a clock.
 * @module
 */
import assert from 'node:assert/strict';
import type { Sleep } from '../../../lib/adapters/kubernetes/index.js';
import type { PullRequestEvent, PushEvent } from '../../../lib/types.js';
import { IMAGE } from '../../support/manifests.js';

export { IMAGE, promotionManifest, warehouseManifest } from '../../support/manifests.js';
export const OTHER_IMAGE = 'myacr.azurecr.io/other';
export const PR_URL = 'https://dev.azure.com/org/proj/_git/repo/pullrequest/42';

/** An ACR push of `image` (no qualifier: every subscriber matches). */
export function pushOf(image = IMAGE): PushEvent {
  return {
    type: 'push',
    source: 'acr',
    eventType: 'push',
    repoURLs: [image],
    kinds: ['image'],
    qualifiers: [],
  };
}

export function pullRequestOf(url = PR_URL): PullRequestEvent {
  return {
    type: 'pull-request',
    source: 'azure-devops',
    eventType: 'git.pullrequest.merged',
    prURL: url,
  };
}

/** A sleep that records each delay and resolves at once (or when released, if gated). */
export class FakeSleep {
  readonly delays: number[] = [];
  #gated = false;
  #waiting: (() => void)[] = [];

  readonly sleep: Sleep = (ms, signal) => {
    this.delays.push(ms);
    if (!this.#gated) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#waiting.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  };

  /** From now on, sleeps wait for `release()`. */
  gate(): void {
    this.#gated = true;
  }

  /** How many sleeps are waiting. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Ends every waiting sleep and stops gating. */
  release(): void {
    this.#gated = false;
    for (const resolve of this.#waiting.splice(0)) resolve();
  }
}

/** Polls `condition` on the event loop (then with tiny waits); fails after ~1 s. */
export async function until(condition: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++)
    await new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 200 && !condition(); i++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

/** The error a promise rejects with. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}
