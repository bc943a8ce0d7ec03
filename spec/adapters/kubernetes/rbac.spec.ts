import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: unknown[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace: string }[];
}

describe('deploy/rbac.yaml', function () {
  const docs = parseAllDocuments(
    readFileSync(new URL('../../../deploy/rbac.yaml', import.meta.url), 'utf8'),
  ).map((d) => d.toJS() as Doc);

  it('holds a ServiceAccount, the cluster-wide variant and the namespaced variant', function () {
    assert.deepEqual(
      docs.map((d) => d.kind),
      ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'],
    );
  });

  it('grants list, watch and patch on warehouses and promotions of kargo.akuity.io, and nothing else', function () {
    for (const role of docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role')) {
      assert.deepEqual(role.rules, [
        {
          apiGroups: ['kargo.akuity.io'],
          resources: ['warehouses', 'promotions'],
          verbs: ['list', 'watch', 'patch'],
        },
      ]);
    }
  });

  it('binds each role to the ServiceAccount', function () {
    const sa = docs.find((d) => d.kind === 'ServiceAccount')!;
    for (const binding of docs.filter((d) => d.kind.endsWith('Binding'))) {
      assert.equal(binding.roleRef?.kind, binding.kind.replace('Binding', ''));
      assert.deepEqual(binding.subjects, [
        { kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace },
      ]);
    }
  });
});
