/**
 * What `serve`, `urls` and `explain` do. Loaded lazily by cli.ts: client-node takes a second to
 * load, and `--help` or a bad flag should not wait for it.
 * @module
 */
import { loadKubeConfig } from '../kube/config.js';
import { listReceiverURLs } from '../kargo/index.js';
import type { ServerConfig } from './server-config.js';
import { createLogger } from './logging.js';
import { startServer, type RunningServer } from './serve.js';
import { safeErrorMessage } from './errors.js';
import { explain } from './explain.js';
import { formatTable } from './table.js';
import type { UrlsOptions } from './urls-command.js';

export { explain };

export async function serve(config: ServerConfig): Promise<void> {
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

export async function urls(options: UrlsOptions): Promise<void> {
  const kubeConfig = loadKubeConfig(options.kubeconfig);
  // Warnings about broken receivers go to stderr, so stdout stays the list.
  const logger = createLogger('warn', { write: (line: string) => process.stderr.write(line) });
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
  process.stdout.write(`${formatTable(rows)}\n`);
  if (list.length === 0)
    process.stderr.write(
      'no Azure receiver found: declare one in a ProjectConfig (spec.webhookReceivers[].azure)\n',
    );
  if (!options.baseURL)
    process.stderr.write('paths are relative to the server; pass --base-url to print full URLs\n');
}

/** The commands, for `main()`. */
export const commands = { serve, urls, explain };
