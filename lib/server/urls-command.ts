/** `kargo-azure-receiver urls`: its flags and help. @module */
import { type Command, Option } from 'commander';
import { sharedOptions } from './flags.js';

/** What `urls` runs on, from its flags. */
export interface UrlsOptions {
  baseURL: string | undefined;
  systemNamespace: string;
  kubeconfig: string | undefined;
  output: 'table' | 'json';
}

/** Raw option values of `urls`. */
type UrlsFlags = Omit<UrlsOptions, 'baseURL'> & { baseUrl?: string };
const URLS_EXAMPLES = `
Reads the ProjectConfigs, ClusterConfig and Secrets of the cluster (with the
current kubeconfig) and prints, for each Azure receiver, its project, name and
URL: the URL to paste into the ACR webhook or Azure DevOps service hook.
Treat the output as secret: the URL is the only credential of a webhook.

Examples:
  $ kargo-azure-receiver urls --base-url https://kargo-webhooks.example.com
  $ kargo-azure-receiver urls --output json
`;

/** Adds `urls` to `program`. */
export function addUrlsCommand(program: Command, run: (options: UrlsOptions) => Promise<void>) {
  const urls = program
    .command('urls')
    .description("print each Azure receiver's project, name and URL, read from the cluster");
  sharedOptions(urls)
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json'])
        .default('table'),
    )
    .addHelpText('after', URLS_EXAMPLES)
    .action(async (flags: UrlsFlags) => {
      await run({
        baseURL: flags.baseUrl,
        systemNamespace: flags.systemNamespace,
        kubeconfig: flags.kubeconfig,
        output: flags.output,
      });
    });
}
