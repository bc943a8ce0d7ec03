/**
 * The receivers served now: each token with its endpoint (the adapter scoped
 * to the receiver's project), rebuilt from every snapshot of the config.
 * @module
 */
import type { Endpoint } from '../receiver/handler.js';
import type { SecondFactor } from '../receiver/second-factor.js';
import { TokenRegistry } from '../receiver/token.js';
import type { ExplainPush, Lookup, Refresh } from '../types.js';
import type { ConfigSnapshot } from './config-watcher.js';
import type { KargoAdapter, KargoReceiversConfig } from './options.js';
import { type ReceiverInfo, compareReceivers, receiverInfo } from './urls.js';

type Scoped = { lookup: Lookup; refresh: Refresh; explainPush?: ExplainPush };

/** Tokens → endpoints, and the list of served receivers, swapped in whole on each change. */
export class ServedReceivers {
  readonly #adapter: KargoAdapter;
  readonly #config: Pick<KargoReceiversConfig, 'baseURL' | 'explainProjects'>;
  readonly #scopedByProject = new Map<string, Scoped>();
  #registry = new TokenRegistry<Endpoint>();
  #served: ReceiverInfo[] = [];

  constructor(
    adapter: KargoAdapter,
    config: Pick<KargoReceiversConfig, 'baseURL' | 'explainProjects'>,
  ) {
    this.#adapter = adapter;
    this.#config = config;
  }

  find(token: string): Endpoint | undefined {
    return this.#registry.find(token);
  }

  /** Sorted by project then name. */
  list(): ReceiverInfo[] {
    return this.#served;
  }

  clear(): void {
    this.#registry = new TokenRegistry<Endpoint>();
    this.#served = [];
  }

  update(snapshot: ConfigSnapshot): void {
    // Built aside and swapped in one assignment: a request sees the old set or the new one.
    const next = new TokenRegistry<Endpoint>();
    const infos: ReceiverInfo[] = [];
    const projects = new Set<string>();
    for (const state of snapshot.receivers) {
      if (!state.token) continue;
      const endpoint = this.#endpoint(state.spec.project, state.spec.name, state.secondFactor);
      next.set(state.token, endpoint);
      // During a rotation the URL still registered in Azure keeps working (data.previousSecret).
      if (state.previousToken) next.set(state.previousToken, endpoint);
      infos.push(receiverInfo(state.spec, state.token, this.#config.baseURL));
      projects.add(state.spec.project);
    }
    for (const project of this.#scopedByProject.keys())
      if (!projects.has(project)) this.#scopedByProject.delete(project);
    this.#registry = next;
    this.#served = infos.sort(compareReceivers);
  }

  #endpoint(project: string, receiver: string, secondFactor: SecondFactor | undefined): Endpoint {
    const adapter = this.#adapter;
    let pair: Scoped | undefined =
      project === ''
        ? { lookup: adapter.lookup, refresh: adapter.refresh, explainPush: adapter.explainPush }
        : this.#scopedByProject.get(project);
    if (!pair) {
      pair = adapter.scoped([project]);
      this.#scopedByProject.set(project, pair);
    }
    const { explainProjects } = this.#config;
    return {
      lookup: pair.lookup,
      refresh: pair.refresh,
      ...(pair.explainPush ? { explainPush: pair.explainPush } : {}),
      ...(explainProjects ? { explain: explainProjects.includes(project) } : {}),
      labels: { project, receiver },
      secondFactor,
    };
  }
}
