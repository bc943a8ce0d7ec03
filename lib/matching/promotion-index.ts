/**
 * An in-memory index of running Promotions by the pull request they wait on.
 * @module
 */
import type { Logger, RefreshTarget } from '../types.js';
import { normalizePullRequestURL } from './urls.js';
import { compareKeys, keyOf, namespaceFilter, readIdentity, silentLogger } from './identity.js';
import type { MatchOptions } from './warehouse-index.js';
import { asRecord } from './subscriptions.js';

/** Options of {@link PromotionIndex}. */
export interface PromotionIndexOptions {
  /** Receives a warning for each ignored manifest. */
  logger?: Logger;
}

/** What the index keeps of a Promotion: never the manifest itself. */
interface PromotionEntry {
  namespace: string;
  name: string;
  prURLs: string[];
}

const WAIT_STEP = 'git-wait-for-pr';

/**
 * The normalized PR URLs a running Promotion waits on: `status.state[alias].pr.url` of each step up to
 * `status.currentStep` that `uses: git-wait-for-pr`, where Kargo's PR webhooks look (akuity/kargo
 * `internal/webhook/external/*_test.go`, the `RunningPromotionsByPullRequestURL` index).
 */
function waitedPullRequests(manifest: Record<string, unknown>): string[] {
  const spec = asRecord(manifest['spec']);
  const status = asRecord(manifest['status']);
  const steps = Array.isArray(spec?.['steps']) ? (spec['steps'] as unknown[]) : [];
  const current = status?.['currentStep'];
  const last =
    typeof current === 'number' && Number.isInteger(current) && current >= 0 ? current : 0;
  const state = asRecord(status?.['state']);
  const urls = new Set<string>();
  steps.slice(0, last + 1).forEach((raw) => {
    const step = asRecord(raw);
    const alias = step?.['as'];
    if (step?.['uses'] !== WAIT_STEP || typeof alias !== 'string' || alias === '') return;
    const url = asRecord(asRecord(state?.[alias])?.['pr'])?.['url'];
    if (typeof url === 'string' && url.trim() !== '') urls.add(normalizePullRequestURL(url));
  });
  return [...urls];
}

/** Running Promotions by normalized pull request URL. */
export class PromotionIndex {
  readonly #logger: Logger;
  readonly #promotions = new Map<string, PromotionEntry>();
  /** Normalized PR URL → keys of the Promotions waiting on it. */
  readonly #byURL = new Map<string, Set<string>>();

  /** Creates an empty index. */
  constructor(options: PromotionIndexOptions = {}) {
    this.#logger = options.logger ?? silentLogger;
  }

  /** Number of Promotions held. */
  get size(): number {
    return this.#promotions.size;
  }

  /** Keeps the Promotion (namespace, name, PR URLs) when `Running` and waiting on a PR; otherwise removes it. Never throws. */
  upsert(manifest: unknown): void {
    const id = readIdentity(manifest, 'Promotion', this.#logger);
    if (id === undefined) return;
    const { namespace, name } = id;
    this.delete(namespace, name);
    const object = asRecord(manifest) ?? {};
    if (asRecord(object['status'])?.['phase'] !== 'Running') return;
    const prURLs = waitedPullRequests(object);
    if (prURLs.length === 0) return;
    const key = keyOf(namespace, name);
    this.#promotions.set(key, { namespace, name, prURLs });
    for (const url of prURLs) {
      let keys = this.#byURL.get(url);
      if (keys === undefined) {
        keys = new Set();
        this.#byURL.set(url, keys);
      }
      keys.add(key);
    }
  }

  /** Removes a Promotion; nothing happens when it is not held. */
  delete(namespace: string, name: string): void {
    const key = keyOf(namespace, name);
    const entry = this.#promotions.get(key);
    if (entry === undefined) return;
    this.#promotions.delete(key);
    for (const url of entry.prURLs) {
      const keys = this.#byURL.get(url);
      keys?.delete(key);
      if (keys?.size === 0) this.#byURL.delete(url);
    }
  }

  /** Removes every Promotion. */
  clear(): void {
    this.#promotions.clear();
    this.#byURL.clear();
  }

  /** Running Promotions waiting on the pull request `prURL` (normalized again here, harmlessly), sorted by namespace then name. */
  match(prURL: string, options: MatchOptions = {}): RefreshTarget[] {
    const inScope = namespaceFilter(options.namespaces);
    const result: PromotionEntry[] = [];
    for (const key of this.#byURL.get(normalizePullRequestURL(prURL)) ?? []) {
      const entry = this.#promotions.get(key);
      if (entry !== undefined && inScope(entry.namespace)) result.push(entry);
    }
    return result
      .sort(compareKeys)
      .map(({ namespace, name }) => ({ kind: 'Promotion', namespace, name }));
  }
}
