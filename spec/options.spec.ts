import assert from 'node:assert/strict';
import { ADAPTER_MEMBERS, azureReceiver, memoryAdapter } from '../lib/index.js';
import type { AzureReceiverOptions } from '../lib/index.js';
import { kubernetesAdapter } from '../lib/adapters/kubernetes/index.js';
import type { BackoffOptions, KubernetesAdapter } from '../lib/adapters/kubernetes/index.js';
import { kargoReceiversConfig, type KargoReceiversOptions } from '../lib/kargo/options.js';

const lookup = async () => [];
const refresh = async () => undefined;
const TOKEN = 'x'.repeat(32);

const cases: Array<{ name: string; options: unknown; message: string }> = [
  {
    name: 'no options',
    options: undefined,
    message: '[kargo-azure-receiver] options are required',
  },
  {
    name: 'no token',
    options: { lookup, refresh },
    message: '[kargo-azure-receiver] options.token is required',
  },
  {
    name: 'short token',
    options: { token: 'short', lookup, refresh },
    message:
      '[kargo-azure-receiver] options.token must be at least 16 characters: a short token in a URL can be guessed (use kargoToken() or 32 random bytes in hex)',
  },
  {
    name: 'short token in a list',
    options: { token: [TOKEN, 'short'], lookup, refresh },
    message:
      '[kargo-azure-receiver] options.token[1] must be at least 16 characters: a short token in a URL can be guessed (use kargoToken() or 32 random bytes in hex)',
  },
  {
    name: 'token with a slash',
    options: { token: 'abc/defghijklmnopqrstu', lookup, refresh },
    message:
      '[kargo-azure-receiver] options.token must use only URL-safe characters [A-Za-z0-9._~-]',
  },
  {
    name: 'empty token list',
    options: { token: [], lookup, refresh },
    message: '[kargo-azure-receiver] options.token must hold at least one token',
  },
  {
    name: 'token not a string',
    options: { token: 42, lookup, refresh },
    message: '[kargo-azure-receiver] options.token must be a string or an array of strings',
  },
  {
    name: 'no lookup',
    options: { token: TOKEN, refresh },
    message:
      '[kargo-azure-receiver] options.lookup is required: spread an adapter into the options, such as memoryAdapter() or kubernetesAdapter()',
  },
  {
    name: 'refresh not a function',
    options: { token: TOKEN, lookup, refresh: 'x' },
    message: '[kargo-azure-receiver] options.refresh must be of type function',
  },
  {
    name: 'maxBodyBytes zero',
    options: { token: TOKEN, lookup, refresh, maxBodyBytes: 0 },
    message: '[kargo-azure-receiver] options.maxBodyBytes must be greater than or equal to 1',
  },
  {
    name: 'maxBodyBytes as a string',
    options: { token: TOKEN, lookup, refresh, maxBodyBytes: '2mb' },
    message: '[kargo-azure-receiver] options.maxBodyBytes must be a number',
  },
  {
    name: 'concurrency fractional',
    options: { token: TOKEN, lookup, refresh, concurrency: 1.5 },
    message: '[kargo-azure-receiver] options.concurrency must be an integer',
  },
  {
    name: 'logger without error()',
    options: { token: TOKEN, lookup, refresh, logger: { debug() {}, info() {}, warn() {} } },
    message:
      '[kargo-azure-receiver] options.logger.error is required: a logger needs debug, info, warn and error methods',
  },
];

describe('azureReceiver options', () => {
  for (const c of cases) {
    it(`rejects ${c.name} at factory time`, () => {
      assert.throws(
        () => azureReceiver(c.options as AzureReceiverOptions),
        (err: unknown) => {
          assert.ok(err instanceof TypeError);
          assert.equal(err.message, c.message);
          return true;
        },
      );
    });
  }

  it('accepts a minimal configuration and the listed members of a spread adapter', () => {
    assert.equal(typeof azureReceiver({ token: TOKEN, lookup, refresh }), 'function');
    const adapter = {
      lookup,
      refresh,
      close: async () => undefined,
      refreshed: [],
      [ADAPTER_MEMBERS]: ['close', 'refreshed'],
    };
    const router = azureReceiver({ token: TOKEN, ...adapter });
    assert.equal(typeof router, 'function');
  });
});

describe('misspelt options are refused, with the nearest valid name', () => {
  it('azureReceiver: at compile time and at run time', () => {
    assert.throws(
      () =>
        azureReceiver({
          token: TOKEN,
          lookup,
          refresh,
          // @ts-expect-error -- TypeScript: "Did you mean to write 'deadlineMs'?"
          deadlineMS: 5000,
        }),
      {
        name: 'TypeError',
        message:
          "[kargo-azure-receiver] options.deadlineMS is not an option: did you mean 'deadlineMs'?",
      },
    );
  });

  const receiverCases: Array<{ key: string; message: string }> = [
    {
      key: 'maxBodySize',
      message: "options.maxBodySize is not an option: did you mean 'maxBodyBytes'?",
    },
    { key: 'onwebhook', message: "options.onwebhook is not an option: did you mean 'onWebhook'?" },
    { key: 'tokens', message: "options.tokens is not an option: did you mean 'token'?" },
    {
      key: 'concurency',
      message: "options.concurency is not an option: did you mean 'concurrency'?",
    },
    {
      key: 'verbose',
      message:
        'options.verbose is not an option (valid: token, lookup, refresh, explainPush, maxBodyBytes, concurrency, logger, onWebhook, deadlineMs, signal, explain, basicAuth, headers)',
    },
  ];
  for (const c of receiverCases) {
    it(`azureReceiver: ${c.key} beside a spread adapter`, () => {
      // Spread: as a user would pass options built elsewhere.
      const misspelt: Record<string, unknown> = { [c.key]: 1 };
      assert.throws(() => azureReceiver({ token: TOKEN, ...memoryAdapter(), ...misspelt }), {
        name: 'TypeError',
        message: `[kargo-azure-receiver] ${c.message}`,
      });
    });
  }

  it('azureReceiver: spreading either adapter of the package type-checks and runs', () => {
    assert.equal(typeof azureReceiver({ token: TOKEN, ...memoryAdapter() }), 'function');
    assert.equal(typeof azureReceiver({ ...memoryAdapter(), token: TOKEN }), 'function');
    // Type-checked only: building a real Kubernetes adapter starts watches.
    const withKubernetes = (adapter: KubernetesAdapter) =>
      azureReceiver({ token: TOKEN, ...adapter });
    const explainPush = memoryAdapter().explainPush;
    const fields = Object.assign(
      {
        lookup,
        refresh,
        explainPush,
        close: async () => undefined,
        ready: async () => undefined,
        isReady: () => true,
        scoped: () => ({ lookup, refresh, explainPush }),
        stats: () => ({}) as ReturnType<KubernetesAdapter['stats']>,
      } satisfies KubernetesAdapter,
      { [ADAPTER_MEMBERS]: ['close', 'ready', 'isReady', 'scoped', 'stats'] },
    );
    assert.equal(typeof withKubernetes(fields), 'function');
  });

  it('kargoReceivers: at compile time and at run time', () => {
    assert.throws(
      () =>
        kargoReceiversConfig({
          // @ts-expect-error -- TypeScript: "Did you mean to write 'deadlineMs'?"
          deadlineMS: 5000,
        }),
      {
        name: 'TypeError',
        message:
          "[kargo-azure-receiver] options.deadlineMS is not an option: did you mean 'deadlineMs'?",
      },
    );
    assert.throws(() => kargoReceiversConfig({ namespacs: ['a'] } as KargoReceiversOptions), {
      message:
        "[kargo-azure-receiver] options.namespacs is not an option: did you mean 'namespaces'?",
    });
  });

  it('kubernetesAdapter: at compile time and at run time, nested options too', () => {
    assert.throws(
      () =>
        kubernetesAdapter({
          // @ts-expect-error -- TypeScript: "Did you mean to write 'namespaces'?"
          namespacs: ['kargo-demo'],
        }),
      {
        name: 'TypeError',
        message:
          "[kargo-azure-receiver] options.namespacs is not an option: did you mean 'namespaces'?",
      },
    );
    assert.throws(() => kubernetesAdapter({ watchBackoff: { initalMs: 5 } as BackoffOptions }), {
      message:
        "[kargo-azure-receiver] options.watchBackoff.initalMs is not an option: did you mean 'initialMs'?",
    });
  });
});
