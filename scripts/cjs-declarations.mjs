// Writes a CommonJS twin (`.d.cts`) of every declaration file in dist/.
//
// The package is ESM, which Node >= 20.19 can require(). TypeScript resolves
// `require('kargo-azure-receiver')` of a CommonJS project (module node16 or
// commonjs) through the `require` condition of the exports map, and must find
// declarations in CommonJS format there: a `.d.ts` of a `"type": "module"`
// package is ESM to it, and a `.d.cts` that re-exports one is refused too
// (TS1479). The twins are the same declarations with relative specifiers
// pointing at the twins.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../dist/', import.meta.url).pathname;
let count = 0;
for (const entry of readdirSync(root, { recursive: true })) {
  const file = String(entry);
  if (!file.endsWith('.d.ts')) continue;
  const text = readFileSync(join(root, file), 'utf8');
  // `from './x.js'`, `import('./x.js')`, `export * from '../y/index.js'`
  const twin = text.replace(/(['"])(\.{1,2}\/[^'"]*?)\.js\1/g, '$1$2.cjs$1');
  writeFileSync(join(root, file.replace(/\.d\.ts$/, '.d.cts')), twin);
  count += 1;
}
if (count === 0) throw new Error('no declarations found in dist/: run tsc first');
