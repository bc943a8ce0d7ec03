/** `kargo-azure-receiver explain`: its flags and help (the run: explain.ts). @module */
import { type Command, Option } from 'commander';
import { collectList, kubeconfigOption } from './flags.js';

/** What `explain` runs on, from its flags. */
export interface ExplainCommandOptions {
  /** A file holding the webhook body, or `-` for standard input. */
  payload: string;
  /** A multi-document YAML file of Warehouses and Promotions: read instead of the cluster. */
  manifests: string | undefined;
  /** Only these namespaces (Kargo projects); empty: all. */
  namespaces: string[];
  /** Print JSON instead of a table. */
  json: boolean;
  /** A kubeconfig file; undefined: client-node's default. */
  kubeconfig: string | undefined;
}
const EXPLAIN_EXAMPLES = `
Classifies and matches the payload exactly as a delivery would, against the
Warehouses of the cluster (listed with the current kubeconfig) or of a
manifests file, and prints each Warehouse subscribed to the pushed repository
with its verdict and reason, the near misses when nothing matches, and the
answer's msg and hint. It sends no webhook and patches nothing.

Examples:
  # An ACR push made with the package's test builders, against the sample
  # Warehouses it ships, offline (in a project that installed the package):
  $ node -e "import('kargo-azure-receiver/testing').then((t) => console.log(JSON.stringify(t.acrPush({ repository: 'hello-world', tag: 'v1' }))))" | npx kargo-azure-receiver explain - --manifests node_modules/kargo-azure-receiver/examples/manifests.yaml

  # What Azure DevOps just sent (copied from the service hook's History), against the cluster:
  $ pbpaste | kargo-azure-receiver explain - --namespace kargo-demo --json
`;

/** A namespace name: an RFC 1123 label, as the API server validates it. */
const NAMESPACE_NAME = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Raw option values of `explain`. */
interface ExplainFlags {
  manifests?: string;
  namespace?: string[];
  json?: boolean;
  kubeconfig?: string;
}

/** Adds `explain` to `program`; a bad namespace name exits 2. */
export function addExplainCommand(
  program: Command,
  run: (options: ExplainCommandOptions) => Promise<void>,
) {
  program
    .command('explain')
    .description(
      'show which Warehouses a webhook payload would refresh and why the others would not, sending nothing',
    )
    .argument('<payload>', 'file holding the webhook body (JSON), or - for standard input')
    .addOption(
      new Option(
        '--manifests <file>',
        'read Warehouses and Promotions from this multi-document YAML file instead of the cluster',
      ),
    )
    .addOption(
      new Option(
        '-n, --namespace <names>',
        'only these namespaces (projects), as a project receiver sees them (repeat or comma-separate; default: all)',
      ).argParser(collectList),
    )
    .addOption(new Option('--json', 'print the report as JSON'))
    .addOption(kubeconfigOption())
    .addHelpText('after', EXPLAIN_EXAMPLES)
    .action(async (payload: string, flags: ExplainFlags, command: Command) => {
      const bad = (flags.namespace ?? []).find((ns) => !NAMESPACE_NAME.test(ns));
      if (bad !== undefined)
        command.error(
          `error: --namespace ${JSON.stringify(bad)} is not a Kubernetes namespace name.`,
          { exitCode: 2, code: 'kar.usage' },
        );
      await run({
        payload,
        manifests: flags.manifests,
        namespaces: [...new Set(flags.namespace ?? [])],
        json: flags.json ?? false,
        kubeconfig: flags.kubeconfig,
      });
    });
}
