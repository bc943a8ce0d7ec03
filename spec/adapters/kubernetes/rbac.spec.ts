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

function load(file: string): Doc[] {
  const text = readFileSync(new URL(`../../../deploy/${file}`, import.meta.url), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as Doc);
}

const SERVICE_ACCOUNT = {
  kind: 'ServiceAccount',
  name: 'kargo-azure-receiver',
  namespace: 'kargo-azure-receiver',
};
const ADAPTER_RULES = [
  {
    apiGroups: ['kargo.akuity.io'],
    resources: ['warehouses', 'promotions'],
    verbs: ['list', 'watch', 'patch'],
  },
  // Kargo's Promotion admission webhook checks `promote` on the Promotion's Stage (admission.spec.ts).
  { apiGroups: ['kargo.akuity.io'], resources: ['stages'], verbs: ['promote'] },
];
const PROJECT_CONFIG_RULE = {
  apiGroups: ['kargo.akuity.io'],
  resources: ['projectconfigs'],
  verbs: ['list', 'watch'],
};
const CLUSTER_CONFIG_RULE = {
  apiGroups: ['kargo.akuity.io'],
  resources: ['clusterconfigs'],
  resourceNames: ['cluster'],
  verbs: ['get', 'list', 'watch'],
};
// One list + watch of the Secrets labelled kargo.akuity.io/cred-type=generic, unlabelled referenced ones listed by name: no get.
const SECRETS_RULE = { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] };

// Every role of every file, with exactly the rules it may grant: least privilege, checked.
const files: Array<{ file: string; kinds: string[]; rules: Record<string, unknown[]> }> = [
  {
    file: 'rbac/cluster/rbac.yaml',
    kinds: ['ClusterRole', 'ClusterRoleBinding'],
    rules: { 'ClusterRole kargo-azure-receiver': ADAPTER_RULES },
  },
  {
    file: 'rbac/cluster/rbac-config.yaml',
    kinds: ['ClusterRole', 'ClusterRoleBinding'],
    rules: {
      'ClusterRole kargo-azure-receiver-config': [
        PROJECT_CONFIG_RULE,
        CLUSTER_CONFIG_RULE,
        SECRETS_RULE,
      ],
    },
  },
  {
    file: 'rbac/status/rbac-status.yaml',
    kinds: ['ClusterRole', 'ClusterRoleBinding'],
    rules: {
      'ClusterRole kargo-azure-receiver-status': [
        {
          apiGroups: ['kargo.akuity.io'],
          resources: ['projectconfigs/status'],
          verbs: ['get', 'patch'],
        },
      ],
    },
  },
  {
    file: 'rbac/namespaced/rbac-namespaced.yaml',
    kinds: [
      'Role',
      'RoleBinding',
      'Role',
      'RoleBinding',
      'Role',
      'RoleBinding',
      'ClusterRole',
      'ClusterRoleBinding',
    ],
    rules: {
      'Role kargo-azure-receiver': ADAPTER_RULES,
      'Role kargo-azure-receiver-config': [PROJECT_CONFIG_RULE, SECRETS_RULE],
      'Role kargo-azure-receiver-system-secrets': [SECRETS_RULE],
      'ClusterRole kargo-azure-receiver-clusterconfig': [CLUSTER_CONFIG_RULE],
    },
  },
];

describe('deploy/ RBAC', function () {
  for (const f of files) {
    describe(f.file, function () {
      const docs = load(f.file);

      it(`holds ${f.kinds.join(', ')}`, function () {
        assert.deepEqual(
          docs.map((d) => d.kind),
          f.kinds,
        );
      });

      it('grants exactly the rules it needs, nothing else', function () {
        const roles = docs.filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role');
        assert.deepEqual(
          Object.fromEntries(roles.map((r) => [`${r.kind} ${r.metadata.name}`, r.rules])),
          f.rules,
        );
      });

      it('binds each role to the ServiceAccount, in the role’s namespace', function () {
        for (const binding of docs.filter((d) => d.kind.endsWith('Binding'))) {
          const role = docs.find(
            (d) => d.kind === binding.roleRef?.kind && d.metadata.name === binding.roleRef.name,
          );
          assert.ok(role, `${binding.metadata.name} refers to a role of the same file`);
          assert.equal(binding.metadata.namespace, role.metadata.namespace);
          assert.deepEqual(binding.subjects, [SERVICE_ACCOUNT]);
        }
      });
    });
  }

  it('the ServiceAccount of base/service-account.yaml is the subject everywhere', function () {
    const sa = load('base/service-account.yaml').find((d) => d.kind === 'ServiceAccount')!;
    assert.deepEqual(
      { kind: sa.kind, name: sa.metadata.name, namespace: sa.metadata.namespace },
      SERVICE_ACCOUNT,
    );
  });

  it('the default kustomization applies base with the cluster-wide component, not the alternatives', function () {
    const text = readFileSync(
      new URL('../../../deploy/kustomization.yaml', import.meta.url),
      'utf8',
    );
    const { resources, components } = parseAllDocuments(text)[0]!.toJS() as {
      resources: string[];
      components: string[];
    };
    assert.deepEqual(resources, ['base', 'ingress.yaml']);
    assert.deepEqual(components, ['rbac/cluster']);
  });
});
