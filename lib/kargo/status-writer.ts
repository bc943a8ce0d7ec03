/**
 * Opt-in writing of `status.webhookReceivers` on ProjectConfigs, for clusters without Kargo's controller (which
 * writes the same paths). Only our entries are replaced; others are kept. A merge patch replaces arrays wholesale
 * (https://www.rfc-editor.org/rfc/rfc7386), so the array is computed from a fresh read and sent with its
 * resourceVersion: a concurrent writer gets us 409 Conflict, and we read again.
 * @module
 */
import {
  ApiException,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig as ClientNodeKubeConfig,
} from '@kubernetes/client-node';
import { deadlineOptions } from '../kube/request-signal.js';
import type { ClientKubeConfig as KubeConfig } from '../kube/config.js';
import type { Logger } from '../types.js';
import type { ConfigSnapshot, ProjectConfigState } from './receiver-states.js';
import { PROJECT_CONFIGS, type WebhookReceiverDetails } from './resources.js';
import { receiverDetails } from './urls.js';

/** Options of {@link StatusWriter}. */
export interface StatusWriterOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  baseURL: string | undefined;
  /** Attempts per write when the API keeps answering 409. Default 5. */
  maxConflicts?: number;
  /** Deadline of each GET and PATCH: client-node sets none. Default 30 000 ms. */
  requestTimeoutMs?: number;
}

/** Counters of the status writer. */
export interface StatusWriterStats {
  /** Successful PATCHes. */
  writes: number;
  /** 409 answers that made us read again. */
  conflicts: number;
  /** Writes given up on (logged). */
  failures: number;
}

function same(a: readonly WebhookReceiverDetails[], b: readonly WebhookReceiverDetails[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => x.name === b[i]?.name && x.path === b[i]?.path && x.url === b[i]?.url)
  );
}

/** Merges: foreign entries stay; ours are replaced in place, removed when no longer served, appended in spec order when new. */
export function mergeEntries(
  current: readonly WebhookReceiverDetails[],
  ours: ReadonlySet<string>,
  desired: readonly WebhookReceiverDetails[],
): WebhookReceiverDetails[] {
  const byName = new Map(desired.map((d) => [d.name ?? '', d]));
  const placed = new Set<string>();
  const merged: WebhookReceiverDetails[] = [];
  for (const entry of current) {
    const name = entry.name ?? '';
    if (!ours.has(name)) merged.push(entry);
    else {
      const replacement = byName.get(name);
      if (replacement && !placed.has(name)) {
        merged.push(replacement);
        placed.add(name);
      }
    }
  }
  for (const d of desired) if (!placed.has(d.name ?? '')) merged.push(d);
  return merged;
}

function entries(value: unknown): WebhookReceiverDetails[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v): v is WebhookReceiverDetails => typeof v === 'object' && v !== null);
}

/** Keeps `status.webhookReceivers` of every ProjectConfig in line with the receivers served. */
export class StatusWriter {
  readonly #api: CustomObjectsApi;
  readonly #options: StatusWriterOptions;
  readonly #written = new Map<string, Set<string>>();
  readonly #running = new Map<string, Promise<void>>();
  readonly #dirty = new Set<string>();
  readonly #stats: StatusWriterStats = { writes: 0, conflicts: 0, failures: 0 };
  #snapshot: ConfigSnapshot | undefined;
  #closed = false;
  /** Aborted by close(): requests in flight end at once. */
  readonly #closing = new AbortController();

  constructor(options: StatusWriterOptions) {
    this.#options = options;
    this.#api = (options.kubeConfig as ClientNodeKubeConfig).makeApiClient(CustomObjectsApi);
  }

  /** Counters. */
  stats(): StatusWriterStats {
    return { ...this.#stats };
  }

  /** Schedules a write for each ProjectConfig whose status differs from what we serve. */
  sync(snapshot: ConfigSnapshot): void {
    if (this.#closed || !snapshot.synced) return;
    this.#snapshot = snapshot;
    for (const pc of snapshot.projectConfigs) {
      const { ours, desired } = this.#plan(pc);
      if (!same(pc.status, mergeEntries(pc.status, ours, desired))) this.#schedule(pc);
    }
  }

  /** Stops writing and aborts requests in flight, returning at once; whoever serves next rewrites a differing status. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closing.abort();
    while (this.#running.size > 0) await Promise.all([...this.#running.values()]);
  }

  /** Runs one client-node call with a deadline, aborted by close(). */
  async #request<T>(
    call: (options: ReturnType<typeof deadlineOptions>['options']) => Promise<T>,
  ): Promise<T> {
    const { options, dispose } = deadlineOptions(this.#options.requestTimeoutMs ?? 30_000, [
      this.#closing.signal,
    ]);
    try {
      return await call(options);
    } finally {
      dispose();
    }
  }

  #key(pc: Pick<ProjectConfigState, 'namespace' | 'name'>): string {
    return `${pc.namespace}/${pc.name}`;
  }

  #plan(pc: Pick<ProjectConfigState, 'namespace' | 'name'>): {
    ours: Set<string>;
    desired: WebhookReceiverDetails[];
  } {
    const current = this.#snapshot?.projectConfigs.find(
      (p) => p.namespace === pc.namespace && p.name === pc.name,
    );
    const ours = new Set([
      ...(current?.azureNames ?? []),
      ...(this.#written.get(this.#key(pc)) ?? []),
    ]);
    const desired: WebhookReceiverDetails[] = [];
    for (const name of current?.azureNames ?? []) {
      const served = this.#snapshot?.receivers.find(
        (r) => r.spec.project === pc.namespace && r.spec.name === name && r.token,
      );
      if (served?.token)
        desired.push({ name, ...receiverDetails(this.#options.baseURL, served.token) });
    }
    return { ours, desired };
  }

  #schedule(pc: ProjectConfigState): void {
    const key = this.#key(pc);
    if (this.#running.has(key)) {
      this.#dirty.add(key);
      return;
    }
    const run = async (): Promise<void> => {
      do {
        this.#dirty.delete(key);
        await this.#write(pc.namespace, pc.name);
      } while (this.#dirty.has(key) && !this.#closed);
    };
    this.#running.set(
      key,
      run().finally(() => this.#running.delete(key)),
    );
  }

  async #write(namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    const target = {
      group: PROJECT_CONFIGS.group,
      version: PROJECT_CONFIGS.version,
      plural: PROJECT_CONFIGS.plural,
      namespace,
      name,
    };
    const maxConflicts = this.#options.maxConflicts ?? 5;
    for (let attempt = 1; !this.#closed; attempt++) {
      try {
        const object = (await this.#request((options) =>
          this.#api.getNamespacedCustomObjectStatus(target, options),
        )) as {
          metadata?: { resourceVersion?: string };
          status?: { webhookReceivers?: unknown };
        };
        const current = entries(object.status?.webhookReceivers);
        const { ours, desired } = this.#plan({ namespace, name });
        const merged = mergeEntries(current, ours, desired);
        if (same(current, merged)) return;
        await this.#request((options) =>
          this.#api.patchNamespacedCustomObjectStatus(
            {
              ...target,
              body: {
                // Optimistic concurrency: 409 if someone wrote since our read.
                metadata: { resourceVersion: object.metadata?.resourceVersion },
                status: { webhookReceivers: merged.length > 0 ? merged : null },
              },
            },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch, options),
          ),
        );
        this.#written.set(key, new Set(desired.map((d) => d.name ?? '')));
        this.#stats.writes += 1;
        this.#options.logger.info(
          { projectConfig: key, receivers: desired.map((d) => d.name) },
          'wrote status.webhookReceivers',
        );
        return;
      } catch (err) {
        const code = err instanceof ApiException ? err.code : undefined;
        if (code === 409 && attempt < maxConflicts) {
          this.#stats.conflicts += 1;
          continue;
        }
        if (code === 404) return; // deleted meanwhile: nothing to write
        if (this.#closed) {
          this.#options.logger.debug({ projectConfig: key }, 'status write abandoned on close');
          return;
        }
        this.#stats.failures += 1;
        // Never log the exception's message: client-node puts response bodies and headers in it.
        this.#options.logger.warn(
          code === undefined
            ? {
                projectConfig: key,
                errorName: err instanceof Error ? err.name : typeof err,
                attempt,
              }
            : { projectConfig: key, status: code, attempt },
          code === 403
            ? 'writing status.webhookReceivers failed: missing RBAC permission patch on projectconfigs/status'
            : 'writing status.webhookReceivers failed; it is written again on the next change',
        );
        return;
      }
    }
  }
}
