import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ExplainCommandOptions } from '../../lib/server/explain-command.js';
import { explain } from '../../lib/server/explain.js';
import { until } from '../adapters/kubernetes/helpers.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { fixtureText } from '../support/fixtures.js';
import { warehouseManifest } from '../support/manifests.js';
import { TempKubeConfig, runCli, runInProcess } from './cli-harness.js';

const FIXTURES = 'spec/fixtures/azure';
const MANIFESTS = 'examples/manifests.yaml';
const HELLO = 'myregistry.azurecr.io/hello-world';
const FABRIKAM =
  'https://dev.azure.com/fabrikam-fiber-inc/fabrikam-fiber-git/_git/fabrikam-fiber-git';

/** Runs the command in process with `stdin` as standard input. */
async function run(
  options: Partial<ExplainCommandOptions> & { payload: string },
  stdin = '',
): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  await explain(
    { manifests: undefined, namespaces: [], json: false, kubeconfig: undefined, ...options },
    {
      stdin: Readable.from([Buffer.from(stdin)]),
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
    },
  );
  return { stdout, stderr };
}

describe('kargo-azure-receiver explain', function () {
  // The child process loads TypeScript through tsx: seconds on a busy machine.
  this.timeout(30_000);

  describe('on manifests (offline, as the demo)', () => {
    it('a real ACR push: a table of Warehouse, subscription, verdict, reason', async () => {
      const { stdout } = await run({
        payload: `${FIXTURES}/acr-push.json`,
        manifests: MANIFESTS,
      });
      assert.equal(
        stdout,
        [
          'acr push: would refresh 1 warehouse(s)',
          `pushed: image ${HELLO} (v1)`,
          '',
          'WAREHOUSE                      SUBSCRIPTION                             VERDICT  REASON',
          `kargo-demo/hello-world         image ${HELLO}  refresh  spec.subscriptions[0] takes tag "v1"`,
          `kargo-demo/hello-world-semver  image ${HELLO}  skip     spec.subscriptions[0]: tag "v1" is not a strict semantic version`,
          '',
        ].join('\n'),
      );
    });

    it('a real git.push with --json: the same report as JSON, the default branch named', async () => {
      const { stdout } = await run({
        payload: `${FIXTURES}/devops-git-push.json`,
        manifests: MANIFESTS,
        json: true,
      });
      assert.deepEqual(JSON.parse(stdout), {
        source: 'azure-devops',
        eventType: 'git.push',
        action: 'refresh',
        msg: 'would refresh 1 warehouse(s)',
        subject: `Git repository ${FABRIKAM}`,
        qualifiers: ['refs/heads/main'],
        defaultBranch: 'main',
        rows: [
          {
            kind: 'Warehouse',
            namespace: 'kargo-demo',
            name: 'fabrikam-main',
            subscription: `git ${FABRIKAM}`,
            verdict: 'refresh',
            reason: 'spec.subscriptions[0] takes refs/heads/main',
          },
          {
            kind: 'Warehouse',
            namespace: 'kargo-demo',
            name: 'fabrikam-master',
            subscription: `git ${FABRIKAM}`,
            verdict: 'skip',
            reason: 'spec.subscriptions[0]: branch "main" is not "master"',
          },
        ],
      });
    });

    it('the payload on standard input (-), --namespace of another project: nothing, and the hint', async () => {
      const { stdout } = await run(
        { payload: '-', manifests: MANIFESTS, namespaces: ['other-project'] },
        fixtureText('acr-push'),
      );
      assert.equal(
        stdout,
        [
          'acr push: would refresh 0 warehouse(s)',
          `pushed: image ${HELLO} (v1)`,
          '',
          `hint: no Warehouse subscribes to image ${HELLO}`,
          '',
        ].join('\n'),
      );
    });

    it('near misses are rows of their own', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kar-explain-'));
      try {
        const file = join(dir, 'manifests.yaml');
        writeFileSync(
          file,
          [
            'apiVersion: kargo.akuity.io/v1alpha1',
            'kind: Warehouse',
            'metadata: { name: eu, namespace: kargo-demo }',
            'spec:',
            '  subscriptions:',
            '    - image: { repoURL: myregistry-eu.azurecr.io/hello-world }',
            '---',
            'apiVersion: kargo.akuity.io/v1alpha1',
            'kind: ProjectConfig',
            'metadata: { name: kargo-demo, namespace: kargo-demo }',
            '',
          ].join('\n'),
        );
        const { stdout, stderr } = await run({
          payload: `${FIXTURES}/acr-push.json`,
          manifests: file,
        });
        assert.equal(
          stdout,
          [
            'acr push: would refresh 0 warehouse(s)',
            `pushed: image ${HELLO} (v1)`,
            '',
            'WAREHOUSE      SUBSCRIPTION                                VERDICT    REASON',
            'kargo-demo/eu  image myregistry-eu.azurecr.io/hello-world  near miss  another registry host or login server: myregistry-eu.azurecr.io instead of myregistry.azurecr.io',
            '',
            `hint: no Warehouse subscribes to image ${HELLO}; Warehouse kargo-demo/eu subscribes to image myregistry-eu.azurecr.io/hello-world (another registry host or login server: myregistry-eu.azurecr.io instead of myregistry.azurecr.io)`,
            '',
          ].join('\n'),
        );
        // Objects of other kinds are left out, not warned about.
        assert.equal(stderr, '');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a merged pull request: the Promotions waiting on it', async () => {
      const { stdout } = await run({
        payload: `${FIXTURES}/devops-pr-merged.json`,
        manifests: MANIFESTS,
      });
      const pr = 'https://dev.azure.com/fabrikam/fabrikam/_git/fabrikam/pullrequest/1';
      assert.equal(
        stdout,
        [
          'azure-devops git.pullrequest.merged: would refresh 1 promotion(s)',
          `pushed: ${pr}`,
          '',
          'PROMOTION                       SUBSCRIPTION                                                         VERDICT  REASON',
          `kargo-demo/prod.01hxyz.abc1234  ${pr}  refresh  a running Promotion waits on this pull request`,
          '',
        ].join('\n'),
      );
    });

    it('a ping and an event that needs no refresh: what the receiver would answer', async () => {
      const ping = await run({ payload: '-', manifests: MANIFESTS }, '{"action":"ping"}');
      assert.equal(ping.stdout, 'acr ping: a ping: nothing to refresh\n');
      const deleted = await run({ payload: `${FIXTURES}/acr-delete.json`, manifests: MANIFESTS });
      assert.equal(deleted.stdout, 'acr delete: delete events need no refresh\n');
    });
  });

  describe('the command line (flags, errors, exit codes)', () => {
    const table: Array<{
      name: string;
      args: string[];
      stdout?: RegExp;
      stderr: RegExp;
      code: number;
    }> = [
      {
        name: 'a missing file',
        args: ['explain', 'missing.json', '--manifests', MANIFESTS],
        stderr: /^kargo-azure-receiver: cannot read missing\.json \(ENOENT\)\n$/,
        code: 1,
      },
      {
        name: 'a payload that is not JSON',
        args: ['explain', MANIFESTS, '--manifests', MANIFESTS],
        stderr: /^kargo-azure-receiver: examples\/manifests\.yaml is not JSON\n$/,
        code: 1,
      },
      {
        name: 'JSON that is no Azure event',
        args: ['explain', 'package.json', '--manifests', MANIFESTS],
        stderr:
          /^kargo-azure-receiver: package\.json is neither an Azure Container Registry nor an Azure DevOps event\n$/,
        code: 1,
      },
      {
        name: 'a manifests file that cannot be read',
        args: ['explain', `${FIXTURES}/acr-push.json`, '--manifests', 'missing.yaml'],
        stderr: /^kargo-azure-receiver: cannot read missing\.yaml \(ENOENT\)\n$/,
        code: 1,
      },
      {
        name: 'a --namespace that is no namespace name',
        args: [
          'explain',
          `${FIXTURES}/acr-push.json`,
          '--manifests',
          MANIFESTS,
          '-n',
          'Kargo_Demo',
        ],
        stderr: /^error: --namespace "Kargo_Demo" is not a Kubernetes namespace name\.\n$/,
        code: 2,
      },
      {
        name: 'no payload argument',
        args: ['explain'],
        stderr: /^error: missing required argument 'payload'\n$/,
        code: 2,
      },
      {
        name: '--json through the program',
        args: [
          'explain',
          `${FIXTURES}/acr-push.json`,
          '--manifests',
          MANIFESTS,
          '--json',
          '-n',
          'kargo-demo',
        ],
        stdout: /"msg": "would refresh 1 warehouse\(s\)"/,
        stderr: /^$/,
        code: 0,
      },
    ];
    for (const c of table) {
      it(c.name, async () => {
        const r = await runInProcess(c.args);
        assert.equal(r.code, c.code, r.stderr);
        assert.match(r.stderr, c.stderr);
        if (c.stdout) assert.match(r.stdout, c.stdout);
      });
    }

    it('the real command (child process) loads explain lazily', async () => {
      const r = await runCli(['explain', `${FIXTURES}/acr-push.json`, '--manifests', MANIFESTS]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^acr push: would refresh 1 warehouse\(s\)\n/);
    });
  });

  describe('on the cluster, through the fake API server', () => {
    let api: FakeKubeApi;
    let kubeconfig: TempKubeConfig;
    before(async () => {
      api = new FakeKubeApi();
      await api.start();
      api.put(
        warehouseManifest('kargo-demo', 'lexical', {
          image: { repoURL: HELLO, imageSelectionStrategy: 'Lexical' },
        }),
      );
      api.put(
        warehouseManifest('other-project', 'semver', {
          image: { repoURL: HELLO, semverConstraint: '^1.0.0' },
        }),
      );
      kubeconfig = new TempKubeConfig(api);
    });
    after(async () => {
      await until(() => api.openConnections === 0, 'no connections left');
      await api.close();
      kubeconfig.remove();
    });

    it('lists the Warehouses, explains, and patches nothing', async () => {
      const before = api.requests.length;
      const { stdout } = await run({
        payload: `${FIXTURES}/acr-push.json`,
        kubeconfig: kubeconfig.file,
        json: true,
      });
      assert.deepEqual(JSON.parse(stdout), {
        source: 'acr',
        eventType: 'push',
        action: 'refresh',
        msg: 'would refresh 1 warehouse(s)',
        subject: `image ${HELLO}`,
        qualifiers: ['v1'],
        rows: [
          {
            kind: 'Warehouse',
            namespace: 'kargo-demo',
            name: 'lexical',
            subscription: `image ${HELLO}`,
            verdict: 'refresh',
            reason: 'spec.subscriptions[0] takes tag "v1"',
          },
          {
            kind: 'Warehouse',
            namespace: 'other-project',
            name: 'semver',
            subscription: `image ${HELLO}`,
            verdict: 'skip',
            reason: 'spec.subscriptions[0]: tag "v1" is not a strict semantic version',
          },
        ],
      });
      const made = api.requests.slice(before);
      assert.ok(
        made.some((r) => r.path === '/apis/kargo.akuity.io/v1alpha1/warehouses' && !r.watch),
      );
      assert.deepEqual([...new Set(made.map((r) => r.method))], ['GET']);
      assert.equal(
        api.get({ kind: 'Warehouse', namespace: 'kargo-demo', name: 'lexical' })?.metadata
          ?.annotations,
        undefined,
      );
    });

    it('--namespace lists that project only', async () => {
      const before = api.requests.length;
      const { stdout } = await run({
        payload: `${FIXTURES}/acr-push.json`,
        kubeconfig: kubeconfig.file,
        namespaces: ['other-project'],
      });
      assert.equal(
        stdout,
        [
          'acr push: would refresh 0 warehouse(s)',
          `pushed: image ${HELLO} (v1)`,
          '',
          'WAREHOUSE             SUBSCRIPTION                             VERDICT  REASON',
          `other-project/semver  image ${HELLO}  skip     spec.subscriptions[0]: tag "v1" is not a strict semantic version`,
          '',
          `hint: 1 Warehouse subscribes to image ${HELLO}; none takes tag "v1": other-project/semver: spec.subscriptions[0]: tag "v1" is not a strict semantic version`,
          '',
        ].join('\n'),
      );
      const paths = new Set(api.requests.slice(before).map((r) => r.path));
      assert.ok(paths.has('/apis/kargo.akuity.io/v1alpha1/namespaces/other-project/warehouses'));
      assert.ok(!paths.has('/apis/kargo.akuity.io/v1alpha1/warehouses'));
    });
  });
});
