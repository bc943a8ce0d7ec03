/**
 * How an adapter says which of its members are its own, so that it can be
 * spread into `azureReceiver`'s options (`{ token, ...adapter }`) beside the
 * {@link Adapter} contract: the router ignores the names it lists and still
 * refuses any other unknown option. The router knows no concrete adapter.
 * @module
 */
import type { Adapter } from './types.js';

/**
 * The key under which an adapter lists its own members (`close`, `stats`,
 * `lookups`, …): a spread copies it with them. `Symbol.for`, so that the
 * ESM and CommonJS builds of the package, or two copies of it, agree.
 */
export const ADAPTER_MEMBERS: unique symbol = Symbol.for('kargo-azure-receiver.adapterMembers');

/** The members of the {@link Adapter} contract the router reads. */
export const ADAPTER_CONTRACT_KEYS: readonly string[] = ['lookup', 'refresh', 'explainPush'];

/** Lists `adapter`'s non-contract string keys under {@link ADAPTER_MEMBERS}; returns it. */
export function withAdapterMembers<T extends Adapter>(adapter: T): T {
  const own = Object.keys(adapter).filter((key) => !ADAPTER_CONTRACT_KEYS.includes(key));
  return Object.assign(adapter, { [ADAPTER_MEMBERS]: Object.freeze(own) });
}

/** The adapter-owned names listed in spread options; none unless a list of strings. */
export function adapterMembersOf(options: object): readonly string[] {
  const listed: unknown = (options as Record<symbol, unknown>)[ADAPTER_MEMBERS];
  return Array.isArray(listed) && listed.every((name) => typeof name === 'string') ? listed : [];
}
