/** The flags of `serve` → a checked {@link ServerConfig}, else {@link UsageError}. @module */
import type { Command } from 'commander';
import {
  type BasicCredentials,
  SecondFactorError,
  parseBasicAuthLines,
  parseHeaderLines,
} from '../receiver/second-factor.js';
import { MIN_TOKEN_LENGTH } from '../receiver/options.js';
import { kargoToken } from '../receiver/token.js';
import { collectList, envBoolean, parseBasePath, sourceName } from './flags.js';
import {
  DEFAULT_METRICS_PORT,
  type ServerConfig,
  UsageError,
  defaultServerConfig,
} from './server-config.js';

const TOKEN_PATTERN = /^[A-Za-z0-9._~-]+$/;

/** Raw option values of `serve`, as commander produces them: the config's values before checks. */
export type ServeFlags = Pick<ServerConfig, ServeValue | 'refreshConcurrency' | 'logLevel'> & {
  shutdownTimeout: number;
  metrics?: boolean;
  metricsPort?: number;
  writeStatus?: boolean;
  explain?: boolean | string[];
} & Partial<Record<'host' | 'baseUrl' | 'tlsCert' | 'tlsKey' | 'kubeconfig', string>> &
  Partial<Record<'secret' | 'project' | 'receiver', string>> &
  Partial<Record<'token' | 'basicAuth' | 'header' | 'namespace', string[]>>;
type ServeValue = 'port' | 'basePath' | 'systemNamespace' | 'maxBodyBytes' | 'deadlineMs';

/** The second factor from `--basic-auth` and `--header`; errors name the flag and line, never a value. */
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

/** `--explain`/`KAR_EXPLAIN=true`: every receiver; `a,b`: projects a and b; `KAR_EXPLAIN=false`: off. */
function explainSetting(value: boolean | string | string[]): boolean | string[] {
  if (typeof value === 'boolean') return value;
  const list = typeof value === 'string' ? collectList(value, undefined) : value;
  if (list.length === 1 && /^(0|false|no|off)$/i.test(list[0] ?? '')) return false;
  if (list.length === 0) return typeof value === 'string' ? false : true;
  if (list.length === 1 && /^(1|true|yes|on)$/i.test(list[0] ?? '')) return true;
  return [...new Set(list)];
}

/** The URL tokens of single-receiver mode (given, or derived as Kargo does); undefined: ProjectConfig mode. */
function singleReceiverTokens(flags: ServeFlags): string[] | undefined {
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
    return [kargoToken({ project, receiver, secret: flags.secret })];
  }
  if (flags.token?.length) {
    if (singleFlags.length)
      throw new UsageError(`${singleFlags.join(' and ')} only apply with --secret.`);
    for (const t of flags.token) {
      if (t.length < MIN_TOKEN_LENGTH || !TOKEN_PATTERN.test(t)) {
        throw new UsageError(
          `--token values must be at least ${MIN_TOKEN_LENGTH} characters of [A-Za-z0-9._~-].`,
        );
      }
    }
    return [...new Set(flags.token)];
  }
  if (singleFlags.length) {
    throw new UsageError(
      `${singleFlags.join(' and ')} ${singleFlags.length > 1 ? 'need' : 'needs'} --secret.`,
    );
  }
  return undefined;
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
  const tokens = singleReceiverTokens(flags);

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

  return defaultServerConfig({
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
    explain,
  });
}
