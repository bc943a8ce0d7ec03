/** The graceful shutdown of `serve`: drain in-flight requests, answer the rest 503, close the rest. @module */
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger as PinoLogger } from 'pino';

/** After the 503s at the shutdown timeout, how long before the connections left are cut. */
export const FLUSH_TIMEOUT_MS = 1000;
/** How long closing the watches, the status writer and the metrics server may take after the drain. */
export const CLOSE_TIMEOUT_MS = 3000;

/** Requests in flight: per socket, and the answers not yet finished. */
export interface InFlight {
  active: Map<Socket, number>;
  unanswered: Set<http.ServerResponse>;
}

/** Tracks the requests of `server`; once shutting down, a connection ends after its last answer. */
export function trackInFlight(server: http.Server, shuttingDown: () => boolean): InFlight {
  const active = new Map<Socket, number>();
  const unanswered = new Set<http.ServerResponse>();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    active.set(socket, (active.get(socket) ?? 0) + 1);
    unanswered.add(res);
    res.once('close', () => {
      unanswered.delete(res);
      const left = (active.get(socket) ?? 1) - 1;
      if (left > 0) active.set(socket, left);
      else active.delete(socket);
      if (shuttingDown() && !socket.destroyed && left <= 0) socket.end();
    });
  });
  return { active, unanswered };
}

/** Whether `promise` settled within `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** What {@link shutDown} stops. */
export interface Stopping {
  server: http.Server;
  inFlight: InFlight;
  /** Aborted at the shutdown timeout: the webhooks still running answer 503 at once. */
  drainOver: AbortController;
  timeoutMs: number;
  /** Closes the watches, the status writer and the metrics server. */
  closeRest(): Promise<unknown>;
  logger: PinoLogger;
}

/** Drains `server` (bounded: `timeoutMs + FLUSH_TIMEOUT_MS + CLOSE_TIMEOUT_MS`), then closes the rest. */
export async function shutDown(s: Stopping): Promise<void> {
  const { server, inFlight, timeoutMs, logger } = s;
  const started = Date.now();
  logger.info(
    { inFlight: inFlight.unanswered.size, timeoutMs },
    'shutting down: draining in-flight requests',
  );
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // Answers still to come close their connection: the client reconnects to another replica.
  for (const res of inFlight.unanswered) if (!res.headersSent) res.setHeader('Connection', 'close');
  if (!(await within(closed, timeoutMs))) {
    logger.warn(
      { inFlight: inFlight.unanswered.size, timeoutMs },
      'shutdown timeout: answering webhooks still running with 503',
    );
    s.drainOver.abort();
    if (!(await within(closed, FLUSH_TIMEOUT_MS))) {
      logger.warn(
        { cut: inFlight.active.size, timeoutMs: FLUSH_TIMEOUT_MS },
        'shutdown: closing connections still busy',
      );
      server.closeAllConnections();
      await closed;
    }
  }
  if (!(await within(s.closeRest(), CLOSE_TIMEOUT_MS)))
    logger.warn({ timeoutMs: CLOSE_TIMEOUT_MS }, 'shutdown: watches not closed in time');
  logger.info({ durationMs: Date.now() - started }, 'stopped');
}
