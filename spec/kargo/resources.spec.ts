import assert from 'node:assert/strict';
import {
  type KargoConfigObject,
  azureReceivers,
  projectConfigProblem,
} from '../../lib/kargo/resources.js';

const WHERE = { project: 'p', secretNamespace: 'p', declaredBy: 'ProjectConfig p/p' };

function declared(receivers: unknown[]): {
  names: string[];
  invalid: Array<[number, string]>;
} {
  const invalid: Array<[number, string]> = [];
  const specs = azureReceivers({ spec: { webhookReceivers: receivers } }, WHERE, (i, reason) =>
    invalid.push([i, reason]),
  );
  return { names: specs.map((s) => s.name), invalid };
}

const az = (name: string): object => ({ name, azure: { secretRef: { name: 's' } } });
const gh = (name: string): object => ({ name, github: { secretRef: { name: 's' } } });

describe('azureReceivers: names unique across every receiver type (the first wins, as in Kargo)', () => {
  const cases = [
    { name: 'distinct names', receivers: [gh('a'), az('b')], names: ['b'], invalid: [] },
    {
      name: 'an Azure receiver named like an earlier GitHub one',
      receivers: [gh('x'), az('x')],
      names: [],
      invalid: [[1, 'receiver name "x" is declared twice']],
    },
    {
      name: 'a GitHub receiver named like an earlier Azure one: the Azure one is first',
      receivers: [az('x'), gh('x')],
      names: ['x'],
      invalid: [],
    },
    {
      name: 'two Azure receivers',
      receivers: [az('x'), az('x')],
      names: ['x'],
      invalid: [[1, 'receiver name "x" is declared twice']],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(declared(c.receivers), { names: c.names, invalid: c.invalid });
    });
  }
});

describe('projectConfigProblem: Kargo admits only the ProjectConfig named after its namespace', () => {
  const object = (name: string, namespace: string): KargoConfigObject => ({
    metadata: { name, namespace },
  });
  it('name = namespace: fine', () => {
    assert.equal(projectConfigProblem(object('kargo-demo', 'kargo-demo')), undefined);
  });
  it('name ≠ namespace: the reason', () => {
    assert.equal(
      projectConfigProblem(object('other', 'kargo-demo')),
      'its name "other" differs from its namespace "kargo-demo"; Kargo reads only the ProjectConfig named after its project',
    );
  });
});
