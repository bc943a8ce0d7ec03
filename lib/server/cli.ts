#!/usr/bin/env node
/**
 * `kargo-azure-receiver`: the package's command (`serve`, `urls`).
 * Exit codes: 0 done (or stopped by SIGTERM/SIGINT), 1 runtime failure,
 * 2 bad flags.
 * @module
 */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { CommanderError } from 'commander';
import { buildProgram, type ServerConfig } from './config.js';
import { createLogger } from './logging.js';
import type { RunningServer } from './serve.js';

/** Exit code of a usage error (bad flag, missing flag), as sysexits' EX_USAGE-like shells expect. */
export const EXIT_USAGE = 2;

function packageVersion(): string {
  try {
    // lib/server/cli.ts and dist/server/cli.js are both two levels below the package root.
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * A message safe to print: ours and Node's system errors say what went wrong
 * without secrets; anything else (client-node's ApiException embeds response
 * bodies and headers) only by name.
 */
export function safeErrorMessage(err: unknown): string {
  if (!(err instanceof Error)) return 'unexpected failure';
  const code = (err as { code?: unknown }).code;
  const syscall = (err as { syscall?: unknown }).syscall;
  if (
    typeof syscall === 'string' ||
    err.message.startsWith('[kargo-azure-receiver]') ||
    err.name === 'KubernetesAdapterError' ||
    err.name === 'KubeHttpError'
  ) {
    return err.message;
  }
  if (err.name === 'Error' && typeof code !== 'string' && /^(ENOENT|EACCES)/.test(err.message))
    return err.message;
  return `unexpected ${err.name}${typeof code === 'string' ? ` (${code})` : ''}`;
}

async function serve(config: ServerConfig): Promise<void> {
  const logger = createLogger(config.logLevel);
  // Whatever escapes is reported by name only: client-node's errors embed response bodies and headers.
  const crash = (kind: string) => (err: unknown) => {
    logger.fatal(
      {
        errorName: (err as Error | undefined)?.name,
        code: (err as { code?: unknown } | undefined)?.code,
      },
      `${kind}: ${safeErrorMessage(err)}`,
    );
    process.exit(1);
  };
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled rejection'));

  let server: RunningServer | undefined;
  let signalled = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'signal received');
    // A signal during start-up stops the server as soon as it is up.
    if (server) shutdown(server);
  };
  const shutdown = (running: RunningServer): void => {
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ errorName: (err as Error).name }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  try {
    // Loaded here, not at the top: @kubernetes/client-node takes seconds to load, and --help or a bad flag should not wait.
    const { startServer } = await import('./serve.js');
    server = await startServer(config, { logger });
  } catch (err) {
    logger.fatal(
      { err: { name: (err as Error).name, code: (err as { code?: unknown }).code } },
      `cannot start: ${safeErrorMessage(err)}`,
    );
    process.exit(1);
  }
  if (signalled) shutdown(server);
}

async function urls(options: {
  baseURL: string | undefined;
  systemNamespace: string;
  kubeconfig: string | undefined;
  output: 'table' | 'json';
}): Promise<void> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kubeConfig = new KubeConfig();
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else kubeConfig.loadFromDefault();
  // Warnings about broken receivers go to stderr, so stdout stays the list.
  const logger = createLogger('warn', { write: (line: string) => process.stderr.write(line) });
  const { listReceiverURLs } = await import('../kargo/index.js');
  const list = await listReceiverURLs({
    kubeConfig,
    systemNamespace: options.systemNamespace,
    logger,
    ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
  });
  if (options.output === 'json') {
    process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
    return;
  }
  const rows = [
    ['PROJECT', 'NAME', options.baseURL ? 'URL' : 'PATH'],
    ...list.map((r) => [r.project || '(cluster)', r.name, r.url ?? r.path]),
  ];
  const widths = [0, 1].map((i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  for (const row of rows)
    process.stdout.write(
      `${row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ')}\n`,
    );
  if (list.length === 0)
    process.stderr.write(
      'no Azure receiver found: declare one in a ProjectConfig (spec.webhookReceivers[].azure)\n',
    );
  if (!options.baseURL)
    process.stderr.write('paths are relative to the server; pass --base-url to print full URLs\n');
}

/** Runs the command line; resolves with the exit code (serve keeps running and exits on a signal). */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const program = buildProgram({ serve, urls }, packageVersion());
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; every parse error is a usage error, already printed on one line.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(`kargo-azure-receiver: ${safeErrorMessage(err)}\n`);
    return 1;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

/** Whether this module is the entry point (npm links the bin, so compare real paths). */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // `kargo-azure-receiver --help | head`: a closed pipe ends the output, not the process with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  main().then(
    (code) => {
      if (code !== 0) process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`kargo-azure-receiver: ${safeErrorMessage(err)}\n`);
      process.exit(1);
    },
  );
}
