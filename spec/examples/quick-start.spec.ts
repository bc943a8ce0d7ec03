/**
 * The README's quick start (examples/quick-start.ts) runs as a reader runs
 * it, in a process of its own, and prints what the README says it prints.
 * spec/package/ compiles and runs the same file against the packed package.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { QUICK_START_OUTPUT } from '../support/quick-start.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('README quick start (examples/quick-start.ts)', function () {
  this.timeout(60_000);

  it('refreshes the inline Warehouse, answers 200, and exits by itself', async function () {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'examples/quick-start.ts'],
      { cwd: ROOT, timeout: 50_000 },
    );
    assert.equal(stdout, QUICK_START_OUTPUT);
    assert.equal(stderr, '');
  });
});
