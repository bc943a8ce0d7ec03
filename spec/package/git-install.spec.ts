/**
 * The package as a git dependency (`npm install git+file://…`, as
 * `github:owner/repo` would): npm clones the repository, installs its
 * devDependencies, runs `prepare` (the build) and installs the result, so
 * `dist/` is there and the package imports. Tests the committed HEAD, and
 * only when the repository is a git checkout (a source tarball is not).
 *
 * Run by `npm run test:package` (part of `npm test`); only the npm registry
 * (or npm's cache) is reached.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string }>;
};

async function sh(cwd: string, file: string, args: string[]): Promise<string> {
  const { stdout } = await run(file, args, {
    cwd,
    env: { ...process.env, NODE_V8_COVERAGE: undefined },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

async function isGitCheckout(): Promise<boolean> {
  try {
    return (await sh(ROOT, 'git', ['rev-parse', '--is-inside-work-tree'])).trim() === 'true';
  } catch {
    return false;
  }
}

describe(`the package installed from git (Node ${process.version})`, function () {
  let dir: string | undefined;
  let app: string;

  before(async function () {
    if (!(await isGitCheckout())) {
      this.skip(); // a source tarball: nothing to clone
    }
    dir = mkdtempSync(join(tmpdir(), 'kar-git-install-'));
    app = join(dir, 'app');
    await sh(dir, 'mkdir', [app]);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'git-consumer', private: true, type: 'commonjs' }),
    );
    const express = lock.packages['node_modules/express']?.version;
    assert.ok(express, 'express is in package-lock.json');
    await sh(app, 'npm', [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--no-package-lock',
      `git+${pathToFileURL(ROOT).href}`,
      `express@${express}`,
    ]);
  });

  after(function () {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has dist/, built by prepare', function () {
    const installed = join(app, 'node_modules', 'kargo-azure-receiver');
    assert.ok(existsSync(join(installed, 'dist', 'index.js')), 'dist/index.js is installed');
    assert.ok(existsSync(join(installed, 'dist', 'testing', 'index.d.cts')), 'declarations too');
  });

  it('require() and import() work, the testing entry too', async function () {
    writeFileSync(
      join(app, 'use.cjs'),
      "const { azureReceiver } = require('kargo-azure-receiver');\nconst { acrPing } = require('kargo-azure-receiver/testing');\nconsole.log(typeof azureReceiver, acrPing().action);\n",
    );
    writeFileSync(
      join(app, 'use.mjs'),
      "import { azureReceiver } from 'kargo-azure-receiver';\nimport { acrPing } from 'kargo-azure-receiver/testing';\nconsole.log(typeof azureReceiver, acrPing().action);\n",
    );
    assert.equal(await sh(app, process.execPath, ['use.cjs']), 'function ping\n');
    assert.equal(await sh(app, process.execPath, ['use.mjs']), 'function ping\n');
  });

  it('installs the command', async function () {
    const out = await sh(app, join(app, 'node_modules', '.bin', 'kargo-azure-receiver'), [
      '--version',
    ]);
    assert.equal(
      out.trim(),
      (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });
});
