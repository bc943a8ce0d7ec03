/** Parsers of flag values and the shared options; a flag wins over its `KAR_*` variable. @module */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { KUBECONFIG_SEARCH_ORDER } from '../kube/search-order.js';
import { DEFAULT_SYSTEM_NAMESPACE } from '../kargo/resources.js';

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
export const parseBytes = integer(1, 64 * 1024 * 1024, 'a size in bytes');
export const parseSeconds = integer(1, 3600, 'a number of seconds');
export const parseDeadline = integer(1000, 600_000, 'a time in milliseconds');
export const parseConcurrency = integer(1, 1024, 'a number of refreshes');

/** `--namespace a,b --namespace c` → [a, b, c]. */
export function collectList(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return [...(previous ?? []), ...items];
}

/** Each value of a repeatable flag, kept whole: split and checked by `serveConfig`, so commander never echoes one in an error. */
export function collectRaw(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function parseBasePath(value: string): string {
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

/** A boolean set from the environment: commander sets it whatever the value, so `KAR_WRITE_STATUS=false` is read here. */
export function envBoolean(command: Command, key: string, variable: string): boolean | undefined {
  if (command.getOptionValueSource(key) !== 'env') return undefined;
  return !/^(|0|false|no|off)$/i.test((process.env[variable] ?? '').trim());
}

/** Where a flag's values came from, for error messages: the variable or the flag. */
export function sourceName(
  command: Command | undefined,
  key: string,
  flag: string,
  variable: string,
): string {
  return command?.getOptionValueSource(key) === 'env' ? variable : flag;
}

/** An option set by a flag or by its environment variable. */
export function envOption(flags: string, description: string, variable: string): Option {
  return new Option(flags, description).env(variable);
}

export function kubeconfigOption(): Option {
  return envOption(
    '--kubeconfig <file>',
    `kubeconfig file (default: ${KUBECONFIG_SEARCH_ORDER})`,
    'KAR_KUBECONFIG',
  );
}

/** `--base-url`, `--system-namespace` and `--kubeconfig`, of `serve` and `urls`. */
export function sharedOptions(command: Command): Command {
  return command
    .addOption(
      envOption(
        '--base-url <url>',
        'public URL of this server as Azure reaches it, e.g. https://kargo-webhooks.example.com',
        'KAR_BASE_URL',
      ).argParser(parseBaseURL),
    )
    .addOption(
      envOption(
        '--system-namespace <name>',
        'namespace of the Secrets of cluster-level receivers (ClusterConfig)',
        'KAR_SYSTEM_NAMESPACE',
      ).default(DEFAULT_SYSTEM_NAMESPACE),
    )
    .addOption(kubeconfigOption());
}
