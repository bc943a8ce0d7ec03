/** Probes on the main port, outside any token path: `/healthz` and `/readyz`. @module */
import express, { type Request, type Response, type Router } from 'express';

/** Why the server is not ready, or undefined when it is. */
export type ReadinessCheck = () => string | undefined;

/** `GET /healthz` and `GET /readyz` (200 `ready, degraded: …` when `degradedReason` says why); mount at `/`. */
export function healthRouter(
  notReadyReason: ReadinessCheck,
  degradedReason: ReadinessCheck = () => undefined,
): Router {
  const router = express.Router();
  router.get('/healthz', function healthz(_req: Request, res: Response) {
    res.set('Cache-Control', 'no-store').status(200).json({ msg: 'ok' });
  });
  router.get('/readyz', function readyz(_req: Request, res: Response) {
    const reason = notReadyReason();
    res.set('Cache-Control', 'no-store');
    if (reason === undefined) {
      const degraded = degradedReason();
      res
        .status(200)
        .json({ msg: degraded === undefined ? 'ready' : `ready, degraded: ${degraded}` });
    } else res.status(503).json({ error: `not ready: ${reason}` });
  });
  return router;
}
