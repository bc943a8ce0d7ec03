/**
 * deploy/ rendered by `kubectl kustomize` (kustomize v5 inside kubectl): the
 * default and the namespaced overlay build, an overlay's `images:` takes
 * effect (the base names no image of ours to rename), and the NetworkPolicy
 * keeps the metrics port internal. Skipped, with the reason, where kubectl
 * is not installed (.ci/run installs Debian's kubectl when it can).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));

function kubectlVersion(): string | undefined {
  try {
    return execFileSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
}

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
}

function render(dir: string): Doc[] {
  const out = execFileSync('kubectl', ['kustomize', `${DEPLOY}${dir}`], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as Doc);
}

const kubectl = kubectlVersion();
const skipped = kubectl ? '' : ' (skipped: kubectl is not installed)';

describe(`deploy/ rendered by kubectl kustomize${skipped}`, function () {
  this.timeout(30_000);
  before(function () {
    if (!kubectl) this.skip();
  });

  it('the default: base + cluster-wide RBAC + ingress, image left as the base names it', function () {
    const docs = render('');
    assert.deepEqual(
      docs.map((d) => `${d.kind} ${d.metadata.name}`).sort(),
      [
        'ClusterRole kargo-azure-receiver',
        'ClusterRole kargo-azure-receiver-config',
        'ClusterRoleBinding kargo-azure-receiver',
        'ClusterRoleBinding kargo-azure-receiver-config',
        'Deployment kargo-azure-receiver',
        'Ingress kargo-azure-receiver',
        'Namespace kargo-azure-receiver',
        'NetworkPolicy kargo-azure-receiver',
        'PodDisruptionBudget kargo-azure-receiver',
        'Service kargo-azure-receiver',
        'ServiceAccount kargo-azure-receiver',
      ].sort(),
    );
  });

  it('the namespaced overlay: Roles, its own image, KAR_NAMESPACE, a ServiceMonitor', function () {
    const docs = render('overlays/namespaced');
    const kinds = docs.map((d) => d.kind);
    assert.ok(kinds.includes('Role') && kinds.includes('ServiceMonitor'));
    assert.ok(
      !docs.some((d) => d.kind === 'ClusterRole' && d.metadata.name === 'kargo-azure-receiver'),
    );
    const deployment = docs.find((d) => d.kind === 'Deployment')!;
    const container = (
      deployment.spec as {
        template: {
          spec: {
            containers: Array<{ image: string; env: Array<{ name: string; value?: string }> }>;
          };
        };
      }
    ).template.spec.containers[0]!;
    assert.equal(container.image, 'registry.example.com/kargo-azure-receiver:0.1.0');
    assert.deepEqual(
      container.env.filter((e) => e.name === 'KAR_NAMESPACE'),
      [{ name: 'KAR_NAMESPACE', value: 'kargo-demo' }],
    );
  });

  it('the NetworkPolicy admits metrics only from the monitoring namespace', function () {
    const policy = render('').find((d) => d.kind === 'NetworkPolicy')!;
    assert.deepEqual((policy.spec as { ingress: unknown[] }).ingress, [
      { ports: [{ port: 'http', protocol: 'TCP' }] },
      {
        from: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
        ],
        ports: [{ port: 'metrics', protocol: 'TCP' }],
      },
    ]);
  });
});
