/**
 * The rooms of lib/ and what each may use (ARCHITECTURE.md, "Rules").
 * Run by `npm run lint:deps` (part of `npm test` on Node >= 22, which
 * dependency-cruiser needs).
 */
/** A room's files, as a dependency-cruiser path pattern. */
const room = (...names) => `^lib/(${names.join('|')})/`;
const backEnds = ['adapters', 'kube', 'kargo', 'server'];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle ties two rooms into one: untie it.',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    {
      name: 'receiver-knows-no-back-end',
      severity: 'error',
      comment:
        'The router knows adapters only by the Adapter contract (lib/types.ts): it never imports an adapter, the Kubernetes client, kargo/ or the command.',
      from: { path: room('receiver') },
      to: { path: [room(...backEnds), '^lib/testing/'] },
    },
    {
      name: 'kube-is-generic',
      severity: 'error',
      comment:
        'lib/kube/ is a generic Kubernetes client: it uses nothing of this package but lib/types.ts and lib/logger.ts.',
      from: { path: room('kube') },
      to: { path: '^lib/', pathNot: ['^lib/kube/', '^lib/types\\.ts$', '^lib/logger\\.ts$'] },
    },
    {
      name: 'sources-and-matching-are-pure',
      severity: 'error',
      comment:
        'Azure payloads → events and Kargo matching rules are pure: no back end, no router, no command, no HTTP client.',
      from: { path: room('sources', 'matching') },
      to: {
        path: [
          room(...backEnds, 'receiver', 'testing'),
          '@kubernetes/client-node',
          '^node:(http|https|net)$',
          'express',
        ],
      },
    },
    {
      name: 'no-library-room-imports-the-command',
      severity: 'error',
      comment: 'lib/server/ is the command: the library never depends on it.',
      from: { path: '^lib/', pathNot: '^lib/server/' },
      to: { path: room('server') },
    },
    {
      name: 'adapters-use-kube-matching-types',
      severity: 'error',
      comment:
        'Adapters answer the Adapter contract with kube/ and matching/; they know neither the router nor kargo/.',
      from: { path: room('adapters') },
      to: { path: room('receiver', 'kargo', 'sources', 'testing') },
    },
    {
      name: 'kargo-below-the-command',
      severity: 'error',
      comment:
        'kargo/ builds receivers from ProjectConfigs: it may use receiver/, adapters/, kube/ and matching/, not testing/.',
      from: { path: room('kargo') },
      to: { path: room('testing') },
    },
    {
      name: 'testing-needs-no-cluster-and-no-command',
      severity: 'error',
      comment: 'kargo-azure-receiver/testing runs without a cluster and without the command.',
      from: { path: room('testing') },
      to: {
        path: [room('kube', 'kargo', 'server', 'adapters/kubernetes'), '@kubernetes/client-node'],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
