#!/usr/bin/env node
// Keeps the rooms of lib/ and their rules (ARCHITECTURE.md, .dependency-cruiser.cjs):
// no import circle, no forbidden import between rooms. dependency-cruiser 18
// needs Node >= 22, so on older majors this check says it is skipped (CI runs
// `npm test` on 22 and 24 too, where it runs).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.log(
    `lint:deps skipped on Node ${process.version}: dependency-cruiser needs Node >= 22 (CI runs it on 22 and 24)`,
  );
  process.exit(0);
}
const bin = fileURLToPath(new URL('../node_modules/.bin/depcruise', import.meta.url));
const run = spawnSync(bin, ['lib', '--config', '.dependency-cruiser.cjs'], { stdio: 'inherit' });
process.exit(run.status ?? 1);
