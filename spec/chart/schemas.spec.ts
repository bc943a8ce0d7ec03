/**
 * Every object the chart renders, in each variant of its ci/ values, is
 * valid against the Kubernetes OpenAPI schemas (kubernetes-models) and the
 * Prometheus Operator's (@kubernetes-models/prometheus-operator for the
 * ServiceMonitor). Both need Node.js 22 or later: on Node 20 the check is
 * skipped and says so; CI (.ci/run) runs it on 22 and 24.
 */
import assert from 'node:assert/strict';
import {
  type RenderOptions,
  type RenderedObject,
  ciValues,
  helmSkipReason,
  renderChart,
} from '../support/chart.js';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const skipReason =
  helmSkipReason ||
  (NODE_MAJOR < 22
    ? ` (skipped on Node ${process.versions.node}: kubernetes-models needs Node 22 or later; CI runs it on 22 and 24)`
    : '');

/** A generated model class: validates the object it was built from. */
type Model = new (data: RenderedObject) => { validate(): void };

/** The model of an object's apiVersion and kind, from the package that generates it. */
async function modelOf(object: RenderedObject): Promise<Model> {
  const pkg = object.apiVersion.startsWith('monitoring.coreos.com/')
    ? '@kubernetes-models/prometheus-operator'
    : 'kubernetes-models';
  const models = (await import(`${pkg}/${object.apiVersion}`)) as Record<string, Model | undefined>;
  const model = models[object.kind];
  if (!model) throw new Error(`${pkg} has no ${object.apiVersion} ${object.kind}`);
  return model;
}

/** The validation error of an object, or undefined when it is valid. */
async function invalidity(object: RenderedObject): Promise<string | undefined> {
  const Model = await modelOf(object);
  try {
    new Model(object).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const variants: Array<[string, RenderOptions]> = [
  ['the defaults', {}],
  ['ci/all-values.yaml', { values: [ciValues('all-values.yaml')] }],
  ['ci/namespaced-values.yaml', { values: [ciValues('namespaced-values.yaml')] }],
];

describe(`the chart's objects against the Kubernetes schemas${skipReason}`, function () {
  this.timeout(60_000);
  before(function () {
    if (skipReason) this.skip();
  });

  for (const [name, options] of variants) {
    it(`${name}: every rendered object is valid`, async function () {
      const objects = renderChart(options);
      assert.ok(objects.length >= 6, `${objects.length} objects`);
      const problems: Record<string, string> = {};
      for (const object of objects) {
        const problem = await invalidity(object);
        if (problem) problems[`${object.kind} ${object.metadata.name}`] = problem;
      }
      assert.deepEqual(problems, {});
    });
  }

  it('the check can fail: a Deployment with a string replica count and a bad pull policy is refused', async function () {
    const deployment = structuredClone(renderChart().find((o) => o.kind === 'Deployment')!);
    const spec = deployment.spec as {
      replicas: unknown;
      template: { spec: { containers: { imagePullPolicy: unknown }[] } };
    };
    spec.replicas = 'two';
    spec.template.spec.containers[0]!.imagePullPolicy = 'Sometimes';
    const problem = (await invalidity(deployment)) ?? 'valid';
    assert.ok(problem.includes('data/spec/replicas must be integer'), problem);
    assert.ok(
      problem.includes(
        'data/spec/template/spec/containers/0/imagePullPolicy must be equal to one of the allowed values',
      ),
      problem,
    );
  });

  it('the check can fail: a ServiceMonitor endpoint with a malformed interval is refused', async function () {
    const monitor = structuredClone(
      renderChart({ values: [ciValues('all-values.yaml')] }).find(
        (o) => o.kind === 'ServiceMonitor',
      )!,
    );
    (monitor.spec as { endpoints: { interval: string }[] }).endpoints[0]!.interval = 'often';
    const problem = await invalidity(monitor);
    assert.ok(problem?.includes('data/spec/endpoints/0/interval must match pattern'), problem);
  });
});
