/**
 * Where the kubeconfig comes from, and its failures in words: client-node's
 * `loadFromDefault()` silently falls back to `http://localhost:8080` when it
 * finds nothing, throws a raw ENOENT for a missing KUBECONFIG file and a
 * YAMLException (quoting the file) for one that is not YAML.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kargoReceivers, kubernetesAdapter } from '../../../lib/index.js';
import {
  KubeClusterError,
  SERVICE_ACCOUNT_TOKEN,
} from '../../../lib/adapters/kubernetes/errors.js';
import { loadKubeConfig } from '../../../lib/adapters/kubernetes/kube-config.js';

/** Runs `fn` with KUBECONFIG and HOME set as given (undefined: unset), restoring them after. */
function withEnv<T>(env: { KUBECONFIG?: string; HOME?: string }, fn: () => T): T {
  const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME };
  const set = (k: 'KUBECONFIG' | 'HOME', v: string | undefined) => {
    if (v !== undefined) process.env[k] = v;
    else if (k === 'HOME') delete process.env.HOME;
    else delete process.env.KUBECONFIG;
  };
  set('KUBECONFIG', env.KUBECONFIG);
  set('HOME', env.HOME);
  try {
    return fn();
  } finally {
    set('KUBECONFIG', saved.KUBECONFIG);
    set('HOME', saved.HOME);
  }
}

/** The error `fn` throws, checked to be a worded KubeClusterError (no class name, no stack, one line). */
function clusterError(fn: () => unknown): KubeClusterError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KubeClusterError, String(err));
    assert.doesNotMatch(err.message, /Exception|Error|ENOENT|\n/);
    return err;
  }
  assert.fail('expected a KubeClusterError');
}

describe('kubeconfig: found where client-node looks, failures in words', function () {
  let dir: string;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'kar-kubeconfig-'));
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('no kubeconfig anywhere: kubernetesAdapter() throws KUBE_NO_CONFIG naming the places searched (not a silent localhost:8080)', function () {
    if (existsSync(SERVICE_ACCOUNT_TOKEN)) this.skip(); // inside a pod, the service account is a kubeconfig
    const expected = `no kubeconfig found: KUBECONFIG is not set, ${dir}/.kube/config does not exist and this is not a pod (no service account token at /var/run/secrets/kubernetes.io/serviceaccount/token); point KUBECONFIG (or --kubeconfig) at a kubeconfig file`;
    const err = clusterError(() => withEnv({ HOME: dir }, () => kubernetesAdapter()));
    assert.equal(err.code, 'KUBE_NO_CONFIG');
    assert.equal(err.message, expected);
    const kargo = clusterError(() => withEnv({ HOME: dir }, () => kargoReceivers()));
    assert.equal(kargo.code, 'KUBE_NO_CONFIG');
    assert.equal(kargo.message, expected);
  });

  it('KUBECONFIG naming a file that does not exist', function () {
    const missing = join(dir, 'x');
    const err = clusterError(() =>
      withEnv({ KUBECONFIG: missing, HOME: dir }, () => loadKubeConfig()),
    );
    assert.equal(err.code, 'KUBE_NO_CONFIG');
    assert.equal(err.message, `the kubeconfig ${missing} named by KUBECONFIG does not exist`);
  });

  it('the second file of KUBECONFIG missing', function () {
    const good = join(dir, 'good');
    writeFileSync(good, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
    const missing = join(dir, 'gone');
    const err = clusterError(() =>
      withEnv({ KUBECONFIG: `${good}:${missing}`, HOME: dir }, () => loadKubeConfig()),
    );
    assert.equal(err.message, `the kubeconfig ${missing} named by KUBECONFIG does not exist`);
  });

  it('--kubeconfig naming a file that does not exist', function () {
    const missing = join(dir, 'nope.yaml');
    const err = clusterError(() => loadKubeConfig(missing));
    assert.equal(err.message, `the kubeconfig ${missing} named by --kubeconfig does not exist`);
  });

  it('a kubeconfig that is not YAML: the line, never the content', function () {
    const bad = join(dir, 'bad');
    writeFileSync(bad, 'apiVersion: v1\nkind: Config\n  token: "s3cr3t-token\n');
    const err = clusterError(() => withEnv({ KUBECONFIG: bad, HOME: dir }, () => loadKubeConfig()));
    assert.equal(err.code, 'KUBE_BAD_CONFIG');
    assert.equal(
      err.message,
      `the kubeconfig ${bad} named by KUBECONFIG is not valid YAML: line 3`,
    );
  });

  it('~/.kube/config that is not YAML', function () {
    mkdirSync(join(dir, '.kube'));
    const config = join(dir, '.kube', 'config');
    writeFileSync(config, 'apiVersion: v1\nkind: Config\n  token: "s3cr3t-token\n');
    const err = clusterError(() => withEnv({ HOME: dir }, () => loadKubeConfig()));
    assert.equal(err.message, `the kubeconfig ${config} is not valid YAML: line 3`);
  });

  it('a kubeconfig client-node refuses: the missing field, no stack', function () {
    const bad = join(dir, 'no-server');
    writeFileSync(bad, 'clusters:\n- name: c\n  cluster: {}\n');
    const err = clusterError(() => loadKubeConfig(bad));
    assert.equal(
      err.message,
      `the kubeconfig ${bad} named by --kubeconfig is not a kubeconfig: clusters[0].cluster.server is missing`,
    );
  });

  it('with allowMissing (serve), no kubeconfig gives client-node fallback, which every retry then names', function () {
    if (existsSync(SERVICE_ACCOUNT_TOKEN)) this.skip();
    const kubeConfig = withEnv({ HOME: dir }, () =>
      loadKubeConfig(undefined, { allowMissing: true }),
    );
    assert.equal(kubeConfig.getCurrentCluster()?.server, 'http://localhost:8080');
  });
});
