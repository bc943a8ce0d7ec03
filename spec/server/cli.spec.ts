import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { kargoToken } from '../../lib/receiver/token.js';
import { buildProgram } from '../../lib/server/cli.js';
import { serveConfig, type ServeFlags } from '../../lib/server/serve-config.js';
import type { ServerConfig } from '../../lib/server/server-config.js';
import { redactPath } from '../../lib/server/logging.js';
import { eventLabel } from '../../lib/server/metric-labels.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { TempKubeConfig, runCli, runInProcess, type RunResult } from './cli-harness.js';

describe('kargo-azure-receiver command line', function () {
  this.timeout(20_000);

  describe('the real command: help and usage errors', () => {
    const cases: Array<{
      name: string;
      args: string[];
      env?: Record<string, string>;
      stderr: RegExp;
      /** A value the message must not echo. */
      secret?: string;
      /** Lines of the message: 1, or 2 when the program adds its pointer to --help. */
      lines?: number;
    }> = [
      {
        name: 'a port that is not a number',
        args: ['serve', '--port', 'abc'],
        stderr:
          /^error: option '-p, --port <port>' argument 'abc' is invalid\. expected a port, an integer from 0 to 65535\.$/,
      },
      {
        name: 'a port out of range from the environment',
        args: ['serve'],
        env: { KAR_PORT: '70000' },
        stderr:
          /^error: option '-p, --port <port>' value '70000' from env 'KAR_PORT' is invalid\. expected a port/,
      },
      {
        name: '--secret without --project',
        args: ['serve', '--secret', 'x', '--receiver', 'r'],
        stderr:
          /^error: --secret needs --project: the URL token is sha256\(project \+ receiver \+ secret\), as Kargo derives it\.$/,
      },
      {
        name: '--secret with --project only',
        args: ['serve', '--secret', 's3cr3t', '--project', 'kargo-demo'],
        stderr:
          /^error: --secret needs --receiver: the URL token is sha256\(project \+ receiver \+ secret\), as Kargo derives it\.$/,
      },
      {
        name: '--secret alone',
        args: ['serve', '--secret', 's3cr3t'],
        stderr:
          /^error: --secret needs --project and --receiver: the URL token is sha256\(project \+ receiver \+ secret\), as Kargo derives it\.$/,
      },
      {
        name: '--project without --secret',
        args: ['serve', '--project', 'p'],
        stderr: /^error: --project needs --secret\.$/,
      },
      {
        name: 'a short token',
        args: ['serve', '--token', 'short'],
        stderr: /^error: --token values must be at least 16 characters/,
      },
      {
        name: '--tls-cert without --tls-key',
        args: ['serve', '--tls-cert', 'tls.crt'],
        stderr: /^error: --tls-cert and --tls-key go together/,
      },
      {
        name: 'an unknown log level',
        args: ['serve', '--log-level', 'loud'],
        stderr:
          /^error: option '--log-level <level>' argument 'loud' is invalid\. Allowed choices are trace, debug/,
      },
      {
        name: 'a misspelt flag',
        args: ['serve', '--prot', '8080'],
        stderr: /^error: unknown option '--prot' \(Did you mean --port\?\)$/,
      },
      {
        name: 'a base URL that is not a URL',
        args: ['urls', '--base-url', 'hooks.example.com'],
        stderr:
          /^error: option '--base-url <url>' argument 'hooks\.example\.com' is invalid\. expected an absolute URL/,
      },
      {
        name: 'an unknown command',
        args: ['serv'],
        stderr:
          /^error: unknown command 'serv' \(Did you mean serve\?\)\nRun 'kargo-azure-receiver --help' to list the commands\.$/,
        lines: 2,
      },
      {
        name: 'an unknown command nothing is near',
        args: ['deploy'],
        stderr:
          /^error: unknown command 'deploy'\nRun 'kargo-azure-receiver --help' to list the commands\.$/,
        lines: 2,
      },
      {
        name: 'a second factor in ProjectConfig mode',
        args: ['serve', '--header', 'X-Key: header-secret-value'],
        env: { KAR_BASIC_AUTH: 'u:basic-secret-value' },
        stderr:
          /^error: KAR_BASIC_AUTH and --header apply to a single receiver \(--token or --secret\); ProjectConfig receivers read their second factor from the "basicAuth" and "headers" keys of their Secret\.$/,
        secret: 'secret-value',
      },
      {
        name: 'KAR_BASIC_AUTH without a colon',
        args: ['serve', '--token', 'a'.repeat(16)],
        env: { KAR_BASIC_AUTH: 'u:first-secret-value\nbasic-secret-value' },
        stderr: /^error: KAR_BASIC_AUTH, line 2: expected username:password\.$/,
        secret: 'secret-value',
      },
      {
        name: 'a --header without a colon, the second of two',
        args: [
          'serve',
          '--token',
          'a'.repeat(16),
          '--header',
          'X-A: v',
          '--header',
          'X-Key header-secret-value',
        ],
        stderr: /^error: --header \(value 2\), line 1: expected Name: Value\.$/,
        secret: 'secret-value',
      },
      {
        name: 'a --header without a value',
        args: ['serve', '--token', 'a'.repeat(16), '--header', 'X-Key:'],
        stderr:
          /^error: --header, line 1: the value of header x-key must be non-empty printable ASCII without surrounding white space\.$/,
      },
      {
        name: 'Authorization in KAR_HEADERS together with --basic-auth',
        args: ['serve', '--token', 'a'.repeat(16), '--basic-auth', 'u:basic-secret-value'],
        env: { KAR_HEADERS: 'Authorization: Bearer header-secret-value' },
        stderr:
          /^error: KAR_HEADERS: the header authorization cannot be required together with basic authentication, which sends it\.$/,
        secret: 'secret-value',
      },
    ];
    // A few through a real process (exit code included); all of them in process, through main().
    const spawned = new Set([
      'a port that is not a number',
      '--secret without --project',
      'a misspelt flag',
      'an unknown command',
      'KAR_BASIC_AUTH without a colon',
    ]);
    let results: Map<string, RunResult>;

    before(async () => {
      const runs = cases.filter((c) => spawned.has(c.name));
      results = new Map(
        await Promise.all(runs.map(async (c) => [c.name, await runCli(c.args, c.env)] as const)),
      );
    });

    for (const c of cases) {
      it(`${c.name}: exit 2 with a ${c.lines ?? 1}-line message`, async () => {
        const r = results.get(c.name) ?? (await runInProcess(c.args, c.env));
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr.split('\n').filter(Boolean).length, c.lines ?? 1, r.stderr);
        assert.match(r.stderr.trimEnd(), c.stderr);
        if (c.secret) assert.ok(!r.stderr.includes(c.secret), 'a value is echoed');
      });
    }

    it('--help of serve: exit 0, every flag with its variable, and examples', async () => {
      // Variables set: help names them, never shows their values.
      const r = await runCli(['serve', '--help'], {
        KAR_BASIC_AUTH: 'u:help-secret-value',
        KAR_HEADERS: 'X-Key: help-secret-value',
        KAR_SECRET: 'help-secret-value',
      });
      assert.equal(r.code, 0);
      assert.equal(r.stderr, '');
      assert.ok(!r.stdout.includes('help-secret-value'), '--help shows a value');
      for (const text of [
        '--port <port>',
        'KAR_PORT',
        'KAR_BASE_PATH',
        'KAR_BASE_URL',
        'KAR_SYSTEM_NAMESPACE',
        'KAR_MAX_BODY_BYTES',
        'KAR_LOG_LEVEL',
        'KAR_METRICS_PORT',
        'KAR_TLS_CERT',
        'KAR_TLS_KEY',
        'KAR_WRITE_STATUS',
        'KAR_SECRET',
        'KAR_TOKEN',
        '--basic-auth <user:password>',
        'KAR_BASIC_AUTH',
        '--header <name:value>',
        'KAR_HEADERS',
        'Examples:',
        '/readyz',
      ]) {
        assert.ok(r.stdout.includes(text), `--help mentions ${text}`);
      }
    });

    it('--help of explain: its examples name only files the installed package has', async () => {
      const r = await runCli(['explain', '--help']);
      assert.equal(r.code, 0);
      const files = [...r.stdout.matchAll(/[\w./-]+\.(?:json|ya?ml)\b/g)].map((m) => m[0]);
      assert.deepEqual(files, ['node_modules/kargo-azure-receiver/examples/manifests.yaml']);
      const shipped = (
        JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
          files: string[];
        }
      ).files;
      for (const file of files) {
        const inPackage = file.slice('node_modules/kargo-azure-receiver/'.length);
        assert.ok(
          shipped.some((entry) => inPackage === entry || inPackage.startsWith(`${entry}/`)),
          `${inPackage} is in package.json files`,
        );
        assert.ok(
          existsSync(new URL(`../../${inPackage}`, import.meta.url)),
          `${inPackage} exists`,
        );
      }
      // The payload comes from the package's own builders, on standard input.
      assert.match(
        r.stdout,
        /import\('kargo-azure-receiver\/testing'\).*\| npx kargo-azure-receiver explain - /,
      );
    });

    it('--help and --version of the program: exit 0', async () => {
      const [help, version] = await Promise.all([runCli(['--help']), runCli(['--version'])]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /serve \[options\]\s+run the webhook server/);
      assert.equal(version.code, 0);
      assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    });
  });

  describe('flags and environment → config (in process)', () => {
    const SAVED = { ...process.env };
    afterEach(() => {
      for (const k of Object.keys(process.env))
        if (k.startsWith('KAR_') && !(k in SAVED)) Reflect.deleteProperty(process.env, k);
    });

    /** Parses `serve` flags through the real program, capturing the config. */
    async function parse(args: string[], env: Record<string, string> = {}): Promise<ServerConfig> {
      Object.assign(process.env, env);
      let captured: ServerConfig | undefined;
      const program = buildProgram(
        {
          serve: async (config) => {
            captured = config;
          },
          urls: async () => undefined,
          explain: async () => undefined,
        },
        '0.0.0',
      );
      program.commands.forEach((c: Command) =>
        c.configureOutput({ writeErr: () => undefined, writeOut: () => undefined }),
      );
      await program.parseAsync(['serve', ...args], { from: 'user' });
      assert.ok(captured);
      return captured;
    }

    it('defaults', async () => {
      const config = await parse([]);
      assert.deepEqual(
        { ...config },
        {
          port: 8080,
          host: undefined,
          basePath: '/',
          baseURL: undefined,
          systemNamespace: 'kargo-system-resources',
          maxBodyBytes: 2 * 1024 * 1024,
          deadlineMs: 20_000,
          refreshConcurrency: 16,
          logLevel: 'info',
          metricsPort: undefined,
          tlsCert: undefined,
          tlsKey: undefined,
          writeStatus: false,
          tokens: undefined,
          basicAuth: undefined,
          headers: undefined,
          namespaces: [],
          kubeconfig: undefined,
          shutdownTimeoutMs: 20_000,
          headersTimeoutMs: 10_000,
          requestTimeoutMs: 30_000,
          connectionsCheckingIntervalMs: 1000,
          keepAliveTimeoutMs: 65_000,
          explain: false,
        },
      );
    });

    const table: Array<{
      name: string;
      args?: string[];
      env?: Record<string, string>;
      expect: Partial<ServerConfig>;
    }> = [
      {
        name: 'webhook deadline and refresh concurrency, by flag and by environment',
        args: ['--deadline-ms', '5000'],
        env: { KAR_REFRESH_CONCURRENCY: '4' },
        expect: { deadlineMs: 5000, refreshConcurrency: 4 },
      },
      {
        name: 'port and host from the environment',
        env: { KAR_PORT: '9000', KAR_HOST: '127.0.0.1' },
        expect: { port: 9000, host: '127.0.0.1' },
      },
      {
        name: '--explain',
        args: ['--explain'],
        expect: { explain: true },
      },
      {
        name: 'KAR_EXPLAIN=true',
        env: { KAR_EXPLAIN: 'true' },
        expect: { explain: true },
      },
      {
        name: 'KAR_EXPLAIN=false is off',
        env: { KAR_EXPLAIN: 'false' },
        expect: { explain: false },
      },
      {
        name: '--explain with projects: their ProjectConfig receivers only',
        args: ['--explain', 'kargo-demo,other', '--explain', 'kargo-demo'],
        expect: { explain: ['kargo-demo', 'other'] },
      },
      {
        name: 'KAR_EXPLAIN with a project',
        env: { KAR_EXPLAIN: 'kargo-demo' },
        expect: { explain: ['kargo-demo'] },
      },
      {
        name: 'a flag wins over its variable',
        args: ['--port', '9001'],
        env: { KAR_PORT: '9000' },
        expect: { port: 9001 },
      },
      { name: '--metrics alone: port 9090', args: ['--metrics'], expect: { metricsPort: 9090 } },
      {
        name: 'KAR_METRICS=false: off',
        env: { KAR_METRICS: 'false' },
        expect: { metricsPort: undefined },
      },
      {
        name: 'KAR_WRITE_STATUS=true',
        env: { KAR_WRITE_STATUS: 'true' },
        expect: { writeStatus: true },
      },
      {
        name: 'KAR_WRITE_STATUS=0',
        env: { KAR_WRITE_STATUS: '0' },
        expect: { writeStatus: false },
      },
      {
        name: 'base path normalized',
        args: ['--base-path', '/hooks/'],
        expect: { basePath: '/hooks' },
      },
      {
        name: "base path follows the base URL's path",
        args: ['--base-url', 'https://h.example.com/kargo/'],
        expect: { baseURL: 'https://h.example.com/kargo', basePath: '/kargo' },
      },
      {
        name: 'an explicit base path wins',
        args: ['--base-url', 'https://h.example.com/kargo', '--base-path', '/'],
        expect: { basePath: '/' },
      },
      {
        name: 'namespaces repeated and comma-separated',
        args: ['-n', 'a,b', '--namespace', 'c'],
        expect: { namespaces: ['a', 'b', 'c'] },
      },
      {
        name: 'namespaces from the environment',
        env: { KAR_NAMESPACE: 'a, b' },
        expect: { namespaces: ['a', 'b'] },
      },
      {
        name: "--secret derives Kargo's token and scopes to the project",
        args: ['--project', 'kargo-demo', '--receiver', 'r'],
        env: { KAR_SECRET: 's' },
        expect: {
          tokens: [kargoToken({ project: 'kargo-demo', receiver: 'r', secret: 's' })],
          namespaces: ['kargo-demo'],
        },
      },
      {
        name: 'several tokens to rotate',
        env: { KAR_TOKEN: `${'a'.repeat(16)},${'b'.repeat(16)}` },
        expect: { tokens: ['a'.repeat(16), 'b'.repeat(16)], namespaces: [] },
      },
      {
        name: 'TLS files',
        args: ['--tls-cert', 'c.pem', '--tls-key', 'k.pem'],
        expect: { tlsCert: 'c.pem', tlsKey: 'k.pem' },
      },
      {
        name: 'shutdown timeout in seconds',
        env: { KAR_SHUTDOWN_TIMEOUT: '3' },
        expect: { shutdownTimeoutMs: 3000 },
      },
      {
        name: 'a second factor from flags, repeated to rotate',
        args: ['--token', 'a'.repeat(16), '--basic-auth', 'u:new:pw', '--basic-auth', 'u:old'],
        expect: {
          basicAuth: [
            { username: 'u', password: 'new:pw' },
            { username: 'u', password: 'old' },
          ],
          headers: undefined,
        },
      },
      {
        name: 'a second factor from the environment, one value per line',
        args: ['--token', 'a'.repeat(16)],
        env: {
          KAR_BASIC_AUTH: 'u:new\nu:old\n',
          KAR_HEADERS: 'X-Key: new\nX-Key: old\nX-Other: v',
        },
        expect: {
          basicAuth: [
            { username: 'u', password: 'new' },
            { username: 'u', password: 'old' },
          ],
          headers: { 'x-key': ['new', 'old'], 'x-other': ['v'] },
        },
      },
      {
        name: '--header repeated: required headers merged',
        args: [
          '--secret',
          's',
          '--project',
          'p',
          '--receiver',
          'r',
          '--header',
          'X-Key: a',
          '--header',
          'x-key: b',
          '--header',
          'X-Other: c',
        ],
        expect: { headers: { 'x-key': ['a', 'b'], 'x-other': ['c'] } },
      },
    ];
    for (const row of table) {
      it(row.name, async () => {
        const config = await parse(row.args ?? [], row.env);
        const picked = Object.fromEntries(
          Object.keys(row.expect).map((k) => [k, config[k as keyof ServerConfig]]),
        );
        assert.deepEqual(picked, row.expect);
      });
    }

    it('the cluster-level receiver (project "") is not scoped to a namespace', () => {
      const flags = {
        port: 0,
        basePath: '/',
        systemNamespace: 'x',
        maxBodyBytes: 1,
        deadlineMs: 20_000,
        refreshConcurrency: 16,
        logLevel: 'info',
        shutdownTimeout: 1,
        secret: 's',
        project: '',
        receiver: 'r',
      } satisfies ServeFlags;
      assert.deepEqual(serveConfig(flags).namespaces, []);
    });
  });

  describe('urls (in process)', () => {
    let api: FakeKubeApi;
    let kubeconfig: TempKubeConfig;
    const token = kargoToken({
      project: 'kargo-demo',
      receiver: 'azure-wh-receiver',
      secret: 's3cr3t-of-the-url-spec',
    });

    before(async () => {
      api = new FakeKubeApi();
      await api.start();
      api.put({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { namespace: 'kargo-demo', name: 'azure-wh-secret' },
        data: { secret: Buffer.from('s3cr3t-of-the-url-spec').toString('base64') },
      });
      api.put({
        apiVersion: 'kargo.akuity.io/v1alpha1',
        kind: 'ProjectConfig',
        metadata: { namespace: 'kargo-demo', name: 'kargo-demo' },
        spec: {
          webhookReceivers: [
            { name: 'azure-wh-receiver', azure: { secretRef: { name: 'azure-wh-secret' } } },
            { name: 'broken', azure: { secretRef: { name: 'missing' } } },
          ],
        },
      });
      kubeconfig = new TempKubeConfig(api);
    });

    after(async () => {
      await api.close();
      kubeconfig.remove();
    });

    it('-o json: the list as JSON; broken receivers are warned about on stderr, never with a secret', async () => {
      const r = await runInProcess([
        'urls',
        '-o',
        'json',
        '--kubeconfig',
        kubeconfig.file,
        '--base-url',
        'https://h.example.com',
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), [
        {
          project: 'kargo-demo',
          name: 'azure-wh-receiver',
          path: `/azure/${token}`,
          url: `https://h.example.com/azure/${token}`,
        },
      ]);
      assert.match(r.stderr, /broken/);
      assert.ok(!r.stderr.includes('s3cr3t-of-the-url-spec'));
    });

    it('without --base-url: paths, and a hint on stderr', async () => {
      const r = await runInProcess(['urls', '--kubeconfig', kubeconfig.file]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        r.stdout
          .trimEnd()
          .split('\n')
          .map((l) => l.split(/\s+/)),
        [
          ['PROJECT', 'NAME', 'PATH'],
          ['kargo-demo', 'azure-wh-receiver', `/azure/${token}`],
        ],
      );
      assert.match(r.stderr, /pass --base-url to print full URLs/);
    });

    it('an unreachable cluster: exit 1 with a one-line message', async () => {
      const r = await runInProcess(['urls', '--kubeconfig', `${kubeconfig.dir}/missing.yaml`]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      assert.match(r.stderr, /^kargo-azure-receiver: /);
    });
  });

  describe('token-free labels and paths', () => {
    it('redactPath hides the token segment and the query', () => {
      const token = 'f'.repeat(64);
      assert.equal(redactPath(`/azure/${token}`), '/azure/[REDACTED]');
      assert.equal(
        redactPath(`/kargo/azure/${token}/x?t=${token}`),
        '/kargo/azure/[REDACTED]/x?[REDACTED]',
      );
      assert.equal(redactPath('/readyz'), '/readyz');
    });

    it('event types outside the allow-list become "other"', () => {
      assert.equal(eventLabel('git.push'), 'git.push');
      assert.equal(eventLabel('push'), 'push');
      assert.equal(eventLabel('f'.repeat(64)), 'other');
      assert.equal(eventLabel(undefined), 'none');
    });
  });
});
