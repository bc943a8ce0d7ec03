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
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, installApp, locked, sh } from './shell.js';

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
    await installApp(app, [`git+${pathToFileURL(ROOT).href}`, locked('express')]);
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
