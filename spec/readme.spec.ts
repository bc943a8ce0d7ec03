/**
 * The README as users read it: every TypeScript snippet is a file of
 * examples/ (which the typecheck compiles, and some of which the specs run),
 * every export is documented, the table of contents matches the sections,
 * and no section appears twice.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

/** The names a module exports, from its `export { … }` and `export type { … }` lists. */
function exportedNames(file: string): string[] {
  const text = readFileSync(new URL(file, root), 'utf8');
  return [...text.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((s) =>
        s
          .trim()
          .split(/\s+as\s+/)
          .pop()!,
      )
      .filter(Boolean),
  );
}

describe('README.md', function () {
  it('every TypeScript snippet is, verbatim, the example file named above it', function () {
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```\n/g)];
    assert.ok(blocks.length >= 8, `${blocks.length} snippets`);
    for (const block of blocks) {
      const before = readme.slice(0, block.index).trimEnd();
      const marker = /<!-- example: (examples\/[\w.-]+) -->$/.exec(before);
      assert.ok(marker, `the snippet at offset ${block.index} names its example file`);
      assert.equal(block[1], readFileSync(new URL(marker[1]!, root), 'utf8'), marker[1]);
    }
  });

  for (const entry of ['lib/index.ts', 'lib/testing/index.ts']) {
    it(`documents every export of ${entry}`, function () {
      const names = exportedNames(entry);
      assert.ok(names.length > 5);
      assert.deepEqual(
        names.filter((name) => !new RegExp('`' + name + '\\b').test(readme)),
        [],
      );
    });
  }

  it('has each section once, and a table of contents that lists them in order', function () {
    const headings = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]!);
    assert.equal(new Set(headings).size, headings.length);
    const contents = readme.slice(readme.indexOf('## Contents'));
    const listed = [
      ...contents.slice(0, contents.indexOf('\n## ', 5)).matchAll(/^- \[(.+?)\]\(#([\w-]+)\)$/gm),
    ];
    assert.deepEqual(
      listed.map((m) => m[1]),
      headings.filter((h) => h !== 'Contents').map((h) => h.replace(/`/g, '')),
    );
  });
});
