/**
 * What the package specs share: the repository root, the locked versions of
 * its dependencies, and a command runner.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string }>;
};

/** `name@version` as the repository tests with it, so a consumer installs what CI already cached. */
export function locked(name: string): string {
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`${name} is not in package-lock.json`);
  return `${name}@${version}`;
}

/** Runs `file args` in `cwd` (coverage off) and resolves with its standard output. */
export async function sh(cwd: string, file: string, args: string[]): Promise<string> {
  const { stdout } = await run(file, args, {
    cwd,
    env: { ...process.env, NODE_V8_COVERAGE: undefined },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Makes `app` a fresh CommonJS app that installs `packages` as a user would (no lockfile). */
export async function installApp(app: string, packages: string[]): Promise<void> {
  mkdirSync(app, { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }),
  );
  await sh(app, 'npm', [
    'install',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    '--no-package-lock',
    ...packages,
  ]);
}
