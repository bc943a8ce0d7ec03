/**
 * Whether a watcher's cache is in sync, since when not, and why: so a caller can refuse one too old.
 * @module
 */
import type { KubeClusterError } from './errors.js';

/** In sync while a watch is open (or a list just completed). */
export class SyncState {
  readonly #now: () => number;
  /** Since when no watch is open (ms, `now`); meaningful while not in sync. */
  #since: number;
  #inSync = false;
  /** Why the last list or watch failed, until a list completes or a watch opens. */
  failure: KubeClusterError | undefined;

  constructor(now: () => number) {
    this.#now = now;
    this.#since = now();
  }

  /** Out of sync from now on (the loop starts). */
  restart(): void {
    this.#since = this.#now();
  }

  /** Since when the cache has been out of sync, or undefined while it is in sync. */
  lostSince(): number | undefined {
    return this.#inSync ? undefined : this.#since;
  }

  outOfSyncMs(): number {
    return this.#inSync ? 0 : Math.max(0, this.#now() - this.#since);
  }

  markInSync(): void {
    this.#inSync = true;
    this.failure = undefined;
  }

  markOutOfSync(since = this.#now()): void {
    if (!this.#inSync) return;
    this.#inSync = false;
    this.#since = since;
  }
}
