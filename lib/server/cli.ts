#!/usr/bin/env node
/** `kargo-azure-receiver` (`serve`, `urls`, `explain`). Exit codes: 0 done, 1 failure, 2 bad flags. @module */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { safeErrorMessage } from './errors.js';
import { type ExplainCommandOptions, addExplainCommand } from './explain-command.js';
import { addServeCommand } from './serve-command.js';
import type { ServerConfig } from './server-config.js';
import { type UrlsOptions, addUrlsCommand } from './urls-command.js';

/** Exit code of a usage error (bad flag, missing flag), as sysexits' EX_USAGE-like shells expect. */
export const EXIT_USAGE = 2;

/** What the program calls once the flags are parsed. */
export interface ProgramActions {
  serve(config: ServerConfig): Promise<void>;
  urls(options: UrlsOptions): Promise<void>;
  explain(options: ExplainCommandOptions): Promise<void>;
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
    // One line per error, suggestion included, so logs and CI output stay greppable (the subcommands inherit it).
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
  addServeCommand(program, (config) => actions.serve(config));
  addUrlsCommand(program, (options) => actions.urls(options));
  addExplainCommand(program, (options) => actions.explain(options));
  // Set last, so subcommands (which copy settings when created) do not inherit it.
  program.showHelpAfterError("Run 'kargo-azure-receiver --help' to list the commands.");
  return program;
}

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

/** The commands, loaded when one runs (see commands.ts). */
const lazyCommands: ProgramActions = {
  serve: async (config) => (await import('./commands.js')).serve(config),
  urls: async (options) => (await import('./commands.js')).urls(options),
  explain: async (options) => (await import('./commands.js')).explain(options),
};

/** Runs the command line; resolves with the exit code (serve keeps running and exits on a signal). */
export async function main(
  argv: readonly string[] = process.argv,
  actions: ProgramActions = lazyCommands,
): Promise<number> {
  const program = buildProgram(actions, packageVersion());
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
