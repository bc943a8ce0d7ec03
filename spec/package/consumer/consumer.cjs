// A plain CommonJS app: require() of the package (Node >= 20.19 loads ESM
// through require) and of its testing entry, serving real requests.
'use strict';
const express = require('express');
const { azureReceiver, kargoToken, normalizeImageURL } = require('kargo-azure-receiver');
const { acrPing, acrPush, recordingAdapter } = require('kargo-azure-receiver/testing');

async function main() {
  const adapter = recordingAdapter({
    targets: [{ kind: 'Warehouse', namespace: 'kargo-demo', name: 'app' }],
  });
  const token = kargoToken({ project: 'kargo-demo', receiver: 'r', secret: 'a-secret' });
  const app = express();
  app.use('/azure', azureReceiver({ token, lookup: adapter.lookup, refresh: adapter.refresh }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${server.address().port}/azure/${token}`;
  const results = [];
  for (const body of [acrPing(), acrPush({ repository: 'app', tag: 'v2' })]) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    results.push([res.status, await res.json()]);
  }
  server.close();
  console.log(
    JSON.stringify({
      results,
      refreshes: adapter.refreshes,
      image: normalizeImageURL('MyACR.azurecr.io/App'),
    }),
  );
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
