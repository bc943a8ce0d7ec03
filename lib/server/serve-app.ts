/** The express app of `serve`: probes, the receivers, a 404 and a fixed error answer. @module */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger as PinoLogger } from 'pino';
import type { KubernetesAdapter } from '../adapters/kubernetes/index.js';
import { healthRouter } from './health.js';
import { redactPath } from './logging.js';
import type { Receivers } from './serve-receivers.js';

type Failing = ReturnType<KubernetesAdapter['stats']>['failing'];

/** `/readyz` words for the watches down on a failure: each root cause once, then the watches it stops. */
function describeFailing(failing: Failing): string {
  const byReason = new Map<string, string[]>();
  for (const f of failing) {
    const watches = byReason.get(f.reason) ?? [];
    const namespace = f.namespace === '*' ? 'every namespace' : `namespace ${f.namespace}`;
    watches.push(`${f.resource} watch in ${namespace} down ${Math.round(f.outOfSyncMs / 1000)} s`);
    byReason.set(f.reason, watches);
  }
  return [...byReason].map(([reason, watches]) => `${reason} (${watches.join(', ')})`).join('; ');
}

function probes(receivers: Receivers, shuttingDown: () => boolean): express.Router {
  const failing = (): Failing => receivers.stats?.()?.failing ?? [];
  return healthRouter(
    () => {
      if (shuttingDown()) return 'shutting down';
      if (receivers.isReady()) return undefined;
      const down = failing();
      return down.length
        ? `Kubernetes caches not synced: ${describeFailing(down)}`
        : 'Kubernetes caches not synced yet';
    },
    // Ready meanwhile (see isReady in the adapter): ACR does not retry, so leaving the Service loses its pushes.
    () => {
      const down = failing();
      return down.length ? `${describeFailing(down)}; lookups confirm by live reads` : undefined;
    },
  );
}

export function serveApp(
  receivers: Receivers,
  shuttingDown: () => boolean,
  logger: PinoLogger,
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(function connectionCloseWhileDraining(_req: Request, res: Response, next: NextFunction) {
    // Keep-alive clients reconnect to another replica instead of to a closing one.
    if (shuttingDown()) res.set('Connection', 'close');
    next();
  });
  app.use(probes(receivers, shuttingDown));
  app.use(receivers.mount, receivers.router);
  app.use(function notFound(req: Request, res: Response) {
    logger.debug({ method: req.method, path: redactPath(req.originalUrl) }, 'no route');
    res.status(404).json({ error: 'not found' });
  });
  app.use(function errorHandler(err: unknown, req: Request, res: Response, next: NextFunction) {
    // Express's own errors (a malformed %-escape in the path, …): a fixed answer, never the message.
    const status =
      typeof (err as { status?: unknown }).status === 'number'
        ? (err as { status: number }).status
        : 500;
    logger[status >= 500 ? 'error' : 'warn'](
      {
        method: req.method,
        path: redactPath(req.originalUrl),
        status,
        errorName: (err as { name?: unknown }).name,
      },
      'request failed',
    );
    if (res.headersSent) return next(err);
    res
      .status(status >= 400 && status < 500 ? status : 500)
      .json({ error: status >= 400 && status < 500 ? 'bad request' : 'internal error' });
  });
  return app;
}
