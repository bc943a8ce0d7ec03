/** {@link ServerConfig}: everything `startServer` runs on, and its defaults. @module */
import { DEFAULT_SYSTEM_NAMESPACE } from '../kargo/resources.js';
import type { BasicCredentials } from '../receiver/second-factor.js';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_BODY_BYTES,
} from '../receiver/options.js';
import type { LogLevel } from './logging.js';

/** Port of `--metrics` without a value. */
export const DEFAULT_METRICS_PORT = 9090;
/** Main port. */
export const DEFAULT_PORT = 8080;
/**
 * `--shutdown-timeout`: the webhook deadline, so a webhook that arrived before SIGTERM gets its
 * own answer first. The Helm chart's grace period (charts/kargo-azure-receiver) is sized on it.
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
  /** Namespaces to watch (empty: all): whose Warehouses are refreshed, or the projects served (RBAC as Roles). */
  namespaces: string[];
  /** A kubeconfig file; undefined: client-node's default search order. */
  kubeconfig: string | undefined;
  /** On SIGTERM, how long in-flight webhooks may take; those still running then get 503, never cut. */
  shutdownTimeoutMs: number;
  /** Node's `server.headersTimeout`: time to receive the request headers. */
  headersTimeoutMs: number;
  /** Node's `server.requestTimeout`: time to receive the whole request. */
  requestTimeoutMs: number;
  /** Node's `connectionsCheckingInterval` (default 30 s lets a 10 s cut come up to 40 s). */
  connectionsCheckingIntervalMs: number;
  /**
   * Node's `server.keepAliveTimeout`: longer than the proxies' idle timeout (ingress-nginx, cloud
   * load balancers: 60 s), so a proxy never reuses a connection the server is closing (a 502).
   */
  keepAliveTimeoutMs: number;
  /** Explain push answers: `true` for every receiver, or the ProjectConfig receivers of these projects. */
  explain: boolean | string[];
}

/** A usage error: one line on stderr, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
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
