/**
 * When the cluster is not what we expect, the errors say so in words,
 * naming the API server and the kubeconfig context, never a secret: through
 * the real client against a closed port, a plain-HTTP server reached over
 * https, the fake API with the wrong token, without RBAC and without Kargo.
 */
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClusterError, kubernetesAdapter, listReceiverURLs } from '../../../lib/index.js';
import { explainKubeFailure } from '../../../lib/adapters/kubernetes/errors.js';
import { FakeKubeApi, KARGO_TYPES } from '../../support/fake-kube-api.js';
import { RecordingLogger } from '../../support/recording-adapter.js';
import { FakeSleep, until } from './helpers.js';

const SECRET_TOKEN = 'a-bearer-token-that-must-never-be-printed';

function kubeConfigFor(server: string, token = SECRET_TOKEN): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'team-ctx', cluster: 'c', user: 'u' }],
    currentContext: 'team-ctx',
  });
  return kc;
}

async function rejectionOf(promise: Promise<unknown>): Promise<KubeClusterError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof KubeClusterError, `a KubeClusterError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('errors when the cluster is not what we expect', function () {
  let api: FakeKubeApi;
  let noKargo: FakeKubeApi;
  let closedURL: string;

  before(async function () {
    api = new FakeKubeApi();
    await api.start();
    noKargo = new FakeKubeApi({ types: KARGO_TYPES.filter((t) => t.group === '') });
    await noKargo.start();
    const closed = new FakeKubeApi();
    await closed.start();
    closedURL = closed.url;
    await closed.close();
  });
  after(async function () {
    await api.close();
    await noKargo.close();
  });

  const cases: Array<{
    name: string;
    kubeConfig: () => KubeConfig;
    setup?: () => void;
    code: string;
    message: (server: string) => RegExp | string;
  }> = [
    {
      name: 'connection refused',
      kubeConfig: () => kubeConfigFor(closedURL),
      code: 'KUBE_UNREACHABLE',
      message: (server) =>
        `cannot reach the Kubernetes API server ${server} (context "team-ctx"): connection refused (is the API server running, and is this its address?)`,
    },
    {
      name: 'TLS to a server that does not speak it',
      kubeConfig: () => kubeConfigFor(api.url.replace('http:', 'https:')),
      code: 'KUBE_TLS',
      message: (server) =>
        new RegExp(
          `^TLS with the Kubernetes API server ${server.replace('http:', 'https:').replace(/[.]/g, '\\.')} \\(context "team-ctx"\\) failed \\((EPROTO|ERR_SSL_[A-Z_]+)\\): check the cluster's certificate-authority data, the server name, and that the server speaks HTTPS$`,
        ),
    },
    {
      name: '401: wrong token',
      kubeConfig: () => kubeConfigFor(api.url, 'wrong-token-also-secret'),
      code: 'KUBE_UNAUTHORIZED',
      message: (server) =>
        `the Kubernetes API server ${server} (context "team-ctx") did not accept the credentials (401 Unauthorized): the token or client certificate of the context's user is missing, expired or wrong`,
    },
    {
      name: '403: no RBAC permission',
      kubeConfig: () => kubeConfigFor(api.url, api.bearerToken),
      setup: () => api.fault({ path: '/projectconfigs', status: 403 }),
      code: 'KUBE_FORBIDDEN',
      message: (server) =>
        `the Kubernetes API server ${server} (context "team-ctx") refused access to projectconfigs.kargo.akuity.io (403 Forbidden): the context's user or service account lacks an RBAC permission (see the RBAC of the Helm chart, charts/kargo-azure-receiver)`,
    },
    {
      name: '404: Kargo not installed',
      kubeConfig: () => kubeConfigFor(noKargo.url, noKargo.bearerToken),
      code: 'KUBE_CRDS_MISSING',
      message: (server) =>
        `the Kubernetes API server ${server} (context "team-ctx") has no projectconfigs.kargo.akuity.io (404 Not Found): Kargo's CRDs are not installed in this cluster; install Kargo first`,
    },
  ];

  for (const c of cases) {
    it(`listReceiverURLs, ${c.name}: ${c.code} in words, no secret`, async function () {
      c.setup?.();
      const kubeConfig = c.kubeConfig();
      const server = kubeConfig.getCurrentCluster()!.server;
      const err = await rejectionOf(listReceiverURLs({ kubeConfig, requestTimeoutMs: 5000 }));
      assert.equal(err.code, c.code);
      assert.equal(err.context, 'team-ctx');
      assert.equal(err.server, server);
      const expected = c.message(
        c.name.startsWith('TLS') ? server.replace('https:', 'http:') : server,
      );
      if (typeof expected === 'string') assert.equal(err.message, expected);
      else assert.match(err.message, expected);
      assert.doesNotMatch(JSON.stringify({ ...err, message: err.message }), /secret|wrong-token/);
    });
  }

  it('the adapter logs each failed watch with the explanation (no kubeconfig found)', async function () {
    // What client-node's loadFromDefault() produces when it finds nothing.
    const fallback = new KubeConfig();
    fallback.loadFromClusterAndUser(
      { name: 'cluster', server: 'http://localhost:8080', skipTLSVerify: false },
      { name: 'user' },
    );
    const logger = new RecordingLogger();
    const sleep = new FakeSleep();
    sleep.gate();
    const adapter = kubernetesAdapter({
      kubeConfig: fallback,
      logger,
      sleep: sleep.sleep,
      promotions: false,
    });
    try {
      await until(() => logger.lines.some((l) => l.msg === 'Kubernetes watch failed, retrying'));
      const line = logger.lines.find((l) => l.msg === 'Kubernetes watch failed, retrying')!;
      assert.equal(
        (line.obj as { problem?: string }).problem,
        `no kubeconfig found: KUBECONFIG is not set, ${process.env.HOME}/.kube/config does not exist and this is not a pod (no service account token at /var/run/secrets/kubernetes.io/serviceaccount/token); point KUBECONFIG (or --kubeconfig) at a kubeconfig file`,
      );
    } finally {
      sleep.release();
      await adapter.close();
    }
  });

  it('explainKubeFailure strips user info from the server URL, and reads ApiException codes', function () {
    const kc = kubeConfigFor('https://admin:hunter2@k8s.example.com:6443/prefix?x=1');
    const err = explainKubeFailure({ code: 500 }, kc, {
      group: 'kargo.akuity.io',
      plural: 'warehouses',
    });
    assert.equal(err.server, 'https://k8s.example.com:6443/prefix');
    assert.equal(
      err.message,
      'the Kubernetes API server https://k8s.example.com:6443/prefix (context "team-ctx") answered 500 for warehouses.kargo.akuity.io',
    );
    assert.equal(err.code, 'KUBE_UNAVAILABLE');
  });
});
