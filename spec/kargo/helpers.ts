import assert from 'node:assert/strict';
import type { FakeKubeApi, KubeObject } from '../support/fake-kube-api.js';

// The repository of spec/fixtures/azure/acr-push.json; its tag "v1" is no strict semver, hence NewestBuild below.
export const IMAGE_REPO = 'myregistry.azurecr.io/hello-world';

/** Polls until `condition` holds (the watches are asynchronous), failing after ~2 s. */
export async function until(condition: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++)
    await new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 200 && !condition(); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), `${what} not reached`);
}

export function warehouse(namespace: string, name: string, repoURL = IMAGE_REPO): KubeObject {
  return {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Warehouse',
    metadata: { namespace, name },
    spec: { subscriptions: [{ image: { repoURL, imageSelectionStrategy: 'NewestBuild' } }] },
  };
}

/** A Secret whose `data.secret` is `secret` (base64-encoded as the API returns it); `data` replaces the whole map. */
export function secret(
  namespace: string,
  name: string,
  value: string | undefined,
  data?: Record<string, string>,
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace, name, labels: { 'kargo.akuity.io/cred-type': 'generic' } },
    data:
      data ??
      (value === undefined ? {} : { secret: Buffer.from(value, 'utf8').toString('base64') }),
  };
}

export interface ReceiverDecl {
  name: string;
  azure?: { secretRef: { name: string } };
  github?: { secretRef: { name: string } };
}

export function azure(name: string, secretName: string): ReceiverDecl {
  return { name, azure: { secretRef: { name: secretName } } };
}

export function projectConfig(
  namespace: string,
  receivers: ReceiverDecl[],
  status?: object,
): KubeObject {
  return {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'ProjectConfig',
    metadata: { namespace, name: namespace },
    spec: { webhookReceivers: receivers },
    ...(status ? { status } : {}),
  };
}

export function clusterConfig(receivers: ReceiverDecl[]): KubeObject {
  return {
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'ClusterConfig',
    metadata: { name: 'cluster' },
    spec: { webhookReceivers: receivers },
  };
}

/** The PATCHes of Warehouses the fake server received, as `namespace/name`. */
export function warehousePatches(api: FakeKubeApi): string[] {
  return api
    .requestsTo('PATCH', '/warehouses/')
    .map((r) => /\/namespaces\/([^/]+)\/warehouses\/([^/]+)$/.exec(r.path))
    .map((m) => `${m?.[1]}/${m?.[2]}`)
    .sort();
}
