/**
 * Where the default kubeconfig comes from; alone so the CLI help need not load `@kubernetes/client-node`.
 * @module
 */

/** The order of client-node's `KubeConfig.loadFromDefault()` (kubernetes-client/javascript
 * src/config.ts), the one sentence every help text and the README use. */
export const KUBECONFIG_SEARCH_ORDER =
  "KUBECONFIG (every file it lists), else ~/.kube/config, else the pod's service account (in-cluster)";
