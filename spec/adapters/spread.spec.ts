/**
 * Every adapter the package exports spreads into `azureReceiver`'s options
 * (`{ token, ...adapter }`) and then serves a webhook, while a misspelt
 * option beside it is still refused with the nearest name. The router knows
 * no concrete adapter: each lists its own members under `ADAPTER_MEMBERS`.
 */
import assert from 'node:assert/strict';
import express from 'express';
import request from 'supertest';
import * as main from '../../lib/index.js';
import {
  ADAPTER_MEMBERS,
  azureReceiver,
  kubernetesAdapter,
  memoryAdapter,
} from '../../lib/index.js';
import type { Adapter } from '../../lib/index.js';
import * as testing from '../../lib/testing/index.js';
import { acrPush, recordingAdapter } from '../../lib/testing/index.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { warehouseManifest } from '../support/manifests.js';
import { until } from './kubernetes/helpers.js';

const TOKEN = 'spread-adapter-token-0123456789';
const IMAGE = 'myregistry.azurecr.io/app';
const target = { kind: 'Warehouse', namespace: 'kargo-demo', name: 'app' } as const;

/** Builds an adapter holding one Warehouse subscribed to IMAGE, and how to dispose of it. */
type Build = () => Promise<{ adapter: Adapter; dispose: () => Promise<void> }>;

const factories: Record<string, Build> = {
  memoryAdapter: async () => ({
    adapter: memoryAdapter({ warehouses: [warehouseManifest('kargo-demo', 'app', IMAGE)] }),
    dispose: async () => undefined,
  }),
  recordingAdapter: async () => ({
    adapter: recordingAdapter({ targets: [target] }),
    dispose: async () => undefined,
  }),
  kubernetesAdapter: async () => {
    const api = new FakeKubeApi();
    await api.start();
    api.put(warehouseManifest('kargo-demo', 'app', IMAGE));
    const adapter = kubernetesAdapter({ kubeConfig: api.kubeConfig(), promotions: false });
    await adapter.ready();
    return {
      adapter,
      dispose: async () => {
        await adapter.close();
        await until(() => api.openConnections === 0, 'no connections left');
        await api.close();
      },
    };
  },
};

describe('every adapter of the package spreads into azureReceiver options', function () {
  it('the table covers every adapter factory the package and /testing export', function () {
    const exported = [...Object.entries(main), ...Object.entries(testing)]
      .filter(([name, value]) => typeof value === 'function' && /^[a-z]\w*Adapter$/.test(name))
      .map(([name]) => name)
      .sort();
    assert.deepEqual(exported, Object.keys(factories).sort());
  });

  for (const [name, build] of Object.entries(factories)) {
    it(`{ token, ...${name}() } serves a push`, async function () {
      const { adapter, dispose } = await build();
      try {
        const app = express();
        app.use('/azure', azureReceiver({ token: TOKEN, ...adapter }));
        const res = await request(app)
          .post(`/azure/${TOKEN}`)
          .send(acrPush({ repository: 'app', tag: '1.2.0' }));
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { msg: 'refreshed 1 warehouse(s)' });
      } finally {
        await dispose();
      }
    });

    it(`{ token, ...${name}(), deadlineMS } is refused with the nearest name`, async function () {
      const { adapter, dispose } = await build();
      try {
        const misspelt: Record<string, unknown> = { deadlineMS: 5000 };
        assert.throws(() => azureReceiver({ token: TOKEN, ...adapter, ...misspelt }), {
          name: 'TypeError',
          message:
            "[kargo-azure-receiver] options.deadlineMS is not an option: did you mean 'deadlineMs'?",
        });
      } finally {
        await dispose();
      }
    });
  }
});

describe('an adapter of your own lists its members under ADAPTER_MEMBERS', function () {
  const lookup = async () => [];
  const refresh = async () => undefined;

  it('its listed members are accepted, an unlisted one is refused', function () {
    const listed = { lookup, refresh, close: async () => undefined, [ADAPTER_MEMBERS]: ['close'] };
    assert.equal(typeof azureReceiver({ token: TOKEN, ...listed }), 'function');
    const unlisted = { lookup, refresh, close: async () => undefined };
    assert.throws(() => azureReceiver({ token: TOKEN, ...unlisted }), {
      name: 'TypeError',
      message:
        '[kargo-azure-receiver] options.close is not an option (valid: token, lookup, refresh, explainPush, maxBodyBytes, concurrency, logger, onWebhook, deadlineMs, signal, explain, basicAuth, headers)',
    });
  });

  it('a member named like an option is refused: ignoring it would drop the option', function () {
    const clashing = { lookup, refresh, logger: console, [ADAPTER_MEMBERS]: ['logger'] };
    assert.throws(() => azureReceiver({ token: TOKEN, ...clashing }), {
      name: 'TypeError',
      message:
        "[kargo-azure-receiver] options.logger: the spread adapter lists 'logger' as a member of its own, but it is an option of azureReceiver; rename the adapter's member",
    });
  });

  it('the key is shared across copies of the package (Symbol.for)', function () {
    assert.equal(ADAPTER_MEMBERS, Symbol.for('kargo-azure-receiver.adapterMembers'));
  });
});
