/**
 * The command line without a usable cluster: the root cause in one line
 * (explain, urls), in every retry line and in /readyz (serve); and one
 * sentence for where the kubeconfig comes from, in every help text and in
 * docs/configuration.md (the one page that gives the order).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KUBECONFIG_SEARCH_ORDER } from '../../lib/kube/search-order.js';
import { acrPush } from '../../lib/testing/index.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { ServeProcess, TempKubeConfig, runCli } from './cli-harness.js';

const NO_CONFIG = (home: string) =>
  `no kubeconfig found: KUBECONFIG is not set, ${home}/.kube/config does not exist and this is not a pod (no service account token at /var/run/secrets/kubernetes.io/serviceaccount/token); point KUBECONFIG (or --kubeconfig) at a kubeconfig file`;

describe('command line without a cluster: the root cause, not the symptom', function () {
  this.timeout(30_000);
  let home: string;
  let payload: string;

  beforeEach(function () {
    home = mkdtempSync(join(tmpdir(), 'kar-home-'));
    payload = join(home, 'push.json');
    writeFileSync(payload, JSON.stringify(acrPush({ repository: 'hello-world' })));
  });

  afterEach(function () {
    rmSync(home, { recursive: true, force: true });
  });

  it('explain with no kubeconfig anywhere: one line naming the cause, exit 1', async function () {
    const run = await runCli(['explain', payload], { HOME: home });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, `kargo-azure-receiver: ${NO_CONFIG(home)}\n`);
  });

  it('explain and urls with KUBECONFIG naming a missing file: one line naming it', async function () {
    const missing = join(home, 'x');
    const explain = await runCli(['explain', payload], { HOME: home, KUBECONFIG: missing });
    assert.equal(explain.code, 1);
    assert.equal(
      explain.stderr,
      `kargo-azure-receiver: the kubeconfig ${missing} named by KUBECONFIG does not exist\n`,
    );
    const urls = await runCli(['urls', '--kubeconfig', missing], { HOME: home });
    assert.equal(urls.code, 1);
    assert.equal(
      urls.stderr,
      `kargo-azure-receiver: the kubeconfig ${missing} named by --kubeconfig does not exist\n`,
    );
  });

  it('explain against an API server that cannot be reached: one line with the cause (not eight warnings, not "not synced")', async function () {
    const api = new FakeKubeApi();
    await api.start();
    const kubeconfig = new TempKubeConfig(api);
    await api.close();
    try {
      const run = await runCli(['explain', payload], { HOME: home, KUBECONFIG: kubeconfig.file });
      assert.equal(run.code, 1);
      assert.equal(run.stdout, '');
      assert.match(
        run.stderr,
        /^kargo-azure-receiver: cannot reach the Kubernetes API server http:\/\/127\.0\.0\.1:\d+ \(context "fake"\): connection refused \(is the API server running, and is this its address\?\)\n$/,
      );
    } finally {
      kubeconfig.remove();
    }
  });

  it('serve with no kubeconfig anywhere: the cause in every retry line and in the /readyz reason', async function () {
    const serve = new ServeProcess(
      ['--port', '0', '--host', '127.0.0.1', '--project', 'p', '--receiver', 'r'],
      { HOME: home, KAR_SECRET: 'a-secret-of-the-test', KAR_BASIC_AUTH: 'u:p' },
    );
    try {
      const { url } = (await serve.listening()) as { url: string };
      await serve.waitForLog(
        () => serve.logs.filter((l) => l.msg === 'Kubernetes watch failed, retrying').length >= 2,
      );
      const retries = serve.logs.filter((l) => l.msg === 'Kubernetes watch failed, retrying');
      for (const line of retries) assert.equal(line.problem, NO_CONFIG(home));
      const res = await fetch(`${url}/readyz`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { error: string };
      const prefix = `not ready: Kubernetes caches not synced: ${NO_CONFIG(home)} (`;
      assert.ok(body.error.startsWith(prefix), body.error);
      assert.match(
        body.error.slice(prefix.length),
        /^warehouses watch in namespace p down \d+ s, promotions watch in namespace p down \d+ s\)$/,
      );
    } finally {
      await serve.stop();
    }
  });

  it('one sentence for where the kubeconfig comes from, in client-node order, in every help text and docs/configuration.md', async function () {
    const flat = (text: string) => text.replace(/\s+/g, ' ');
    const expected = `kubeconfig file (default: ${KUBECONFIG_SEARCH_ORDER})`;
    for (const command of ['serve', 'urls', 'explain']) {
      const help = await runCli([command, '--help']);
      assert.equal(help.code, 0);
      assert.ok(flat(help.stdout).includes(expected), `${command} --help:\n${help.stdout}`);
      assert.doesNotMatch(help.stdout, /in-cluster service account, then|then the in-cluster/);
    }
    const page = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    assert.ok(page.includes(KUBECONFIG_SEARCH_ORDER));
    assert.doesNotMatch(page, /else the in-cluster service account|in-cluster, KUBECONFIG/);
  });
});
