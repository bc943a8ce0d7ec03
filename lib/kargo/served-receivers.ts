/**
 * The receivers served now: each token with its endpoint (the adapter scoped
 * to the receiver's project), rebuilt from every snapshot of the config.
 * @module
 */
import type { Endpoint } from '../receiver/authenticate.js';
import { TokenRegistry } from '../receiver/token.js';
import type { KargoAdapter, KargoReceiversConfig } from './options.js';
import type { ConfigSnapshot, ReceiverState } from './receiver-states.js';
import { type ReceiverInfo, compareReceivers, receiverInfo } from './urls.js';

/** Tokens → endpoints, and the served receivers (sorted by project then name), swapped in whole on each change. */
export function servedReceivers(
  adapter: KargoAdapter,
  config: Pick<KargoReceiversConfig, 'baseURL' | 'explainProjects'>,
) {
  const scopedByProject = new Map<string, ReturnType<KargoAdapter['scoped']>>();
  let registry = new TokenRegistry<Endpoint>();
  let served: ReceiverInfo[] = [];

  function endpointFor({ spec: { project, name }, secondFactor }: ReceiverState): Endpoint {
    let pair = project === '' ? adapter : scopedByProject.get(project);
    if (!pair) {
      pair = adapter.scoped([project]);
      scopedByProject.set(project, pair);
    }
    return {
      lookup: pair.lookup,
      refresh: pair.refresh,
      ...(pair.explainPush ? { explainPush: pair.explainPush } : {}),
      ...(config.explainProjects ? { explain: config.explainProjects.includes(project) } : {}),
      labels: { project, receiver: name },
      secondFactor,
    };
  }

  return {
    find: (token: string): Endpoint | undefined => registry.find(token),
    list: (): ReceiverInfo[] => served,
    clear(): void {
      registry = new TokenRegistry<Endpoint>();
      served = [];
    },
    update(snapshot: ConfigSnapshot): void {
      // Built aside and swapped in one assignment: a request sees the old set or the new one.
      const next = new TokenRegistry<Endpoint>();
      const infos: ReceiverInfo[] = [];
      const projects = new Set<string>();
      for (const state of snapshot.receivers) {
        if (!state.token) continue;
        const endpoint = endpointFor(state);
        next.set(state.token, endpoint);
        // During a rotation the URL still registered in Azure keeps working (data.previousSecret).
        if (state.previousToken) next.set(state.previousToken, endpoint);
        infos.push(receiverInfo(state.spec, state.token, config.baseURL));
        projects.add(state.spec.project);
      }
      for (const project of scopedByProject.keys())
        if (!projects.has(project)) scopedByProject.delete(project);
      registry = next;
      served = infos.sort(compareReceivers);
    },
  };
}
