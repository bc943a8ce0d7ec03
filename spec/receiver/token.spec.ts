import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { kargoToken, TokenRegistry, type KargoTokenInput } from '../../lib/index.js';

describe('kargoToken', () => {
  it('is the hex SHA-256 of project + receiver + secret, as Kargo builds /azure/<token>', () => {
    // Computed independently: printf '%s' 'kargo-demoazure-wh-receiverMySecret' | sha256sum
    assert.equal(
      kargoToken({ project: 'kargo-demo', receiver: 'azure-wh-receiver', secret: 'MySecret' }),
      createHash('sha256').update('kargo-demoazure-wh-receiverMySecret').digest('hex'),
    );
    assert.equal(
      kargoToken({ project: 'kargo-demo', receiver: 'azure-wh-receiver', secret: 'MySecret' }),
      '6abbfbb1f922cb6f64b90f41da0e8ffabb65605cdb60702619f3d3d0c9430715',
    );
  });

  it('cluster-level receivers use an empty project', () => {
    assert.equal(
      kargoToken({ project: '', receiver: 'azure', secret: 's' }),
      createHash('sha256').update('azures').digest('hex'),
    );
  });

  it('is lowercase hex of 64 characters', () => {
    assert.match(kargoToken({ project: 'P', receiver: 'R', secret: 'S' }), /^[0-9a-f]{64}$/);
  });

  const refused: Array<{ name: string; input: unknown; message: string }> = [
    {
      name: 'an empty secret',
      input: { project: 'kargo-demo', receiver: 'azure', secret: '' },
      message:
        '[kargo-azure-receiver] kargoToken(): secret is empty: without it the URL token follows from the project and receiver names, which anyone can guess',
    },
    {
      // The examples' `process.env.AZURE_WH_SECRET ?? ''` when the variable is unset.
      name: 'a missing secret (an unset environment variable)',
      input: {
        project: 'kargo-demo',
        receiver: 'azure',
        secret: process.env.KAR_SURELY_UNSET_VARIABLE,
      },
      message:
        '[kargo-azure-receiver] kargoToken(): secret is missing: without it the URL token follows from the project and receiver names, which anyone can guess',
    },
    {
      name: 'a secret that is not a string',
      input: { project: 'kargo-demo', receiver: 'azure', secret: 42 },
      message:
        '[kargo-azure-receiver] kargoToken(): secret is missing: without it the URL token follows from the project and receiver names, which anyone can guess',
    },
    {
      name: 'no input at all',
      input: undefined,
      message:
        '[kargo-azure-receiver] kargoToken(): secret is missing: without it the URL token follows from the project and receiver names, which anyone can guess',
    },
    {
      name: 'a missing project',
      input: { receiver: 'azure', secret: 's' },
      message:
        "[kargo-azure-receiver] kargoToken(): project must be a string ('' for a cluster-level receiver)",
    },
    {
      name: 'an empty receiver',
      input: { project: 'p', receiver: '', secret: 's' },
      message: "[kargo-azure-receiver] kargoToken(): receiver must be the receiver's name",
    },
  ];
  for (const r of refused) {
    it(`throws a TypeError for ${r.name}`, () => {
      assert.throws(() => kargoToken(r.input as KargoTokenInput), {
        name: 'TypeError',
        message: r.message,
      });
    });
  }
});

describe('TokenRegistry', () => {
  it('finds the value of an accepted token only', () => {
    const registry = new TokenRegistry<string>();
    registry.set('a'.repeat(64), 'project-a');
    registry.set('b'.repeat(64), 'project-b');
    assert.equal(registry.find('a'.repeat(64)), 'project-a');
    assert.equal(registry.find('b'.repeat(64)), 'project-b');
    assert.equal(registry.find('a'.repeat(63)), undefined);
    assert.equal(registry.find(''), undefined);
    assert.equal(registry.size, 2);
    assert.equal(registry.delete('a'.repeat(64)), true);
    assert.equal(registry.find('a'.repeat(64)), undefined);
    registry.clear();
    assert.equal(registry.size, 0);
  });
});
