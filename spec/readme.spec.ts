/**
 * The README and the reference pages of docs/ as users read them: every
 * TypeScript snippet is a file of examples/ (which the typecheck compiles, and
 * some of which the specs run), every export is documented, no page has a
 * section twice, the README stays short with its quick start near the top,
 * and the kubeconfig order is written once. Links and heading anchors are
 * checked by `npm run lint:links` (remark-validate-links).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { buildProgram } from '../lib/server/cli.js';

const root = new URL('../', import.meta.url);
const read = (file: string): string => readFileSync(new URL(file, root), 'utf8');

const readme = read('README.md');
const docs = readdirSync(new URL('docs/', root))
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => `docs/${f}`);
const pages = ['README.md', ...docs];

/** The names a module exports, from its `export { … }` and `export type { … }` lists. */
function exportedNames(file: string): string[] {
  return [...read(file).matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) =>
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

/** The headings of a page, outside fenced code blocks. */
function headings(text: string): { level: number; title: string; line: number }[] {
  const found: { level: number; title: string; line: number }[] = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = !fenced && /^(#{1,6}) (.+)$/.exec(line);
    if (m) found.push({ level: m[1]!.length, title: m[2]!, line: i + 1 });
  });
  return found;
}

/** The `ts` snippets of a page, with the example file each names above it. */
function snippets(text: string): { body: string; example: string | undefined; line: number }[] {
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((block) => {
    const before = text.slice(0, block.index).trimEnd();
    return {
      body: block[1]!,
      example: /<!-- example: (examples\/[\w.-]+) -->$/.exec(before)?.[1],
      line: text.slice(0, block.index).split('\n').length,
    };
  });
}

describe('README.md and docs/', function () {
  it('has the reference pages, each linked from the README', function () {
    assert.deepEqual(docs, [
      'docs/benchmarks.md',
      'docs/cli.md',
      'docs/configuration.md',
      'docs/contributing.md',
      'docs/deploying.md',
      'docs/kargo.md',
      'docs/operations.md',
      'docs/security.md',
      'docs/testing.md',
    ]);
    assert.deepEqual(
      docs.filter((page) => !readme.includes(`](${page})`)),
      [],
    );
  });

  for (const page of pages) {
    describe(page, function () {
      const text = read(page);

      it('every TypeScript snippet is, verbatim, the example file named above it', function () {
        for (const snippet of snippets(text)) {
          assert.ok(snippet.example, `the snippet at line ${snippet.line} names its example file`);
          assert.equal(snippet.body, read(snippet.example), snippet.example);
        }
      });

      it('tags TypeScript as ts, so no snippet escapes the check', function () {
        assert.deepEqual(
          [...text.matchAll(/^```(typescript|tsx|m?js|cjs|javascript)$/gm)].map((m) => m[1]),
          [],
        );
      });

      it('has one title and each section once', function () {
        const all = headings(text);
        assert.equal(all.filter((h) => h.level === 1).length, 1, 'one # title');
        assert.equal(all[0]?.level, 1, 'the title comes first');
        const titles = all.map((h) => h.title.toLowerCase());
        assert.deepEqual(
          titles.filter((t, i) => titles.indexOf(t) !== i),
          [],
        );
      });
    });
  }

  it('shows every example file on some page', function () {
    const shown = new Set(pages.flatMap((page) => snippets(read(page)).map((s) => s.example)));
    const examples = readdirSync(new URL('examples/', root))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `examples/${f}`);
    assert.deepEqual(
      examples.filter((f) => !shown.has(f)),
      [],
    );
  });

  for (const [entry, page] of [
    ['lib/index.ts', 'docs/configuration.md'],
    ['lib/testing/index.ts', 'docs/testing.md'],
  ] as const) {
    it(`${page} names every export of ${entry}`, function () {
      const names = exportedNames(entry);
      assert.ok(names.length > 5);
      const text = read(page);
      assert.deepEqual(
        names.filter((name) => !new RegExp('`' + name + '\\b').test(text)),
        [],
      );
    });
  }

  it('writes the kubeconfig order once, in configuration.md, and links to it', function () {
    const places = pages.flatMap((page) =>
      [...read(page).matchAll(/~\/\.kube\/config/g)].map(() => page),
    );
    assert.deepEqual(places, ['docs/configuration.md']);
    assert.match(read('docs/configuration.md'), /^## Where the kubeconfig comes from$/m);
    assert.match(read('docs/cli.md'), /\(configuration\.md#where-the-kubeconfig-comes-from\)/);
  });
});

describe('docs/cli.md', function () {
  const text = read('docs/cli.md');
  const unused = async (): Promise<void> => {
    throw new Error('not run');
  };
  const program = buildProgram({ serve: unused, urls: unused, explain: unused }, '0.0.0');

  for (const command of program.commands) {
    it(`lists every flag and variable of ${command.name()} in its section`, function () {
      const start = text.indexOf(`\n## ${command.name()}\n`);
      assert.ok(start > 0, `a section ## ${command.name()}`);
      const end = text.indexOf('\n## ', start + 1);
      const section = text.slice(start, end < 0 ? undefined : end);
      const names = command.options.flatMap((o) => [o.long!, ...(o.envVar ? [o.envVar] : [])]);
      assert.ok(names.length > 3);
      assert.deepEqual(
        // `--port <port>`, or `-p, --port <port>`; `KAR_PORT`
        names.filter((name) => !new RegExp('(`|`-\\w, )' + name + '\\b').test(section)),
        [],
      );
    });
  }
});

describe('README.md, read in five minutes', function () {
  const lines = readme.split('\n');

  it('has at most 400 lines', function () {
    assert.ok(lines.length <= 400, `${lines.length} lines`);
  });

  it('opens with what it is, when to use it, install, then the quick start', function () {
    assert.deepEqual(
      headings(readme)
        .filter((h) => h.level === 2)
        .slice(0, 4)
        .map((h) => h.title),
      [
        "When to use it instead of Kargo's built-in Azure receiver",
        'Install',
        'Quick start',
        'Mount it in an existing Express app',
      ],
    );
    assert.equal(headings(readme).at(-1)?.title, 'Contributing');
  });

  it('has its quick start, examples/quick-start.ts, within the first 150 lines', function () {
    const start = snippets(readme).find((s) => s.example === 'examples/quick-start.ts');
    assert.ok(start, 'the quick start is in the README');
    const last = start.line + start.body.split('\n').length;
    assert.ok(last <= 150, `the quick start ends at line ${last}`);
    assert.ok(
      headings(readme).some((h) => h.title === 'Quick start' && h.line < start.line),
      'under its heading',
    );
  });

  it('quick start needs no file of the repository: it imports only the package, express, supertest and node: modules', function () {
    const source = read('examples/quick-start.ts');
    const imports = [...source.matchAll(/^import [^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
    assert.deepEqual(
      imports.filter((m) => !/^(kargo-azure-receiver|express|supertest|node:.+)$/.test(m)),
      [],
    );
    assert.ok(imports.includes('kargo-azure-receiver'));
    assert.doesNotMatch(source, /readFile|examples\/|spec\//);
  });

  it('keeps the two commands that work on a fresh clone', function () {
    assert.match(readme, /^npm start\b/m);
    assert.match(readme, /^npm test\b/m);
  });
});
