/**
 * What the config watcher reports: the receivers to serve from the declared
 * ones and their derived tokens (one per project + name, none whose URL
 * another project could reach), and the ProjectConfigs' statuses.
 * @module
 */
import type { SecondFactor } from '../receiver/second-factor.js';
import type { AzureReceiverSpec, SecretProblem, WebhookReceiverDetails } from './resources.js';
import type { Derived } from './receiver-tokens.js';

/** A declared Azure receiver and what became of it. */
export interface ReceiverState {
  spec: AzureReceiverSpec;
  /** Set when served. */
  token?: string;
  /** During a rotation: the token of `data.previousSecret`, accepted too. */
  previousToken?: string;
  /** Set when served and the Secret asks for a second factor (digests only). */
  secondFactor?: SecondFactor;
  /** Set when not served; undefined with no token means "not known yet". */
  problem?: SecretProblem;
}

/** What the status writer needs of a ProjectConfig. */
export interface ProjectConfigState {
  namespace: string;
  name: string;
  /** Names of the Azure receivers its spec declares (ours to write). */
  azureNames: string[];
  /** `status.webhookReceivers` as last seen. */
  status: WebhookReceiverDetails[];
}

/** Everything known, handed to `onChange` after each batch of changes. */
export interface ConfigSnapshot {
  receivers: ReceiverState[];
  projectConfigs: ProjectConfigState[];
  /** Whether every initial list completed (Secrets included). */
  synced: boolean;
}

/** `status.webhookReceivers` as read. */
export function details(value: unknown): WebhookReceiverDetails[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null)
    .map((v) => {
      const entry: WebhookReceiverDetails = {};
      if (typeof v.name === 'string') entry.name = v.name;
      if (typeof v.path === 'string') entry.path = v.path;
      if (typeof v.url === 'string') entry.url = v.url;
      return entry;
    });
}

/** Identity of a declared receiver (with the Secret it reads). */
export function receiverKey(spec: AzureReceiverSpec): string {
  return JSON.stringify([spec.project, spec.name, spec.secretNamespace, spec.secretName]);
}

/** The state of each receiver; `onDuplicate` for a project + name declared again (first wins). */
export function receiverStates(
  specs: readonly AzureReceiverSpec[],
  derivedOf: (spec: AzureReceiverSpec) => Derived | undefined,
  onDuplicate: (spec: AzureReceiverSpec) => void,
): ReceiverState[] {
  // Two ProjectConfigs of one namespace may repeat a name.
  const seen = new Set<string>();
  const states: ReceiverState[] = [];
  for (const spec of specs) {
    const id = JSON.stringify([spec.project, spec.name]);
    if (seen.has(id)) onDuplicate(spec);
    else {
      seen.add(id);
      states.push({ spec, ...derivedOf(spec) });
    }
  }
  // Kargo hashes a plain concatenation, so ("ab", "c") and ("a", "bc") with one secret collide:
  // never let one project's URL reach another project's receiver (previous URLs included).
  const projectsByToken = new Map<string, Set<string>>();
  for (const s of states)
    for (const t of [s.token, s.previousToken])
      if (t) projectsByToken.set(t, (projectsByToken.get(t) ?? new Set()).add(s.spec.project));
  const ambiguous = (t: string | undefined): boolean =>
    t !== undefined && (projectsByToken.get(t)?.size ?? 0) > 1;
  for (const s of states) {
    if (ambiguous(s.token) || ambiguous(s.previousToken)) {
      delete s.token;
      delete s.previousToken;
      s.problem = 'ambiguous';
    }
  }
  return states;
}
