import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { kargoToken, TokenRegistry } from '../lib/index.js';

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
