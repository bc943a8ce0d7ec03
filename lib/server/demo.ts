/**
 * The demo of `npm start`: `azureReceiver` + `memoryAdapter` on example manifests, no cluster.
 * Environment: PORT, KAR_MANIFESTS, KAR_TOKEN or KAR_SECRET/KAR_PROJECT/KAR_RECEIVER, KAR_EXPLAIN.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import express from 'express';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { memoryAdapter, type MemoryAdapter } from '../adapters/memory.js';
import { azureReceiver } from '../receiver/receiver.js';
import { kargoToken } from '../receiver/token.js';
import { listen } from './listen.js';
import type { Logger } from '../types.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A secret for the demo only: anyone can read it here. */
export const DEMO_SECRET = 'demo-secret-do-not-use-in-production';

/** Options of {@link startDemo}; each has an environment variable. */
export interface DemoOptions {
  port?: number;
  host?: string;
  manifests?: string;
  token?: string;
  secret?: string;
  project?: string;
  receiver?: string;
  /** List the subscribed Warehouses and why in each push's answer. */
  explain?: boolean;
  logger?: Logger;
}

/** A running demo. */
export interface Demo {
  server: Server;
  url: string;
  token: string;
  adapter: MemoryAdapter;
  close(): Promise<void>;
}

/** Parses every YAML document of a manifests file into plain objects. */
export async function loadManifests(file: string): Promise<unknown[]> {
  const docs = parseAllDocuments(await readFile(file, 'utf8'));
  const objects: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0)
      throw new Error(`${file}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

/** Starts the demo server. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const logger = options.logger ?? pino({ level: 'info' });
  const manifests = await loadManifests(options.manifests ?? `${ROOT}examples/manifests.yaml`);
  const token =
    options.token ??
    kargoToken({
      project: options.project ?? 'kargo-demo',
      receiver: options.receiver ?? 'azure-wh-receiver',
      secret: options.secret ?? DEMO_SECRET,
    });
  const adapter = memoryAdapter({ warehouses: manifests, logger });
  const app = express();
  app.use(
    '/azure',
    azureReceiver({ token, ...adapter, logger, explain: options.explain ?? false }),
  );
  const server = createServer(app);
  const { port } = await listen(server, options.port ?? 8080, options.host ?? '127.0.0.1');
  return {
    server,
    url: `http://localhost:${port}/azure/${token}`,
    token,
    adapter,
    close: () =>
      new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

async function main(): Promise<void> {
  const env = process.env;
  const demo = await startDemo({
    port: env.PORT ? Number(env.PORT) : 8080,
    manifests: env.KAR_MANIFESTS,
    token: env.KAR_TOKEN,
    secret: env.KAR_SECRET,
    project: env.KAR_PROJECT,
    receiver: env.KAR_RECEIVER,
    explain: /^(1|true|yes|on)$/i.test((env.KAR_EXPLAIN ?? '').trim()),
  });
  // npm start runs in the package root, where these real payloads live.
  const fixtures = 'spec/fixtures/azure';
  process.stdout.write(
    [
      '',
      `kargo-azure-receiver demo: ${demo.adapter.size} objects in memory, from ${env.KAR_MANIFESTS ?? 'examples/manifests.yaml'}`,
      `Receiver URL: ${demo.url}`,
      '',
      'Post a real ACR push (refreshes hello-world):',
      `  curl -sS -H 'Content-Type: application/json' --data @${fixtures}/acr-push.json ${demo.url}`,
      'Post the Azure DevOps wizard Test payload (refreshes fabrikam-master):',
      `  curl -sS -H 'Content-Type: application/json' --data @${fixtures}/devops-test-git-push.json ${demo.url}`,
      'Ask which Warehouses a payload refreshes and why, sending nothing:',
      `  npm run explain -- ${fixtures}/acr-push.json --manifests ${env.KAR_MANIFESTS ?? 'examples/manifests.yaml'}`,
      '',
    ].join('\n') + '\n',
  );
  const stop = (): void => {
    void demo.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'EADDRINUSE'
        ? `port ${process.env.PORT ?? 8080} is in use: set PORT to a free port`
        : err instanceof Error
          ? err.message
          : String(err);
    process.stderr.write(`kargo-azure-receiver demo: ${message}\n`);
    process.exit(1);
  });
}
