import assert from 'node:assert/strict';
import { type RbacDocument, rbacAuthorizer } from './fake-kargo-admission.js';
import { FakeKubeApi, type RequestAttributes } from './fake-kube-api.js';

const SA = { kind: 'ServiceAccount', name: 'r', namespace: 'sys' };
const USER = 'system:serviceaccount:sys:r';

const DOCUMENTS: RbacDocument[] = [
  {
    kind: 'ClusterRole',
    metadata: { name: 'everywhere' },
    rules: [{ apiGroups: ['kargo.akuity.io'], resources: ['warehouses'], verbs: ['list'] }],
  },
  {
    kind: 'ClusterRoleBinding',
    metadata: { name: 'everywhere' },
    roleRef: { kind: 'ClusterRole', name: 'everywhere' },
    subjects: [SA],
  },
  {
    kind: 'Role',
    metadata: { name: 'named', namespace: 'a' },
    rules: [
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['hook'],
        verbs: ['list', 'watch'],
      },
    ],
  },
  {
    kind: 'RoleBinding',
    metadata: { name: 'named', namespace: 'a' },
    roleRef: { kind: 'Role', name: 'named' },
    subjects: [SA],
  },
  {
    kind: 'ClusterRole',
    metadata: { name: 'any' },
    rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
  },
  // A ClusterRole bound by a RoleBinding grants in that namespace only.
  {
    kind: 'RoleBinding',
    metadata: { name: 'any', namespace: 'b' },
    roleRef: { kind: 'ClusterRole', name: 'any' },
    subjects: [SA],
  },
];

const attrs = (over: Partial<RequestAttributes>): RequestAttributes => ({
  verb: 'list',
  group: '',
  resource: 'secrets',
  namespace: 'a',
  name: '',
  ...over,
});

describe('rbacAuthorizer (rules as plugin/pkg/auth/authorizer/rbac evaluates them)', () => {
  const allow = rbacAuthorizer(DOCUMENTS);
  const cases: Array<{
    name: string;
    user?: string;
    attributes: RequestAttributes;
    allowed: boolean;
  }> = [
    {
      name: 'ClusterRoleBinding: any namespace',
      attributes: attrs({ group: 'kargo.akuity.io', resource: 'warehouses', namespace: 'z' }),
      allowed: true,
    },
    {
      name: 'verb not granted',
      attributes: attrs({ group: 'kargo.akuity.io', resource: 'warehouses', verb: 'patch' }),
      allowed: false,
    },
    { name: 'resourceNames: the named object', attributes: attrs({ name: 'hook' }), allowed: true },
    { name: 'resourceNames: another object', attributes: attrs({ name: 'other' }), allowed: false },
    {
      name: 'resourceNames: a request without a name',
      attributes: attrs({ name: '' }),
      allowed: false,
    },
    {
      name: 'RoleBinding: another namespace',
      attributes: attrs({ namespace: 'c', name: 'hook' }),
      allowed: false,
    },
    {
      name: 'RoleBinding of a ClusterRole, wildcards, its namespace',
      attributes: attrs({ namespace: 'b', verb: 'delete', group: 'apps', resource: 'deployments' }),
      allowed: true,
    },
    {
      name: 'another user',
      user: 'system:serviceaccount:sys:other',
      attributes: attrs({ name: 'hook' }),
      allowed: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(allow(c.user ?? USER, c.attributes), c.allowed);
    });
  }
});

describe('FakeKubeApi.authorize: verb and name as RequestInfoFactory derives them', () => {
  let api: FakeKubeApi;
  const seen: RequestAttributes[] = [];

  beforeEach(async () => {
    api = new FakeKubeApi();
    await api.start();
    seen.length = 0;
    api.authorize = (_user, attributes) => {
      seen.push(attributes);
      return attributes.name === 'hook';
    };
  });

  afterEach(async () => {
    await api.close();
  });

  it('a list with fieldSelector=metadata.name=hook is a list of "hook"; without it, of no name (403)', async () => {
    const base = `${api.url}/api/v1/namespaces/a/secrets`;
    const headers = { Authorization: `Bearer ${api.bearerToken}` };
    const named = await fetch(`${base}?fieldSelector=metadata.name%3Dhook`, { headers });
    await named.arrayBuffer();
    const all = await fetch(base, { headers });
    const body = (await all.json()) as { code: number; reason: string };
    const get = await fetch(`${base}/hook`, { headers });
    await get.arrayBuffer();
    assert.deepEqual(
      [named.status, all.status, body.code, body.reason, get.status],
      [200, 403, 403, 'Forbidden', 404],
    );
    assert.deepEqual(seen, [
      { verb: 'list', group: '', resource: 'secrets', namespace: 'a', name: 'hook' },
      { verb: 'list', group: '', resource: 'secrets', namespace: 'a', name: '' },
      { verb: 'get', group: '', resource: 'secrets', namespace: 'a', name: 'hook' },
    ]);
  });
});
