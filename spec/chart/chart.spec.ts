/**
 * charts/kargo-azure-receiver: its files agree with each other and with
 * package.json, `helm lint --strict` passes on the defaults, on a values file
 * that sets every key and on the namespaced variant, the schema refuses
 * misspelt keys and wrong types, and the rendered objects are those promised
 * (RBAC exactly what the server uses, restricted pods, drains never blocked).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isMap, isScalar, parse, parseDocument, type YAMLMap } from 'yaml';
import {
  CHART,
  NAMESPACE,
  RELEASE,
  type RenderedObject,
  chartRbac,
  ciValues,
  helm,
  helmSkipReason,
  renderChart,
  renderedPod,
  templateArgs,
} from '../support/chart.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
  files: string[];
};
const chartFile = (name: string): string => readFileSync(`${CHART}/${name}`, 'utf8');

/** Leaf paths of a values tree; maps and lists the user fills (labels, env, …) count as leaves. */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

/** The value at a dotted path. */
function at(tree: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], tree);
}

/** Keys of values.yaml that carry no comment of their own, as dotted paths. */
function uncommented(map: YAMLMap, prefix = ''): string[] {
  return map.items.flatMap((pair, i) => {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    const path = prefix ? `${prefix}.${key}` : key;
    // The comment above a map's first key is the map's own (yaml's document model).
    const comment =
      (isScalar(pair.key) && pair.key.commentBefore) || (i === 0 && map.commentBefore);
    const own = comment ? [] : [path];
    // A group without a comment of its own (image:, service:) is commented through its keys.
    if (own.length && isMap(pair.value) && pair.value.items.length > 0)
      return uncommented(pair.value, path);
    return own;
  });
}

/** Schema property paths, nested the way values.yaml nests keys. */
interface Schema {
  properties?: Record<string, Schema>;
  additionalProperties?: unknown;
}
function schemaPaths(schema: Schema, prefix = ''): string[] {
  const props = Object.entries(schema.properties ?? {});
  if (props.length === 0) return [prefix];
  return props.flatMap(([k, v]) => schemaPaths(v, prefix ? `${prefix}.${k}` : k));
}

const values = parse(chartFile('values.yaml')) as Record<string, unknown>;
const schema = JSON.parse(chartFile('values.schema.json')) as Schema;

describe('charts/kargo-azure-receiver: its files', function () {
  it('Chart.yaml: apiVersion v2, version and appVersion equal to package.json’s version', function () {
    const chart = parse(chartFile('Chart.yaml')) as Record<string, unknown>;
    assert.deepEqual(
      { apiVersion: chart.apiVersion, version: chart.version, appVersion: chart.appVersion },
      { apiVersion: 'v2', version: pkg.version, appVersion: pkg.version },
    );
  });

  it('package.json ships the chart', function () {
    assert.ok(pkg.files.includes('charts'), JSON.stringify(pkg.files));
  });

  it('values.yaml has a comment on every key', function () {
    const doc = parseDocument(chartFile('values.yaml'));
    assert.ok(isMap(doc.contents));
    assert.deepEqual(uncommented(doc.contents), []);
  });

  it('values.schema.json describes exactly the keys of values.yaml and refuses others at every level', function () {
    const valueKeys = leafPaths(values);
    // `global` is Helm's own key, allowed (as an object) in every chart's values.
    const schemaKeys = schemaPaths(schema).filter((p) => p !== 'global');
    // Same key, or one inside a map the user fills (resources.requests.cpu in resources.requests).
    const related = (a: string, b: string): boolean =>
      a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
    assert.deepEqual(
      schemaKeys.filter((k) => !valueKeys.some((v) => related(v, k))),
      [],
      'schema keys missing from values.yaml',
    );
    assert.deepEqual(
      valueKeys.filter((v) => !schemaKeys.some((k) => related(v, k))),
      [],
      'values.yaml keys missing from the schema',
    );
    const closed = (s: Schema, path: string): string[] =>
      s.properties
        ? [
            ...(s.additionalProperties === false ? [] : [path || '(root)']),
            ...Object.entries(s.properties)
              .filter(([, v]) => v.properties)
              .flatMap(([k, v]) => closed(v, path ? `${path}.${k}` : k)),
          ]
        : [];
    assert.deepEqual(closed(schema, ''), [], 'objects that accept unknown keys');
  });

  it('ci/all-values.yaml sets every key of values.yaml, each but a few to a value other than its default', function () {
    const all = parse(readFileSync(ciValues('all-values.yaml'), 'utf8')) as Record<string, unknown>;
    const paths = leafPaths(values);
    assert.deepEqual(
      paths.filter((path) => at(all, path) === undefined),
      [],
      'keys not set',
    );
    assert.deepEqual(
      paths.filter((path) => JSON.stringify(at(all, path)) === JSON.stringify(at(values, path))),
      [
        // A single accepted value: the server writes JSON only.
        'logFormat',
        // Left on, so that the objects and settings they govern are rendered and checked.
        'ingress.tls.enabled',
        'podDisruptionBudget.enabled',
        // The other scope has its own file, ci/namespaced-values.yaml.
        'rbac.scope',
        'metrics.enabled',
      ],
    );
  });
});

describe(`charts/kargo-azure-receiver with helm${helmSkipReason}`, function () {
  this.timeout(60_000);
  before(function () {
    if (helmSkipReason) this.skip();
  });

  for (const [name, files] of [
    ['the defaults', []],
    ['ci/all-values.yaml (every key set)', [ciValues('all-values.yaml')]],
    ['ci/namespaced-values.yaml (namespaced RBAC)', [ciValues('namespaced-values.yaml')]],
  ] as const) {
    it(`helm lint --strict passes on ${name}`, function () {
      const run = helm(['lint', '--strict', CHART, ...files.flatMap((f) => ['--values', f])]);
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });
  }

  const refusals = [
    {
      name: 'a misspelt key, named',
      set: ['ingress.enabld=true'],
      error: "at '/ingress': additional properties 'enabld' not allowed",
    },
    {
      name: 'a misspelt top-level key, named',
      set: ['replica=3'],
      error: "at '': additional properties 'replica' not allowed",
    },
    {
      name: 'a wrong type',
      set: ['replicas=two'],
      error: "at '/replicas': got string, want integer",
    },
    {
      name: 'an unknown RBAC scope',
      set: ['rbac.scope=everything'],
      error: "at '/rbac/scope': value must be one of 'cluster', 'namespaced'",
    },
    {
      name: 'a token as a plain value (only a Secret reference is accepted)',
      set: ['singleReceiver.token=0123456789abcdef'],
      error: "at '/singleReceiver/token': got string, want object",
    },
    {
      name: 'the namespaced scope without namespaces',
      set: ['rbac.scope=namespaced'],
      error:
        'rbac.namespaces: list the Kargo project namespaces to serve when rbac.scope is namespaced',
    },
    {
      name: 'an Ingress without a host',
      set: ['ingress.enabled=true'],
      error: 'ingress.host: the host name Azure posts to is required when ingress.enabled is true',
    },
  ];
  for (const r of refusals) {
    it(`helm template refuses ${r.name}`, function () {
      const run = helm(templateArgs({ set: r.set }));
      assert.notEqual(run.status, 0);
      assert.ok(run.stderr.includes(r.error), run.stderr);
      assert.equal(run.stdout, '');
    });
  }

  const names = (objects: RenderedObject[]): string[] =>
    objects.map((o) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`).sort();

  it('renders, by default, the release in its namespace with cluster-wide RBAC and no Ingress', function () {
    assert.deepEqual(
      names(renderChart()),
      [
        `ClusterRole -/${RELEASE}`,
        `ClusterRoleBinding -/${RELEASE}`,
        `Deployment ${NAMESPACE}/${RELEASE}`,
        `PodDisruptionBudget ${NAMESPACE}/${RELEASE}`,
        `Service ${NAMESPACE}/${RELEASE}`,
        `ServiceAccount ${NAMESPACE}/${RELEASE}`,
      ].sort(),
    );
  });

  it('renders every optional object with ci/all-values.yaml', function () {
    assert.deepEqual(
      names(renderChart({ values: [ciValues('all-values.yaml')] })),
      [
        `ClusterRole -/${RELEASE}`,
        `ClusterRoleBinding -/${RELEASE}`,
        `Deployment ${NAMESPACE}/${RELEASE}`,
        `Ingress ${NAMESPACE}/${RELEASE}`,
        `NetworkPolicy ${NAMESPACE}/${RELEASE}`,
        `PodDisruptionBudget ${NAMESPACE}/${RELEASE}`,
        `Service ${NAMESPACE}/${RELEASE}`,
        `ServiceAccount ${NAMESPACE}/${RELEASE}`,
        `ServiceMonitor ${NAMESPACE}/${RELEASE}`,
      ].sort(),
    );
  });

  describe('RBAC', function () {
    const PROJECT_RULES = [
      {
        apiGroups: ['kargo.akuity.io'],
        resources: ['warehouses', 'promotions'],
        verbs: ['list', 'watch', 'patch'],
      },
      // Kargo's Promotion admission webhook checks `promote` on the Promotion's Stage (admission.spec.ts).
      { apiGroups: ['kargo.akuity.io'], resources: ['stages'], verbs: ['promote'] },
      { apiGroups: ['kargo.akuity.io'], resources: ['projectconfigs'], verbs: ['list', 'watch'] },
      // Receivers' Secrets are listed and watched, never read with get (secrets.spec.ts).
      { apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] },
    ];
    const SECRETS_RULE = PROJECT_RULES[3]!;
    const STATUS_RULE = {
      apiGroups: ['kargo.akuity.io'],
      resources: ['projectconfigs/status'],
      // lib/kargo/status-writer.ts reads the status, then patches it.
      verbs: ['get', 'patch'],
    };
    const CLUSTER_CONFIG_RULE = {
      apiGroups: ['kargo.akuity.io'],
      resources: ['clusterconfigs'],
      resourceNames: ['cluster'],
      verbs: ['get', 'list', 'watch'],
    };
    const rulesOf = (objects: RenderedObject[]): Record<string, unknown> =>
      Object.fromEntries(
        objects
          .filter((o) => o.rules)
          .map((o) => [`${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`, o.rules]),
      );

    it('cluster scope: one ClusterRole with exactly the rules the server uses', function () {
      assert.deepEqual(rulesOf(chartRbac()), {
        [`ClusterRole -/${RELEASE}`]: [...PROJECT_RULES, CLUSTER_CONFIG_RULE],
      });
    });

    it('kargo.writeStatus adds get and patch on projectconfigs/status, and only then', function () {
      assert.deepEqual(rulesOf(chartRbac({ set: ['kargo.writeStatus=true'] })), {
        [`ClusterRole -/${RELEASE}`]: [...PROJECT_RULES, STATUS_RULE, CLUSTER_CONFIG_RULE],
      });
    });

    it('namespaced scope: a Role per project and for the system Secrets, where they belong, whatever the release namespace', function () {
      // The kustomize overlay's `namespace:` used to move these Roles into the receiver's namespace.
      const objects = chartRbac({
        values: [ciValues('namespaced-values.yaml')],
        namespace: 'kargo-webhooks',
      });
      assert.deepEqual(rulesOf(objects), {
        [`Role kargo-demo/${RELEASE}`]: [...PROJECT_RULES, STATUS_RULE],
        [`Role kargo-other/${RELEASE}`]: [...PROJECT_RULES, STATUS_RULE],
        [`Role kargo-system-resources/${RELEASE}-system-secrets`]: [SECRETS_RULE],
        [`ClusterRole -/${RELEASE}-clusterconfig`]: [CLUSTER_CONFIG_RULE],
      });
      for (const binding of objects.filter((o) => o.kind.endsWith('Binding'))) {
        const role = objects.find(
          (o) =>
            o.kind === binding.roleRef?.kind &&
            o.metadata.name === binding.roleRef.name &&
            o.metadata.namespace === binding.metadata.namespace,
        );
        assert.ok(role, `${binding.metadata.name} refers to a rendered role`);
        assert.equal(binding.metadata.namespace, role.metadata.namespace);
        assert.deepEqual(binding.subjects, [
          { kind: 'ServiceAccount', name: RELEASE, namespace: 'kargo-webhooks' },
        ]);
      }
      const env = renderedPod({
        values: [ciValues('namespaced-values.yaml')],
        namespace: 'kargo-webhooks',
      }).containers[0]!.env;
      assert.deepEqual(
        env.filter((e) => e.name === 'KAR_NAMESPACE'),
        [{ name: 'KAR_NAMESPACE', value: 'kargo-demo,kargo-other' }],
      );
    });

    it('no wildcard and no create, update or delete in any variant', function () {
      const all = [
        ...chartRbac({ values: [ciValues('all-values.yaml')] }),
        ...chartRbac({ values: [ciValues('namespaced-values.yaml')] }),
      ];
      const rules = all.flatMap((o) => o.rules ?? []);
      assert.ok(rules.length > 0);
      for (const rule of rules) {
        for (const list of [rule.apiGroups, rule.resources, rule.verbs]) {
          assert.ok(!list?.includes('*'), JSON.stringify(rule));
        }
        for (const verb of ['create', 'update', 'delete', 'deletecollection', 'escalate', 'bind']) {
          assert.ok(!rule.verbs?.includes(verb), JSON.stringify(rule));
        }
      }
    });
  });

  describe('the pods', function () {
    it('run under the restricted security context, probed on /readyz and /healthz', function () {
      const pod = renderedPod();
      const container = pod.containers[0]!;
      assert.deepEqual(pod.securityContext, {
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      assert.deepEqual(container.securityContext, {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      });
      assert.deepEqual(container.readinessProbe?.httpGet, { path: '/readyz', port: 'http' });
      assert.deepEqual(container.livenessProbe?.httpGet, { path: '/healthz', port: 'http' });
      assert.equal(pod.serviceAccountName, RELEASE);
    });

    it('use the image kargo-azure-receiver:<appVersion> by default, with a memory limit and a heap within it', function () {
      const container = renderedPod().containers[0]!;
      assert.equal(container.image, `kargo-azure-receiver:${pkg.version}`);
      assert.deepEqual(container.resources, {
        requests: { cpu: '50m', memory: '96Mi' },
        limits: { memory: '256Mi' },
      });
      assert.deepEqual(
        container.env.filter((e) => e.name === 'NODE_OPTIONS'),
        [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=192' }],
      );
    });

    it('take the token and the second factor from Secrets only (secretKeyRef)', function () {
      const env = renderedPod({ values: [ciValues('all-values.yaml')] }).containers[0]!.env;
      assert.deepEqual(
        env.filter((e) => ['KAR_TOKEN', 'KAR_BASIC_AUTH', 'KAR_HEADERS'].includes(e.name)),
        [
          {
            name: 'KAR_BASIC_AUTH',
            valueFrom: { secretKeyRef: { name: 'azure-receiver', key: 'basic' } },
          },
          {
            name: 'KAR_HEADERS',
            valueFrom: { secretKeyRef: { name: 'azure-receiver', key: 'extra-headers' } },
          },
          {
            name: 'KAR_TOKEN',
            valueFrom: { secretKeyRef: { name: 'azure-receiver', key: 'url-token' } },
          },
        ],
      );
    });
  });

  describe('the public URL and the Ingress', function () {
    const ingressOf = (objects: RenderedObject[]) =>
      objects.find((o) => o.kind === 'Ingress')?.spec as {
        rules: { host: string; http: { paths: { path: string }[] } }[];
        tls?: { hosts: string[]; secretName: string }[];
      };
    const baseURLOf = (set: string[]) =>
      renderedPod({ set }).containers[0]!.env.find((e) => e.name === 'KAR_BASE_URL')?.value;

    it('baseURL defaults to https://<ingress.host> when the Ingress is on, and is unset otherwise', function () {
      assert.equal(
        baseURLOf(['ingress.enabled=true', 'ingress.host=hooks.example.com']),
        'https://hooks.example.com',
      );
      assert.equal(baseURLOf([]), undefined);
    });

    it('the Ingress exposes only <path of baseURL>/azure/, over TLS', function () {
      const spec = ingressOf(renderChart({ values: [ciValues('all-values.yaml')] }));
      assert.deepEqual(
        spec.rules.map((r) => [r.host, r.http.paths.map((p) => p.path)]),
        [['ignored-because-baseURL-is-set.example.com', ['/hooks/azure/']]],
      );
      assert.deepEqual(spec.tls, [
        { hosts: ['ignored-because-baseURL-is-set.example.com'], secretName: 'kargo-webhooks-tls' },
      ]);
      const plain = ingressOf(
        renderChart({ set: ['ingress.enabled=true', 'ingress.host=hooks.example.com'] }),
      );
      assert.deepEqual(plain.rules[0]!.http.paths[0]!.path, '/azure/');
      assert.equal(plain.tls![0]!.secretName, `${RELEASE}-tls`);
    });
  });

  describe('the PodDisruptionBudget never blocks a drain', function () {
    const pdb = (set: string[]) =>
      renderChart({ set }).find((o) => o.kind === 'PodDisruptionBudget');
    const cases = [
      { set: [], minAvailable: 1 },
      { set: ['replicas=1'], minAvailable: undefined },
      { set: ['replicas=3', 'podDisruptionBudget.minAvailable=3'], minAvailable: undefined },
      { set: ['replicas=3', 'podDisruptionBudget.minAvailable=2'], minAvailable: 2 },
      { set: ['podDisruptionBudget.enabled=false'], minAvailable: undefined },
    ];
    for (const c of cases) {
      it(`${c.set.join(', ') || 'defaults'}: ${c.minAvailable === undefined ? 'none' : `minAvailable ${c.minAvailable}`}`, function () {
        assert.equal(
          (pdb(c.set)?.spec as { minAvailable?: number } | undefined)?.minAvailable,
          c.minAvailable,
        );
      });
    }
  });

  it('NOTES.txt tells how to read the receiver URLs', function () {
    const run = helm([
      'install',
      RELEASE,
      CHART,
      '--dry-run=client',
      '--namespace',
      NAMESPACE,
      '--set',
      'ingress.enabled=true',
      '--set',
      'ingress.host=hooks.example.com',
    ]);
    assert.equal(run.status, 0, run.stderr);
    const notes = run.stdout.slice(run.stdout.indexOf('NOTES:'));
    assert.ok(
      notes.includes(
        `kubectl -n ${NAMESPACE} exec deployment/${RELEASE} -- node dist/server/cli.js urls`,
      ),
      notes,
    );
    assert.ok(notes.includes('npx kargo-azure-receiver urls --base-url https://hooks.example.com'));
    assert.ok(notes.includes("jsonpath='{.status.webhookReceivers}'"));
  });
});
