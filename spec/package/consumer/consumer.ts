// A TypeScript CommonJS app (compiled with module commonjs and node16, with
// skipLibCheck: false): the declarations must resolve and type-check.
import express from 'express';
import {
  azureReceiver,
  kargoToken,
  type KubernetesAdapterOptions,
  type PushEvent,
  type RefreshTarget,
} from 'kargo-azure-receiver';
import { acrPush, recordingAdapter, type RecordingAdapter } from 'kargo-azure-receiver/testing';

const target: RefreshTarget = { kind: 'Warehouse', namespace: 'kargo-demo', name: 'app' };
const adapter: RecordingAdapter = recordingAdapter({ targets: [target] });
const options: KubernetesAdapterOptions = { namespaces: ['kargo-demo'] };
const token = kargoToken({ project: 'kargo-demo', receiver: 'r', secret: 'a-secret' });
const app = express();
app.use('/azure', azureReceiver({ token, lookup: adapter.lookup, refresh: adapter.refresh }));

const server = app.listen(0, '127.0.0.1', async () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const res = await fetch(`http://127.0.0.1:${port}/azure/${token}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(acrPush({ repository: 'app', tag: 'v3' })),
  });
  const event = adapter.lookups[0] as PushEvent;
  console.log(
    JSON.stringify({
      status: res.status,
      body: await res.json(),
      qualifiers: event.qualifiers,
      options,
    }),
  );
  server.close();
});
