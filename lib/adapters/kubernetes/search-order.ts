/**
 * Where the kubeconfig comes from when none is given, in a module of its
 * own so that the command line's help can say it without loading
 * `@kubernetes/client-node`.
 * @module
 */

/**
 * The order of client-node's `KubeConfig.loadFromDefault()`
 * (kubernetes-client/javascript src/config.ts): the files `KUBECONFIG`
 * lists, else `~/.kube/config`, else the pod's service account token. The
 * one sentence every help text and the README use.
 */
export const KUBECONFIG_SEARCH_ORDER =
  "KUBECONFIG (every file it lists), else ~/.kube/config, else the pod's service account (in-cluster)";
