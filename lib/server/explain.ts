/**
 * `explain PAYLOAD.json`: what a webhook would refresh and why, without sending one, by the
 * delivery's own code, against the cluster (list only) or a manifests file.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { loadKubeConfig } from '../kube/config.js';
import { kubernetesAdapter, type KubernetesAdapter } from '../adapters/kubernetes/index.js';
import { memoryAdapter } from '../adapters/memory.js';
import { pullRequestHint, pushHint, pushSubject } from '../receiver/explanation.js';
import { classify } from '../sources/index.js';
import { isObject } from '../sources/result.js';
import type { ExplainPush, Logger, Lookup, ReceiverEvent } from '../types.js';
import { loadManifests } from './demo.js';
import { CommandError } from './errors.js';
import { createLogger } from './logging.js';
import type { ExplainCommandOptions } from './explain-command.js';
import { formatTable } from './table.js';

/** Where the command reads and writes (standard streams; replaced in specs). */
export interface ExplainIO {
  stdin: AsyncIterable<Buffer | string>;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** One row of the report: a Warehouse (or Promotion) and its verdict. */
export interface ExplainRow {
  kind: 'Warehouse' | 'Promotion';
  namespace: string;
  name: string;
  /** The subscription (Warehouse) or pull request (Promotion) the verdict is about. */
  subscription: string;
  verdict: 'refresh' | 'skip' | 'near miss';
  reason: string;
}

/** What `explain --json` prints. */
export interface ExplainReport {
  source: string;
  eventType: string;
  /** What the payload asks: `refresh`, or `ping`/`ignore` with `msg` saying why nothing would happen. */
  action: 'refresh' | 'ping' | 'ignore';
  /** The answer's `msg`, as the receiver would send it. */
  msg: string;
  /** The answer's `hint`, when nothing would be refreshed. */
  hint?: string;
  /** The pushed repository (`image myregistry.azurecr.io/app`) or pull request URL. */
  subject?: string;
  qualifiers?: string[];
  defaultBranch?: string;
  rows: ExplainRow[];
}

const STANDARD_IO: ExplainIO = {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
};

async function readPayload(payload: string, io: ExplainIO): Promise<string> {
  if (payload !== '-') {
    try {
      return await readFile(payload, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new CommandError(`cannot read ${payload} (${code})`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function parsePayload(text: string, name: string): Record<string, unknown> {
  let body: unknown;
  try {
    // A UTF-8 byte order mark is tolerated, as the receiver does.
    body = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw new CommandError(`${name} is not JSON`);
  }
  if (!isObject(body)) throw new CommandError(`${name} is not a JSON object`);
  return body;
}

/** The adapter functions the command needs, and how to let go of them. */
interface Source {
  lookup: Lookup;
  explainPush: ExplainPush;
  close(): Promise<void>;
}

const KINDS = new Set(['Warehouse', 'Promotion']);

async function manifestSource(file: string, namespaces: string[], logger: Logger): Promise<Source> {
  let manifests: unknown[];
  try {
    manifests = await loadManifests(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CommandError(
      code
        ? `cannot read ${file} (${code})`
        : `${file} is not valid YAML: ${(err as Error).message}`,
    );
  }
  const wanted = manifests.filter((m) => {
    if (!isObject(m) || typeof m.kind !== 'string' || !KINDS.has(m.kind)) return false;
    const namespace = isObject(m.metadata) ? m.metadata.namespace : undefined;
    return namespaces.length === 0 || namespaces.includes(namespace as string);
  });
  const adapter = memoryAdapter({ warehouses: wanted, logger });
  return { lookup: adapter.lookup, explainPush: adapter.explainPush, close: async () => {} };
}

/** How long `explain` waits for the cluster's Warehouses before giving up with the cause. */
const CLUSTER_TIMEOUT_MS = 5000;

const RETRY_WARNINGS = new Set([
  'Kubernetes watch failed, retrying',
  'lookup before the Kubernetes cache synced',
]);

function withoutRetryWarnings(logger: Logger): Logger {
  return {
    debug: (obj, msg) => logger.debug(obj, msg),
    info: (obj, msg) => logger.info(obj, msg),
    warn: (obj, msg) => {
      if (!RETRY_WARNINGS.has(msg ?? '')) logger.warn(obj, msg);
    },
    error: (obj, msg) => logger.error(obj, msg),
  };
}

function clusterSource(
  kubeconfig: string | undefined,
  namespaces: string[],
  logger: Logger,
): Source {
  // No kubeconfig, a missing or broken one: one line naming it, exit 1 (KubeClusterError).
  const kubeConfig = loadKubeConfig(kubeconfig);
  // List (and watch until closed) only: `refresh` is never called, so nothing is patched.
  const adapter: KubernetesAdapter = kubernetesAdapter({
    kubeConfig,
    // The cause of a cluster that does not answer is the command's one error line, not a warning per retry.
    logger: withoutRetryWarnings(logger),
    syncTimeoutMs: CLUSTER_TIMEOUT_MS,
    ...(namespaces.length > 0 ? { namespace: namespaces } : {}),
  });
  return { lookup: adapter.lookup, explainPush: adapter.explainPush, close: () => adapter.close() };
}

/** A Warehouse's row: its subscription, verdict and reason. */
function warehouseRow(
  w: { namespace: string; name: string; subscription: string },
  verdict: ExplainRow['verdict'],
  reason: string,
): ExplainRow {
  return {
    kind: 'Warehouse',
    namespace: w.namespace,
    name: w.name,
    subscription: w.subscription,
    verdict,
    reason,
  };
}

/** Runs the classification and matching of a webhook on `body`, against `source`. */
export async function explainPayload(
  body: Record<string, unknown>,
  name: string,
  open: () => Promise<Source>,
): Promise<ExplainReport> {
  const classification = classify(body);
  if (classification === undefined) {
    throw new CommandError(
      `${name} is neither an Azure Container Registry nor an Azure DevOps event`,
    );
  }
  const { source, eventType } = classification;
  switch (classification.action) {
    case 'invalid':
      throw new CommandError(classification.reason);
    case 'ping':
      return { source, eventType, action: 'ping', msg: 'a ping: nothing to refresh', rows: [] };
    case 'ignore':
      return { source, eventType, action: 'ignore', msg: classification.reason, rows: [] };
    case 'refresh':
      break;
  }
  const event: ReceiverEvent = classification.event;
  const adapter = await open();
  try {
    const targets = await adapter.lookup(event).catch((err: unknown) => {
      // The root cause in one line ("cannot reach …: connection refused"), not the symptom.
      const cause = err instanceof Error ? err.cause : undefined;
      throw cause instanceof Error && cause.name === 'KubeClusterError' ? cause : err;
    });
    if (event.type === 'pull-request') {
      return {
        source,
        eventType,
        action: 'refresh',
        msg: `would refresh ${targets.length} promotion(s)`,
        ...(targets.length === 0 ? { hint: pullRequestHint(event.prURL) } : {}),
        subject: event.prURL,
        rows: targets.map((t) => ({
          kind: 'Promotion',
          namespace: t.namespace,
          name: t.name,
          subscription: event.prURL,
          verdict: 'refresh',
          reason: 'a running Promotion waits on this pull request',
        })),
      };
    }
    const explanation = await adapter.explainPush(event);
    return {
      source,
      eventType,
      action: 'refresh',
      msg: `would refresh ${targets.length} warehouse(s)`,
      ...(targets.length === 0 ? { hint: pushHint(event, explanation) } : {}),
      subject: pushSubject(event),
      qualifiers: event.qualifiers,
      ...(event.defaultBranch ? { defaultBranch: event.defaultBranch } : {}),
      rows: [
        ...explanation.warehouses.map((w) =>
          warehouseRow(w, w.refreshed ? 'refresh' : 'skip', w.reason),
        ),
        ...explanation.nearMisses.map((m) => warehouseRow(m, 'near miss', m.difference)),
      ],
    };
  } finally {
    await adapter.close();
  }
}

/** The report as a table, then the answer's `msg` and `hint`. */
export function formatReport(report: ExplainReport): string {
  const lines = [`${report.source} ${report.eventType}: ${report.msg}`];
  if (report.subject !== undefined) {
    const what = report.qualifiers?.length ? ` (${report.qualifiers.join(', ')})` : '';
    const branch = report.defaultBranch ? `, default branch ${report.defaultBranch}` : '';
    lines.push(`pushed: ${report.subject}${what}${branch}`);
  }
  if (report.rows.length > 0) {
    lines.push(
      '',
      formatTable([
        [
          report.rows[0]?.kind === 'Promotion' ? 'PROMOTION' : 'WAREHOUSE',
          'SUBSCRIPTION',
          'VERDICT',
          'REASON',
        ],
        ...report.rows.map((r) => [
          `${r.namespace}/${r.name}`,
          r.subscription,
          r.verdict,
          r.reason,
        ]),
      ]),
    );
  }
  if (report.hint !== undefined) lines.push('', `hint: ${report.hint}`);
  return `${lines.join('\n')}\n`;
}

/** The `explain` command. */
export async function explain(
  options: ExplainCommandOptions,
  io: ExplainIO = STANDARD_IO,
): Promise<void> {
  const name = options.payload === '-' ? 'standard input' : options.payload;
  const body = parsePayload(await readPayload(options.payload, io), name);
  // Warnings (broken subscriptions, an unreachable cluster) go to stderr, so stdout stays the report.
  const logger = createLogger('warn', { write: (line: string) => io.stderr.write(line) });
  const report = await explainPayload(body, name, async () =>
    options.manifests !== undefined
      ? manifestSource(options.manifests, options.namespaces, logger)
      : clusterSource(options.kubeconfig, options.namespaces, logger),
  );
  io.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
}
