// One kubernetesAdapter (one cache, one set of watches) shared by the Azure
// receiver and a second receiver of another type: here a small GitHub push
// route that builds the same push event and calls the same lookup/refresh.
import express, { type Request, type Response, type Router } from 'express';
import {
  azureReceiver,
  kargoToken,
  kubernetesAdapter,
  normalizeGitURL,
  type Adapter,
  type PushEvent,
} from 'kargo-azure-receiver';

/** A GitHub `push` webhook → refresh of the Warehouses subscribed to the repository and branch. */
export function githubPushRoute(adapter: Adapter): Router {
  const router = express.Router();
  router.post(
    '/',
    express.json({ limit: '2mb' }),
    async function githubPush(req: Request, res: Response) {
      // A real receiver checks X-Hub-Signature-256 against its secret first.
      if (req.get('X-GitHub-Event') !== 'push') {
        res.json({ msg: 'ignored' });
        return;
      }
      const body = req.body as { ref?: unknown; repository?: { clone_url?: unknown } };
      if (typeof body.ref !== 'string' || typeof body.repository?.clone_url !== 'string') {
        res.status(400).json({ error: 'not a GitHub push event' });
        return;
      }
      const event: PushEvent = {
        type: 'push',
        source: 'github',
        eventType: 'push',
        repoURLs: [normalizeGitURL(body.repository.clone_url)],
        kinds: ['git'],
        qualifiers: [body.ref],
      };
      try {
        const targets = await adapter.lookup(event);
        await Promise.all(targets.map((target) => adapter.refresh(target)));
        res.json({ msg: `refreshed ${targets.length} warehouse(s)` });
      } catch {
        res.status(503).json({ error: 'refresh failed, retry later' });
      }
    },
  );
  return router;
}

/** The app: both receivers on one adapter. */
export function createApp(adapter: Adapter, azureToken: string): express.Express {
  const app = express();
  app.use(
    '/azure',
    azureReceiver({ token: azureToken, lookup: adapter.lookup, refresh: adapter.refresh }),
  );
  app.use('/github', githubPushRoute(adapter));
  return app;
}

// Production wiring (run this file with a kubeconfig to try it):
if (import.meta.url === `file://${process.argv[1]}`) {
  const adapter = kubernetesAdapter({ namespaces: ['kargo-demo'] });
  const token = kargoToken({
    project: 'kargo-demo',
    receiver: 'azure-wh-receiver',
    secret: process.env.AZURE_WH_SECRET ?? '',
  });
  createApp(adapter, token).listen(8080);
}
