import assert from 'node:assert/strict';
import { azureReceiver } from '../lib/index.js';
import type { AzureReceiverOptions } from '../lib/index.js';

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

  it('accepts a minimal configuration and extra adapter fields', () => {
    const router = azureReceiver({
      token: TOKEN,
      lookup,
      refresh,
      close: async () => undefined,
      refreshed: [],
    });
    assert.equal(typeof router, 'function');
  });
});
