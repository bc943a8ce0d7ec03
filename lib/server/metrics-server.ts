/** The metrics endpoint: `GET /metrics` on a port of its own. @module */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listen } from './listen.js';
import type { ServerMetrics } from './metrics.js';

/** A running metrics endpoint. */
export interface MetricsServer {
  server: http.Server;
  /** `http://<host>:<port>/metrics`. */
  url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` (and nothing else) on its own port. */
export async function startMetricsServer(
  metrics: ServerMetrics,
  port: number,
  host: string | undefined,
): Promise<MetricsServer> {
  const server = http.createServer(function metricsHandler(req, res) {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, {
          'Content-Type': metrics.registry.contentType,
          'Cache-Control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      () => {
        res
          .writeHead(500, { 'Content-Type': 'application/json' })
          .end('{"error":"metrics unavailable"}');
      },
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  const address = await listen(server, port, host);
  return {
    server,
    url: `http://${displayHost(host, address)}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A host to put in a URL for a listening address: `localhost` for the wildcard addresses. */
export function displayHost(host: string | undefined, address: AddressInfo): string {
  const h = host ?? address.address;
  if (h === '' || h === '0.0.0.0' || h === '::') return 'localhost';
  return h.includes(':') ? `[${h}]` : h;
}
