/**
 * The package as users get it: `npm pack`, installed into a fresh app in a
 * temporary directory outside the repository, used from CommonJS (plain
 * JavaScript, and TypeScript with module commonjs and node16 under
 * `skipLibCheck: false` with no extra `@types/*`) and from ESM.
 *
 * Run by `npm run test:package` (part of `npm test`), on whatever Node runs it.
 */
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QUICK_START_OUTPUT } from '../support/quick-start.js';
import { ROOT, installApp, locked, sh } from './shell.js';

const CONSUMER = fileURLToPath(new URL('./consumer', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

describe(`the packed package in a fresh app (Node ${process.version})`, function () {
  let dir: string;
  let app: string;
  let tarball: string;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'kar-consumer-'));
    app = join(dir, 'app');
    // `npm pack` runs `prepare`, which builds dist/.
    tarball = join(
      dir,
      (await sh(ROOT, 'npm', ['pack', '--silent', '--pack-destination', dir]))
        .trim()
        .split('\n')
        .pop()!,
    );
    cpSync(CONSUMER, app, { recursive: true });
    await installApp(app, [
      tarball,
      locked('express'),
      locked('@types/express'),
      locked('@types/node'),
    ]);
  });

  after(function () {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships dist with self-contained source maps, LICENSE, CHANGELOG and the Helm chart, and no TypeScript sources', async function () {
    const files = (await sh(dir, 'tar', ['-tzf', tarball])).split('\n').filter(Boolean);
    for (const f of [
      'package/LICENSE',
      'package/CHANGELOG.md',
      'package/README.md',
      'package/dist/index.js',
      'package/dist/index.d.ts',
      'package/dist/index.d.cts',
      'package/dist/testing/index.d.cts',
      'package/charts/kargo-azure-receiver/Chart.yaml',
      'package/charts/kargo-azure-receiver/values.schema.json',
      'package/charts/kargo-azure-receiver/templates/deployment.yaml',
    ])
      assert.ok(files.includes(f), `${f} is in the tarball`);
    assert.deepEqual(
      files.filter((f) => f.startsWith('package/lib/')),
      [],
    );
    const installed = join(app, 'node_modules', 'kargo-azure-receiver', 'dist');
    const maps = files.filter((f) => f.endsWith('.js.map'));
    assert.ok(maps.length > 10);
    for (const f of maps) {
      const map = JSON.parse(
        readFileSync(join(installed, f.slice('package/dist/'.length)), 'utf8'),
      ) as {
        sources: string[];
        sourcesContent?: string[];
      };
      assert.equal(map.sourcesContent?.length, map.sources.length, `${f} embeds its sources`);
    }
  });

  it('require() works from plain CommonJS JavaScript, with the testing entry', async function () {
    const out = JSON.parse(await sh(app, process.execPath, ['consumer.cjs'])) as unknown;
    assert.deepEqual(out, {
      results: [
        [200, { msg: 'ping event received, webhook is configured correctly' }],
        [200, { msg: 'refreshed 1 warehouse(s)' }],
      ],
      refreshes: [{ kind: 'Warehouse', namespace: 'kargo-demo', name: 'app' }],
      image: 'myacr.azurecr.io/app',
    });
  });

  for (const [module, moduleResolution] of [
    ['commonjs', 'node10'],
    ['node16', 'node16'],
    ['nodenext', 'nodenext'],
  ] as const) {
    it(`TypeScript module ${module} compiles with skipLibCheck: false and no extra @types, and runs`, async function () {
      const outDir = `out-${module}`;
      writeFileSync(
        join(app, `tsconfig.${module}.json`),
        JSON.stringify({
          compilerOptions: {
            module,
            moduleResolution,
            target: 'ES2022',
            strict: true,
            skipLibCheck: false,
            esModuleInterop: true,
            outDir,
          },
          files: ['consumer.ts'],
        }),
      );
      assert.equal(existsSync(join(app, 'node_modules', '@types', 'semver')), false);
      await sh(app, process.execPath, [TSC, '-p', `tsconfig.${module}.json`]);
      const out = JSON.parse(
        await sh(app, process.execPath, [join(outDir, 'consumer.js')]),
      ) as unknown;
      assert.deepEqual(out, {
        status: 200,
        body: { msg: 'refreshed 1 warehouse(s)' },
        qualifiers: ['v3'],
        options: { namespaces: ['kargo-demo'] },
      });
    });
  }

  it("the README's quick start compiles against the package (nodenext, ESM) and prints what it says", async function () {
    // As a reader copies it: the file alone, in an ESM folder of the app.
    const esm = join(app, 'quick-start');
    mkdirSync(esm);
    writeFileSync(join(esm, 'package.json'), JSON.stringify({ type: 'module' }));
    cpSync(join(ROOT, 'examples', 'quick-start.ts'), join(esm, 'quick-start.ts'));
    // supertest in this folder only, so the other consumers keep no extra @types.
    await sh(esm, 'npm', [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--no-package-lock',
      locked('supertest'),
      locked('@types/supertest'),
    ]);
    writeFileSync(
      join(esm, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'ES2022',
          strict: true,
          skipLibCheck: false,
          outDir: 'out',
        },
        files: ['quick-start.ts'],
      }),
    );
    await sh(esm, process.execPath, [TSC, '-p', 'tsconfig.json']);
    assert.equal(
      await sh(esm, process.execPath, [join('out', 'quick-start.js')]),
      QUICK_START_OUTPUT,
    );
  });

  it('ships every file that the shipped Markdown links to', async function () {
    const files = new Set((await sh(dir, 'tar', ['-tzf', tarball])).split('\n').filter(Boolean));
    const pages = [...files].filter((f) => /^package\/(README\.md|docs\/[\w-]+\.md)$/.test(f));
    assert.ok(pages.includes('package/README.md') && pages.length > 5, pages.join(', '));
    const missing: string[] = [];
    for (const page of pages) {
      const text = readFileSync(join(ROOT, page.slice('package/'.length)), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue; // https:, mailto:
        const path = posix.join(posix.dirname(page), target!).replace(/\/$/, '');
        if (!files.has(path) && ![...files].some((f) => f.startsWith(`${path}/`)))
          missing.push(`${page} → ${target}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('the examples of `explain --help` run as printed, on what the package ships', async function () {
    const bin = join(app, 'node_modules', '.bin', 'kargo-azure-receiver');
    const help = await sh(app, bin, ['explain', '--help']);
    const examples = help
      .split('\n')
      .filter((line) => line.startsWith('  $ ') && line.includes('--manifests'))
      .map((line) => line.slice('  $ '.length));
    assert.equal(examples.length, 1, help);
    const out = await sh(app, 'sh', ['-c', examples[0]!]);
    assert.equal(
      out.split('\n').slice(0, 2).join('\n'),
      'acr push: would refresh 1 warehouse(s)\npushed: image myregistry.azurecr.io/hello-world (v1)',
    );
    assert.match(
      out,
      /kargo-demo\/hello-world +image myregistry\.azurecr\.io\/hello-world +refresh /,
    );
  });

  it('import works from ESM', async function () {
    writeFileSync(
      join(app, 'consumer.mjs'),
      "import { azureReceiver } from 'kargo-azure-receiver';\nimport { acrPing } from 'kargo-azure-receiver/testing';\nconsole.log(typeof azureReceiver, acrPing().action);\n",
    );
    assert.equal(await sh(app, process.execPath, ['consumer.mjs']), 'function ping\n');
  });
});
