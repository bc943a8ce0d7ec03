/**
 * The command line: flags and environment variables → a checked
 * {@link ServerConfig}, parsed by commander (each option has a `KAR_*`
 * environment variable; a flag wins over its variable).
 * @module
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  type BasicCredentials,
  SecondFactorError,
  parseBasicAuthLines,
  parseHeaderLines,
} from '../auth/second-factor.js';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_BODY_BYTES,
  MIN_TOKEN_LENGTH,
} from '../options.js';
import { KUBECONFIG_SEARCH_ORDER } from '../adapters/kubernetes/search-order.js';
import { kargoToken } from '../token.js';
import type { ExplainCommandOptions } from './explain-command.js';

import { LOG_LEVELS, type LogLevel } from './logging.js';

/** Where Kargo keeps the Secrets of cluster-level receivers. */
export const DEFAULT_SYSTEM_NAMESPACE = 'kargo-system-resources';
/** Port of `--metrics` without a value. */
export const DEFAULT_METRICS_PORT = 9090;
/** Main port. */
export const DEFAULT_PORT = 8080;
/**
 * `--shutdown-timeout`: the webhook deadline, so that by default a webhook
 * that arrived before SIGTERM always gets its own answer (its deadline ends
 * first); only webhooks arriving later on kept-alive connections can be
 * answered 503 when it is up. the Helm chart's grace period (charts/kargo-azure-receiver) is sized
 * on it (see spec/server/shutdown.spec.ts).
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = DEFAULT_DEADLINE_MS / 1000;

/** Everything `startServer` runs on, defaults filled in. */
export interface ServerConfig {
  /** Main port (webhooks, /healthz, /readyz); 0 picks a free one. */
  port: number;
  /** Interface to listen on; undefined: every interface. */
  host: string | undefined;
  /** Mount point of the receivers: they answer at `<basePath>/azure/<token>`. Always starts with `/`, never ends with one (except `/`). */
  basePath: string;
  /** Public URL of this server as Azure reaches it, for `status.webhookReceivers[].url` and `urls`. */
  baseURL: string | undefined;
  /** Namespace of the Secrets of cluster-level receivers. */
  systemNamespace: string;
  /** Largest accepted webhook body. */
  maxBodyBytes: number;
  /** A webhook is answered within this time (503 past it, which Azure retries). */
  deadlineMs: number;
  /** Refreshes of one webhook in flight at once. */
  refreshConcurrency: number;
  /** pino level. */
  logLevel: LogLevel;
  /** Metrics port; undefined: no metrics server; 0 picks a free one. */
  metricsPort: number | undefined;
  /** PEM files: both set → HTTPS. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** Write `status.webhookReceivers` of ProjectConfigs (ProjectConfig mode only). */
  writeStatus: boolean;
  /** Single-receiver mode: accepted URL tokens (given, or derived from secret/project/receiver). Undefined: ProjectConfig mode. */
  tokens: string[] | undefined;
  /** Single-receiver mode: accepted basic authentication credentials (a second factor). */
  basicAuth: BasicCredentials[] | undefined;
  /** Single-receiver mode: required headers, lower-case name → accepted values (a second factor). */
  headers: Record<string, string[]> | undefined;
  /**
   * Namespaces to watch; empty: all. Single-receiver mode: whose Warehouses are
   * refreshed. ProjectConfig mode: the projects served (so RBAC can be Roles).
   */
  namespaces: string[];
  /** A kubeconfig file; undefined: client-node's default ({@link KUBECONFIG_SEARCH_ORDER}). */
  kubeconfig: string | undefined;
  /**
   * On SIGTERM, how long in-flight webhooks may take to finish; those still
   * running then are answered 503 (Azure retries), never cut.
   */
  shutdownTimeoutMs: number;
  /** Node's `server.headersTimeout`: time to receive the request headers. */
  headersTimeoutMs: number;
  /** Node's `server.requestTimeout`: time to receive the whole request. */
  requestTimeoutMs: number;
  /**
   * Node's `connectionsCheckingInterval`: how often the two timeouts above are
   * checked. Node's default, 30 s, lets a 10 s cut come anywhere up to 40 s.
   */
  connectionsCheckingIntervalMs: number;
  /**
   * Node's `server.keepAliveTimeout`: idle time of a kept-alive connection.
   * Longer than the idle timeout of the proxies in front (ingress-nginx and
   * cloud load balancers: 60 s), so that a proxy never reuses a connection
   * the server is closing (a 502 for Azure).
   */
  keepAliveTimeoutMs: number;
  /**
   * List the subscribed Warehouses, and why each was (not) refreshed, in
   * push answers: `true` for every receiver, a list for the ProjectConfig
   * receivers of these projects (single-receiver mode: any list turns it on).
   */
  explain: boolean | string[];
}

/** A usage error: one line on stderr, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function integer(min: number, max: number, what: string) {
  return (value: string): number => {
    const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected ${what}, an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

/** A TCP port. */
export const parsePort = integer(0, 65535, 'a port');
const parseBytes = integer(1, 64 * 1024 * 1024, 'a size in bytes');
const parseSeconds = integer(1, 3600, 'a number of seconds');
const parseDeadline = integer(1000, 600_000, 'a time in milliseconds');
const parseConcurrency = integer(1, 1024, 'a number of refreshes');

/** `--namespace a,b --namespace c` → [a, b, c]. */
function collectList(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return [...(previous ?? []), ...items];
}

function parseBasePath(value: string): string {
  const trimmed = value.trim();
  if (!trimmed.startsWith('/') || /[?#\s]/.test(trimmed)) {
    throw new InvalidArgumentError('expected a path starting with "/", such as / or /webhooks.');
  }
  const path = trimmed.replace(/\/+$/, '');
  return path === '' ? '/' : path;
}

function parseBaseURL(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(
      'expected an absolute URL, such as https://kargo-webhooks.example.com.',
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new InvalidArgumentError('expected an http(s) URL.');
  if (url.search || url.hash || url.username || url.password) {
    throw new InvalidArgumentError('expected a URL without query, fragment or credentials.');
  }
  return url.href.replace(/\/+$/, '');
}

const TOKEN_PATTERN = /^[A-Za-z0-9._~-]+$/;

/** Raw option values of `serve`, as commander produces them. */
export interface ServeFlags {
  port: number;
  host?: string;
  basePath: string;
  baseUrl?: string;
  systemNamespace: string;
  maxBodyBytes: number;
  deadlineMs: number;
  refreshConcurrency: number;
  logLevel: LogLevel;
  metrics?: boolean;
  metricsPort?: number;
  tlsCert?: string;
  tlsKey?: string;
  writeStatus?: boolean;
  explain?: boolean | string[];
  token?: string[];
  secret?: string;
  basicAuth?: string[];
  header?: string[];
  project?: string;
  receiver?: string;
  namespace?: string[];
  kubeconfig?: string;
  shutdownTimeout: number;
}

/** Raw option values of `urls`. */
export interface UrlsFlags {
  baseUrl?: string;
  systemNamespace: string;
  kubeconfig?: string;
  output: 'table' | 'json';
}

/** A boolean set from the environment: commander sets it whatever the value, so `KAR_WRITE_STATUS=false` is read here. */
function envBoolean(command: Command, key: string, variable: string): boolean | undefined {
  if (command.getOptionValueSource(key) !== 'env') return undefined;
  return !/^(|0|false|no|off)$/i.test((process.env[variable] ?? '').trim());
}

/** Each value of a repeatable flag, kept whole: split and checked by `serveConfig`, so commander never echoes one in an error. */
function collectRaw(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Where a flag's values came from, for error messages: the variable or the flag. */
function sourceName(
  command: Command | undefined,
  key: string,
  flag: string,
  variable: string,
): string {
  return command?.getOptionValueSource(key) === 'env' ? variable : flag;
}

/**
 * The second factor of single-receiver mode from `--basic-auth` and
 * `--header` (or their variables), checked; errors name the flag and line,
 * never a value.
 */
function secondFactorFlags(
  flags: ServeFlags,
  command: Command | undefined,
): { basicAuth: BasicCredentials[] | undefined; headers: Record<string, string[]> | undefined } {
  const where = (key: string, flag: string, variable: string, i: number, n: number): string =>
    `${sourceName(command, key, flag, variable)}${n > 1 ? ` (value ${i + 1})` : ''}`;
  try {
    const basicAuth = flags.basicAuth?.flatMap((value, i, all) =>
      parseBasicAuthLines(
        value,
        where('basicAuth', '--basic-auth', 'KAR_BASIC_AUTH', i, all.length),
      ),
    );
    let headers: Record<string, string[]> | undefined;
    flags.header?.forEach((value, i, all) => {
      const parsed = parseHeaderLines(
        value,
        where('header', '--header', 'KAR_HEADERS', i, all.length),
      );
      headers ??= {};
      for (const [name, values] of Object.entries(parsed))
        headers[name] = [...(headers[name] ?? []), ...values];
    });
    if (basicAuth && headers?.authorization)
      throw new SecondFactorError(
        `${sourceName(command, 'header', '--header', 'KAR_HEADERS')}: the header authorization cannot be required together with basic authentication, which sends it`,
      );
    return { basicAuth, headers };
  } catch (err) {
    if (err instanceof SecondFactorError) throw new UsageError(`${err.message}.`);
    throw err;
  }
}

/**
 * `--explain` alone or `KAR_EXPLAIN=true`: every receiver; `--explain a,b` or
 * `KAR_EXPLAIN=a,b`: the receivers of projects a and b; `KAR_EXPLAIN=false`: off.
 */
function explainSetting(value: boolean | string | string[]): boolean | string[] {
  if (typeof value === 'boolean') return value;
  const list = typeof value === 'string' ? collectList(value, undefined) : value;
  if (list.length === 1 && /^(0|false|no|off)$/i.test(list[0] ?? '')) return false;
  if (list.length === 0) return typeof value === 'string' ? false : true;
  if (list.length === 1 && /^(1|true|yes|on)$/i.test(list[0] ?? '')) return true;
  return [...new Set(list)];
}

/** Checks the combination of `serve` flags and builds the config; throws {@link UsageError}. */
export function serveConfig(flags: ServeFlags, command?: Command): ServerConfig {
  const writeStatus =
    (command && envBoolean(command, 'writeStatus', 'KAR_WRITE_STATUS')) ??
    flags.writeStatus ??
    false;
  const metricsOn =
    (command && envBoolean(command, 'metrics', 'KAR_METRICS')) ?? flags.metrics ?? false;
  const explain = explainSetting(
    command?.getOptionValueSource('explain') === 'env'
      ? (process.env.KAR_EXPLAIN ?? '')
      : (flags.explain ?? false),
  );

  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) {
    throw new UsageError(
      '--tls-cert and --tls-key go together: give both (HTTPS) or neither (HTTP).',
    );
  }

  let tokens: string[] | undefined;
  const singleFlags = [
    flags.project !== undefined && '--project',
    flags.receiver !== undefined && '--receiver',
  ].filter((f): f is string => typeof f === 'string');
  if (flags.secret !== undefined) {
    if (flags.token?.length) throw new UsageError('give either --token or --secret, not both.');
    const { project, receiver } = flags;
    if (project === undefined || receiver === undefined) {
      // Name what is missing only: `--secret s --project p` needs --receiver, not both.
      const missing = [
        project === undefined && '--project',
        receiver === undefined && '--receiver',
      ];
      throw new UsageError(
        `--secret needs ${missing.filter(Boolean).join(' and ')}: the URL token is sha256(project + receiver + secret), as Kargo derives it.`,
      );
    }
    if (flags.secret === '') throw new UsageError('--secret must not be empty.');
    tokens = [kargoToken({ project, receiver, secret: flags.secret })];
  } else if (flags.token?.length) {
    if (singleFlags.length)
      throw new UsageError(`${singleFlags.join(' and ')} only apply with --secret.`);
    for (const t of flags.token) {
      if (t.length < MIN_TOKEN_LENGTH || !TOKEN_PATTERN.test(t)) {
        throw new UsageError(
          `--token values must be at least ${MIN_TOKEN_LENGTH} characters of [A-Za-z0-9._~-].`,
        );
      }
    }
    tokens = [...new Set(flags.token)];
  } else if (singleFlags.length) {
    throw new UsageError(
      `${singleFlags.join(' and ')} ${singleFlags.length > 1 ? 'need' : 'needs'} --secret.`,
    );
  }

  const factorFlags = [
    flags.basicAuth?.length && sourceName(command, 'basicAuth', '--basic-auth', 'KAR_BASIC_AUTH'),
    flags.header?.length && sourceName(command, 'header', '--header', 'KAR_HEADERS'),
  ].filter((f): f is string => typeof f === 'string');
  if (factorFlags.length && tokens === undefined) {
    throw new UsageError(
      `${factorFlags.join(' and ')} ${factorFlags.length > 1 ? 'apply' : 'applies'} to a single receiver (--token or --secret); ProjectConfig receivers read their second factor from the "basicAuth" and "headers" keys of their Secret.`,
    );
  }
  const { basicAuth, headers } = secondFactorFlags(flags, command);

  let namespaces = flags.namespace ?? [];
  if (tokens !== undefined && writeStatus) {
    throw new UsageError(
      '--write-status applies to ProjectConfig receivers, not to a single receiver from --token or --secret.',
    );
  }
  // A project's receiver refreshes its own project only, as in Kargo; the cluster-level one (project "") all.
  if (flags.secret !== undefined && namespaces.length === 0 && flags.project)
    namespaces = [flags.project];

  // Kargo puts the base URL's own path before /azure/<token>: follow it unless a base path is given.
  let basePath = flags.basePath;
  if (flags.baseUrl && (command?.getOptionValueSource('basePath') ?? 'default') === 'default') {
    basePath = parseBasePath(new URL(flags.baseUrl).pathname);
  }

  return {
    port: flags.port,
    host: flags.host || undefined,
    basePath,
    baseURL: flags.baseUrl,
    systemNamespace: flags.systemNamespace,
    maxBodyBytes: flags.maxBodyBytes,
    deadlineMs: flags.deadlineMs,
    refreshConcurrency: flags.refreshConcurrency,
    logLevel: flags.logLevel,
    metricsPort: flags.metricsPort ?? (metricsOn ? DEFAULT_METRICS_PORT : undefined),
    tlsCert: flags.tlsCert || undefined,
    tlsKey: flags.tlsKey || undefined,
    writeStatus,
    tokens,
    basicAuth,
    headers,
    namespaces: [...new Set(namespaces)],
    kubeconfig: flags.kubeconfig || undefined,
    shutdownTimeoutMs: flags.shutdownTimeout * 1000,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    connectionsCheckingIntervalMs: 1000,
    keepAliveTimeoutMs: 65_000,
    explain,
  };
}

/** The defaults of {@link ServerConfig} for callers that build one in code. */
export function defaultServerConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return {
    port: DEFAULT_PORT,
    host: undefined,
    basePath: '/',
    baseURL: undefined,
    systemNamespace: DEFAULT_SYSTEM_NAMESPACE,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    deadlineMs: DEFAULT_DEADLINE_MS,
    refreshConcurrency: DEFAULT_CONCURRENCY,
    logLevel: 'info',
    metricsPort: undefined,
    tlsCert: undefined,
    tlsKey: undefined,
    writeStatus: false,
    tokens: undefined,
    basicAuth: undefined,
    headers: undefined,
    namespaces: [],
    kubeconfig: undefined,
    shutdownTimeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_SECONDS * 1000,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    connectionsCheckingIntervalMs: 1000,
    keepAliveTimeoutMs: 65_000,
    explain: false,
    ...overrides,
  };
}

const SERVE_EXAMPLES = `
Modes:
  ProjectConfig mode (default): serves every Azure receiver declared in the
  ProjectConfigs (and the ClusterConfig) of the cluster, at Kargo's paths
  <base path>/azure/<token>. Configuration changes apply without a restart.

  Single-receiver mode (--token, or --secret with --project and --receiver):
  serves one receiver; it refreshes the Warehouses of --namespace (default:
  the --project namespace; with --token: every namespace).

  --namespace limits either mode to some namespaces (Kargo projects).

  A second factor for single-receiver mode: --basic-auth (Azure DevOps
  basic authentication) and --header (Azure DevOps HTTP headers, ACR custom
  headers); a request with the right URL but without them gets 401.
  ProjectConfig receivers read theirs from the "basicAuth" and "headers"
  keys of their Secret.

Secrets: prefer the environment (KAR_SECRET, KAR_TOKEN, KAR_BASIC_AUTH,
KAR_HEADERS; one value per line) to flags, which other users of the machine
can see in the process list.

Examples:
  # Next to Kargo, in the cluster (service account credentials):
  $ kargo-azure-receiver serve --base-url https://kargo-webhooks.example.com

  # From a workstation with a kubeconfig, metrics on :9090, debug logs:
  $ KUBECONFIG=~/.kube/config kargo-azure-receiver serve --port 8080 --metrics --log-level debug

  # One receiver with Kargo's token derivation, no ProjectConfig needed:
  $ KAR_SECRET=s3cr3t kargo-azure-receiver serve --project kargo-demo --receiver azure-wh-receiver

  # HTTPS directly (otherwise terminate TLS at the Ingress):
  $ kargo-azure-receiver serve --tls-cert /tls/tls.crt --tls-key /tls/tls.key

  # Then list the URLs to register in Azure:
  $ kargo-azure-receiver urls --base-url https://kargo-webhooks.example.com

Probes: GET /healthz (always 200 while the process runs), GET /readyz (200 once
the Kubernetes caches are synced, 503 before and while shutting down).
`;

const URLS_EXAMPLES = `
Reads the ProjectConfigs, ClusterConfig and Secrets of the cluster (with the
current kubeconfig) and prints, for each Azure receiver, its project, name and
URL: the URL to paste into the ACR webhook or Azure DevOps service hook.
Treat the output as secret: the URL is the only credential of a webhook.

Examples:
  $ kargo-azure-receiver urls --base-url https://kargo-webhooks.example.com
  $ kargo-azure-receiver urls --output json
`;

const EXPLAIN_EXAMPLES = `
Classifies and matches the payload exactly as a delivery would, against the
Warehouses of the cluster (listed with the current kubeconfig) or of a
manifests file, and prints each Warehouse subscribed to the pushed repository
with its verdict and reason, the near misses when nothing matches, and the
answer's msg and hint. It sends no webhook and patches nothing.

Examples:
  # An ACR push made with the package's test builders, against the sample
  # Warehouses it ships, offline (in a project that installed the package):
  $ node -e "import('kargo-azure-receiver/testing').then((t) => console.log(JSON.stringify(t.acrPush({ repository: 'hello-world', tag: 'v1' }))))" | npx kargo-azure-receiver explain - --manifests node_modules/kargo-azure-receiver/examples/manifests.yaml

  # What Azure DevOps just sent (copied from the service hook's History), against the cluster:
  $ pbpaste | kargo-azure-receiver explain - --namespace kargo-demo --json
`;

/** A namespace name: an RFC 1123 label, as the API server validates it. */
const NAMESPACE_NAME = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Raw option values of `explain`. */
interface ExplainFlags {
  manifests?: string;
  namespace?: string[];
  json?: boolean;
  kubeconfig?: string;
}

/** What the program calls once the flags are parsed. */
export interface ProgramActions {
  serve(config: ServerConfig): Promise<void>;
  urls(options: {
    baseURL: string | undefined;
    systemNamespace: string;
    kubeconfig: string | undefined;
    output: 'table' | 'json';
  }): Promise<void>;
  explain(options: ExplainCommandOptions): Promise<void>;
}

function sharedOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--base-url <url>',
        'public URL of this server as Azure reaches it, e.g. https://kargo-webhooks.example.com',
      )
        .env('KAR_BASE_URL')
        .argParser(parseBaseURL),
    )
    .addOption(
      new Option(
        '--system-namespace <name>',
        'namespace of the Secrets of cluster-level receivers (ClusterConfig)',
      )
        .env('KAR_SYSTEM_NAMESPACE')
        .default(DEFAULT_SYSTEM_NAMESPACE),
    )
    .addOption(
      new Option(
        '--kubeconfig <file>',
        `kubeconfig file (default: ${KUBECONFIG_SEARCH_ORDER})`,
      ).env('KAR_KUBECONFIG'),
    );
}

/** Builds the `kargo-azure-receiver` program. Errors go through `exitOverride` so the caller picks the exit code. */
export function buildProgram(actions: ProgramActions, version: string): Command {
  const program = new Command('kargo-azure-receiver')
    .description(
      'Receives Azure Container Registry and Azure DevOps webhooks and makes Kargo refresh the subscribed Warehouses at once.',
    )
    .version(version, '-V, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureHelp({ sortOptions: false, showGlobalOptions: false })
    // One line per error, suggestion included, so logs and CI output stay greppable.
    .configureOutput({
      outputError: (text, write) => write(`${text.trimEnd().replace(/\n+/g, ' ')}\n`),
    })
    .addHelpText(
      'after',
      `
Get started:
  $ kargo-azure-receiver serve --help
  $ kargo-azure-receiver urls --help
  $ kargo-azure-receiver explain --help`,
    );

  const serve = program
    .command('serve')
    .description('run the webhook server')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`${text.trimEnd().replace(/\n+/g, ' ')}\n`),
    })
    .addOption(
      new Option('-p, --port <port>', 'port of webhooks and probes (0: any free port)')
        .env('KAR_PORT')
        .default(DEFAULT_PORT)
        .argParser(parsePort),
    )
    .addOption(
      new Option('--host <address>', 'address to listen on (default: every interface)').env(
        'KAR_HOST',
      ),
    )
    .addOption(
      new Option(
        '--base-path <path>',
        'mount point of the receivers: they answer at <base path>/azure/<token>',
      )
        .env('KAR_BASE_PATH')
        .default('/', 'the path of --base-url, else /')
        .argParser(parseBasePath),
    );
  sharedOptions(serve)
    .addOption(
      new Option('--max-body-bytes <bytes>', 'largest accepted webhook body')
        .env('KAR_MAX_BODY_BYTES')
        .default(DEFAULT_MAX_BODY_BYTES)
        .argParser(parseBytes),
    )
    .addOption(
      new Option(
        '--deadline-ms <ms>',
        'answer each webhook within this time; past it 503, which Azure retries',
      )
        .env('KAR_DEADLINE_MS')
        .default(DEFAULT_DEADLINE_MS)
        .argParser(parseDeadline),
    )
    .addOption(
      new Option('--refresh-concurrency <n>', 'refreshes of one webhook in flight at once')
        .env('KAR_REFRESH_CONCURRENCY')
        .default(DEFAULT_CONCURRENCY)
        .argParser(parseConcurrency),
    )
    .addOption(
      new Option('--log-level <level>', 'log level of the JSON logs on stdout')
        .env('KAR_LOG_LEVEL')
        .default('info')
        .choices(LOG_LEVELS),
    )
    .addOption(
      new Option(
        '--metrics',
        `serve Prometheus metrics on port ${DEFAULT_METRICS_PORT} (see --metrics-port)`,
      ).env('KAR_METRICS'),
    )
    .addOption(
      new Option(
        '--metrics-port <port>',
        'serve Prometheus metrics at /metrics on this port (default: off)',
      )
        .env('KAR_METRICS_PORT')
        .argParser(parsePort),
    )
    .addOption(
      new Option('--tls-cert <file>', 'PEM certificate chain: with --tls-key, serve HTTPS').env(
        'KAR_TLS_CERT',
      ),
    )
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert').env('KAR_TLS_KEY'))
    .addOption(
      new Option(
        '--write-status',
        "write status.webhookReceivers of ProjectConfigs (where Kargo's controller does not)",
      ).env('KAR_WRITE_STATUS'),
    )
    .addOption(
      new Option(
        '--explain [projects]',
        'list in push answers the subscribed Warehouses and why each was (not) refreshed: every receiver, or the ProjectConfig receivers of these projects (comma-separated)',
      )
        .env('KAR_EXPLAIN')
        .argParser(collectList),
    )
    .addOption(
      new Option(
        '--token <token>',
        'single receiver: accepted URL token (repeat or comma-separate to rotate)',
      )
        .env('KAR_TOKEN')
        .argParser(collectList),
    )
    .addOption(
      new Option(
        '--secret <secret>',
        "single receiver: the receiver's secret; the token is derived as Kargo does",
      ).env('KAR_SECRET'),
    )
    .addOption(
      new Option(
        '--basic-auth <user:password>',
        'single receiver: accepted basic authentication credentials, a second factor (repeat to rotate)',
      )
        .env('KAR_BASIC_AUTH')
        .argParser(collectRaw),
    )
    .addOption(
      new Option(
        '--header <name:value>',
        'single receiver: a required header and an accepted value, a second factor (repeat to rotate or require more)',
      )
        .env('KAR_HEADERS')
        .argParser(collectRaw),
    )
    .addOption(
      new Option(
        '--project <name>',
        'single receiver: Kargo project of the receiver (with --secret)',
      ).env('KAR_PROJECT'),
    )
    .addOption(
      new Option('--receiver <name>', 'single receiver: receiver name (with --secret)').env(
        'KAR_RECEIVER',
      ),
    )
    .addOption(
      new Option(
        '-n, --namespace <names>',
        'only these namespaces (projects), so RBAC can be Roles (repeat or comma-separate; default: all, or --project with --secret)',
      )
        .env('KAR_NAMESPACE')
        .argParser(collectList),
    )
    .addOption(
      new Option(
        '--shutdown-timeout <seconds>',
        'on SIGTERM, how long in-flight webhooks may take to finish (then they are answered 503)',
      )
        .env('KAR_SHUTDOWN_TIMEOUT')
        .default(DEFAULT_SHUTDOWN_TIMEOUT_SECONDS)
        .argParser(parseSeconds),
    )
    .addHelpText('after', SERVE_EXAMPLES)
    .action(async (flags: ServeFlags, command: Command) => {
      let config: ServerConfig;
      try {
        config = serveConfig(flags, command);
      } catch (err) {
        if (err instanceof UsageError)
          command.error(`error: ${err.message}`, { exitCode: 2, code: 'kar.usage' });
        throw err;
      }
      await actions.serve(config);
    });

  const urls = program
    .command('urls')
    .description("print each Azure receiver's project, name and URL, read from the cluster")
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`${text.trimEnd().replace(/\n+/g, ' ')}\n`),
    });
  sharedOptions(urls)
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json'])
        .default('table'),
    )
    .addHelpText('after', URLS_EXAMPLES)
    .action(async (flags: UrlsFlags) => {
      await actions.urls({
        baseURL: flags.baseUrl,
        systemNamespace: flags.systemNamespace,
        kubeconfig: flags.kubeconfig,
        output: flags.output,
      });
    });

  program
    .command('explain')
    .description(
      'show which Warehouses a webhook payload would refresh and why the others would not, sending nothing',
    )
    .argument('<payload>', 'file holding the webhook body (JSON), or - for standard input')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(`${text.trimEnd().replace(/\n+/g, ' ')}\n`),
    })
    .addOption(
      new Option(
        '--manifests <file>',
        'read Warehouses and Promotions from this multi-document YAML file instead of the cluster',
      ),
    )
    .addOption(
      new Option(
        '-n, --namespace <names>',
        'only these namespaces (projects), as a project receiver sees them (repeat or comma-separate; default: all)',
      ).argParser(collectList),
    )
    .addOption(new Option('--json', 'print the report as JSON'))
    .addOption(
      new Option(
        '--kubeconfig <file>',
        `kubeconfig file (default: ${KUBECONFIG_SEARCH_ORDER})`,
      ).env('KAR_KUBECONFIG'),
    )
    .addHelpText('after', EXPLAIN_EXAMPLES)
    .action(async (payload: string, flags: ExplainFlags, command: Command) => {
      const bad = (flags.namespace ?? []).find((ns) => !NAMESPACE_NAME.test(ns));
      if (bad !== undefined)
        command.error(
          `error: --namespace ${JSON.stringify(bad)} is not a Kubernetes namespace name.`,
          { exitCode: 2, code: 'kar.usage' },
        );
      await actions.explain({
        payload,
        manifests: flags.manifests,
        namespaces: [...new Set(flags.namespace ?? [])],
        json: flags.json ?? false,
        kubeconfig: flags.kubeconfig,
      });
    });

  // Set last, so that it is the program's own (subcommands copy settings when
  // created): an unknown command or a bare flag gets a pointer to the commands.
  program.showHelpAfterError("Run 'kargo-azure-receiver --help' to list the commands.");
  return program;
}
