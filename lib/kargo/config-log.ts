/**
 * The config watcher's log lines, each written once per change of what it
 * says, never naming a secret or a token.
 * @module
 */
import { KubeHttpError } from '../kube/http.js';
import type { Logger } from '../types.js';
import { type ReceiverState, receiverKey } from './receiver-states.js';
import { type AzureReceiverSpec, problemFields, problemMessage } from './resources.js';
import { SECRET_LABEL_SELECTOR, secretKey } from './secret-feed.js';

/** Logs what the watcher sees, each change once. */
export class ConfigLog {
  readonly #logger: Logger;
  readonly #pollSeconds: number;
  /** Last line logged per key ('' once a receiver is served). */
  readonly #logged = new Map<string, string>();

  constructor(logger: Logger, pollMs: number) {
    this.#logger = logger;
    this.#pollSeconds = pollMs / 1000;
  }

  /** A ProjectConfig Kargo does not read; `problem` undefined: it is fine (again). */
  projectConfig(key: string, declaredBy: string, problem: string | undefined): void {
    if (problem === undefined) this.#logged.delete(key);
    else if (this.#logged.get(key) !== problem) {
      this.#logged.set(key, problem);
      this.#logger.warn({ config: declaredBy }, `${declaredBy} ignored: ${problem}`);
    }
  }

  /** A Secret that could not be read; `logEach`: a by-name read, which has no watch loop to log it. */
  unreadable(key: string, err: Error, logEach: boolean): void {
    const status = err instanceof KubeHttpError ? err.statusCode : undefined;
    const reason = err instanceof KubeHttpError ? err.reason : undefined;
    // Once per Secret until it is read again.
    if (logEach && this.#logged.get(`unreadable:${key}`) !== String(status)) {
      this.#logged.set(`unreadable:${key}`, String(status));
      if (status !== 403)
        this.#logger.warn(
          { secretRef: key, status, reason },
          `reading Secret ${key} failed; retrying every ${String(this.#pollSeconds)} s`,
        );
    }
    if (status === 403)
      this.#logger.warn(
        { secretRef: key, status },
        `reading Secret ${key} is forbidden: grant list and watch on secrets to this service account (see the RBAC of the Helm chart, charts/kargo-azure-receiver)`,
      );
  }

  /** A Secret was read: warns once per receiver when it lacks Kargo's label, and once more when labelled again. */
  read(key: string, specs: Iterable<AzureReceiverSpec>, unlabelled: boolean): void {
    this.#logged.delete(`unreadable:${key}`);
    for (const spec of specs) {
      if (secretKey(spec.secretNamespace, spec.secretName) !== key) continue;
      const lk = `unlabelled:${receiverKey(spec)}`;
      if (!unlabelled) {
        this.#logged.delete(lk);
        continue;
      }
      if (this.#logged.has(lk)) continue;
      this.#logged.set(lk, 'unlabelled');
      this.#logger.warn(
        {
          config: spec.declaredBy,
          project: spec.project,
          receiver: spec.name,
          secretRef: key,
          reason: 'secret-unlabelled',
        },
        `Azure receiver "${spec.name}" of ${spec.declaredBy}: Secret ${key} has no label ${SECRET_LABEL_SELECTOR}, so it is read by name every ${String(this.#pollSeconds)} s and a rotation takes up to that long; label it (as Kargo's docs do) for rotations to take effect at once`,
      );
    }
  }

  /** Forgets what was logged of receivers no longer declared. */
  prune(live: ReadonlySet<string>): void {
    for (const rk of this.#logged.keys()) {
      if (rk.startsWith('pc:') || rk.startsWith('unreadable:')) continue;
      if (!live.has(rk.replace(/^(duplicate|unlabelled):/, ''))) this.#logged.delete(rk);
    }
  }

  duplicate(spec: AzureReceiverSpec): void {
    const rk = `duplicate:${receiverKey(spec)}`;
    if (this.#logged.has(rk)) return;
    this.#logged.set(rk, 'duplicate');
    this.#logger.warn(
      { config: spec.declaredBy, project: spec.project, receiver: spec.name },
      `${spec.declaredBy}: Azure receiver "${spec.name}" is declared twice in project "${spec.project}"; ignored`,
    );
  }

  /** Each receiver served or not (an unreadable Secret is logged where it is read). */
  states(states: readonly ReceiverState[]): void {
    for (const s of states) {
      const rk = receiverKey(s.spec);
      const now = s.token ? '' : s.problem;
      if (now === undefined || this.#logged.get(rk) === now) continue;
      this.#logged.set(rk, now);
      if (now === '')
        this.#logger.info(
          {
            config: s.spec.declaredBy,
            project: s.spec.project,
            receiver: s.spec.name,
            secondFactor: s.secondFactor?.factors ?? [],
          },
          `Azure receiver "${s.spec.name}" of ${s.spec.declaredBy} served`,
        );
      else if (now !== 'secret-unreadable')
        this.#logger.warn(problemFields(s.spec, now), problemMessage(s.spec, now));
    }
  }
}
