/** `kargo-azure-receiver serve`: its flags, environment variables and help. @module */
import type { Command } from 'commander';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_BODY_BYTES,
} from '../receiver/options.js';
import {
  collectList,
  collectRaw,
  envOption,
  parseBasePath,
  parseBytes,
  parseConcurrency,
  parseDeadline,
  parsePort,
  parseSeconds,
  sharedOptions,
} from './flags.js';
import { LOG_LEVELS } from './logging.js';
import { type ServeFlags, serveConfig } from './serve-config.js';
import {
  DEFAULT_METRICS_PORT,
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_TIMEOUT_SECONDS,
  type ServerConfig,
  UsageError,
} from './server-config.js';

const SERVE_EXAMPLES = `
Modes:
  ProjectConfig mode (default): serves every Azure receiver declared in the
  ProjectConfigs (and the ClusterConfig) of the cluster, at Kargo's paths
  <base path>/azure/<token>. Configuration changes apply without a restart.

  Single-receiver mode (--token, or --secret with --project and --receiver):
  serves one receiver; it refreshes the Warehouses of --namespace (default:
  the --project namespace; with --token: every namespace).

  --namespace limits either mode to some namespaces (Kargo projects).

  A second factor for single-receiver mode: --basic-auth (Azure DevOps
  basic authentication) and --header (Azure DevOps HTTP headers, ACR custom
  headers); a request with the right URL but without them gets 401.
  ProjectConfig receivers read theirs from the "basicAuth" and "headers"
  keys of their Secret.

Secrets: prefer the environment (KAR_SECRET, KAR_TOKEN, KAR_BASIC_AUTH,
KAR_HEADERS; one value per line) to flags, which other users of the machine
can see in the process list.

Examples:
  # Next to Kargo, in the cluster (service account credentials):
  $ kargo-azure-receiver serve --base-url https://kargo-webhooks.example.com

  # From a workstation with a kubeconfig, metrics on :9090, debug logs:
  $ KUBECONFIG=~/.kube/config kargo-azure-receiver serve --port 8080 --metrics --log-level debug

  # One receiver with Kargo's token derivation, no ProjectConfig needed:
  $ KAR_SECRET=s3cr3t kargo-azure-receiver serve --project kargo-demo --receiver azure-wh-receiver

  # HTTPS directly (otherwise terminate TLS at the Ingress):
  $ kargo-azure-receiver serve --tls-cert /tls/tls.crt --tls-key /tls/tls.key

  # Then list the URLs to register in Azure:
  $ kargo-azure-receiver urls --base-url https://kargo-webhooks.example.com

Probes: GET /healthz (always 200 while the process runs), GET /readyz (200 once
the Kubernetes caches are synced, 503 before and while shutting down).
`;

/** Where and how the server listens and answers: `--max-body-bytes` to `--tls-key`. */
function serverOptions(command: Command): Command {
  return command
    .addOption(
      envOption('--max-body-bytes <bytes>', 'largest accepted webhook body', 'KAR_MAX_BODY_BYTES')
        .default(DEFAULT_MAX_BODY_BYTES)
        .argParser(parseBytes),
    )
    .addOption(
      envOption(
        '--deadline-ms <ms>',
        'answer each webhook within this time; past it 503, which Azure retries',
        'KAR_DEADLINE_MS',
      )
        .default(DEFAULT_DEADLINE_MS)
        .argParser(parseDeadline),
    )
    .addOption(
      envOption(
        '--refresh-concurrency <n>',
        'refreshes of one webhook in flight at once',
        'KAR_REFRESH_CONCURRENCY',
      )
        .default(DEFAULT_CONCURRENCY)
        .argParser(parseConcurrency),
    )
    .addOption(
      envOption('--log-level <level>', 'log level of the JSON logs on stdout', 'KAR_LOG_LEVEL')
        .default('info')
        .choices(LOG_LEVELS),
    )
    .addOption(
      envOption(
        '--metrics',
        `serve Prometheus metrics on port ${DEFAULT_METRICS_PORT} (see --metrics-port)`,
        'KAR_METRICS',
      ),
    )
    .addOption(
      envOption(
        '--metrics-port <port>',
        'serve Prometheus metrics at /metrics on this port (default: off)',
        'KAR_METRICS_PORT',
      ).argParser(parsePort),
    )
    .addOption(
      envOption(
        '--tls-cert <file>',
        'PEM certificate chain: with --tls-key, serve HTTPS',
        'KAR_TLS_CERT',
      ),
    )
    .addOption(envOption('--tls-key <file>', 'PEM private key of --tls-cert', 'KAR_TLS_KEY'));
}

/** Which receivers are served, and how: `--write-status` to `--namespace`. */
function receiverOptions(command: Command): Command {
  return command
    .addOption(
      envOption(
        '--write-status',
        "write status.webhookReceivers of ProjectConfigs (where Kargo's controller does not)",
        'KAR_WRITE_STATUS',
      ),
    )
    .addOption(
      envOption(
        '--explain [projects]',
        'list in push answers the subscribed Warehouses and why each was (not) refreshed: every receiver, or the ProjectConfig receivers of these projects (comma-separated)',
        'KAR_EXPLAIN',
      ).argParser(collectList),
    )
    .addOption(
      envOption(
        '--token <token>',
        'single receiver: accepted URL token (repeat or comma-separate to rotate)',
        'KAR_TOKEN',
      ).argParser(collectList),
    )
    .addOption(
      envOption(
        '--secret <secret>',
        "single receiver: the receiver's secret; the token is derived as Kargo does",
        'KAR_SECRET',
      ),
    )
    .addOption(
      envOption(
        '--basic-auth <user:password>',
        'single receiver: accepted basic authentication credentials, a second factor (repeat to rotate)',
        'KAR_BASIC_AUTH',
      ).argParser(collectRaw),
    )
    .addOption(
      envOption(
        '--header <name:value>',
        'single receiver: a required header and an accepted value, a second factor (repeat to rotate or require more)',
        'KAR_HEADERS',
      ).argParser(collectRaw),
    )
    .addOption(
      envOption(
        '--project <name>',
        'single receiver: Kargo project of the receiver (with --secret)',
        'KAR_PROJECT',
      ),
    )
    .addOption(
      envOption(
        '--receiver <name>',
        'single receiver: receiver name (with --secret)',
        'KAR_RECEIVER',
      ),
    )
    .addOption(
      envOption(
        '-n, --namespace <names>',
        'only these namespaces (projects), so RBAC can be Roles (repeat or comma-separate; default: all, or --project with --secret)',
        'KAR_NAMESPACE',
      ).argParser(collectList),
    );
}

/** Adds `serve` to `program`; `run` gets the checked config (a bad combination exits 2). */
export function addServeCommand(program: Command, run: (config: ServerConfig) => Promise<void>) {
  const serve = program
    .command('serve')
    .description('run the webhook server')
    .addOption(
      envOption('-p, --port <port>', 'port of webhooks and probes (0: any free port)', 'KAR_PORT')
        .default(DEFAULT_PORT)
        .argParser(parsePort),
    )
    .addOption(
      envOption('--host <address>', 'address to listen on (default: every interface)', 'KAR_HOST'),
    )
    .addOption(
      envOption(
        '--base-path <path>',
        'mount point of the receivers: they answer at <base path>/azure/<token>',
        'KAR_BASE_PATH',
      )
        .default('/', 'the path of --base-url, else /')
        .argParser(parseBasePath),
    );
  receiverOptions(serverOptions(sharedOptions(serve)))
    .addOption(
      envOption(
        '--shutdown-timeout <seconds>',
        'on SIGTERM, how long in-flight webhooks may take to finish (then they are answered 503)',
        'KAR_SHUTDOWN_TIMEOUT',
      )
        .default(DEFAULT_SHUTDOWN_TIMEOUT_SECONDS)
        .argParser(parseSeconds),
    )
    .addHelpText('after', SERVE_EXAMPLES)
    .action(async (flags: ServeFlags, command: Command) => {
      let config: ServerConfig;
      try {
        config = serveConfig(flags, command);
      } catch (err) {
        if (err instanceof UsageError)
          command.error(`error: ${err.message}`, { exitCode: 2, code: 'kar.usage' });
        throw err;
      }
      await run(config);
    });
}
