/**
 * `npm run bench`: every figure is compared with a baseline measured in the
 * same run on the same machine, never with a number from elsewhere.
 *   BENCH_SECONDS (default 5): duration of each HTTP run.
 */
import { benchHttp } from './http.js';
import { benchKubernetes } from './kubernetes.js';
import { benchMatching } from './matching.js';
import { benchSecrets, deploymentMemory } from './secrets.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);

console.log(`# kargo-azure-receiver benchmark (node ${process.version})\n`);

console.log('## Lookup: URL index vs scanning every Warehouse');
const matching = await benchMatching([1_000, 10_000]);
console.table(matching);
for (const n of [1_000, 10_000]) {
  const [indexed, naive, missed, explained] = matching.filter((r) => r.warehouses === n);
  if (indexed && naive)
    console.log(
      `  ${n} Warehouses: index is ${(indexed.opsPerSec / naive.opsPerSec).toFixed(0)}x faster`,
    );
  if (indexed && missed && explained)
    console.log(
      `  ${n} Warehouses: explainPush takes ${missed.meanMicros} µs for a push nothing takes (near misses included), ${explained.meanMicros} µs for a matching one; match ${indexed.meanMicros} µs`,
    );
}

console.log(`\n## HTTP: ${seconds}s per run, 16 connections, real ACR push payload`);
const http = await benchHttp(seconds);
console.table(http);
const [bare, ours] = http;
if (bare && ours) {
  console.log(
    `  azureReceiver serves ${((ours.reqPerSec / bare.reqPerSec) * 100).toFixed(0)}% of the bare route's throughput`,
  );
}

console.log(
  `\n## End to end through the fake Kubernetes API server: ${seconds}s per run, 8 connections`,
);
const kube = await benchKubernetes(2_000, seconds);
console.table(kube);
const [cached, listing] = kube;
if (cached && listing) {
  console.log(
    `  watch-backed index: ${(cached.reqPerSec / listing.reqPerSec).toFixed(1)}x the throughput; list calls during the runs: ${cached.listCalls} vs ${listing.listCalls}`,
  );
}

console.log(
  '\n## Secrets: `serve` (built, Deployment NODE_OPTIONS) with 100 MB of unrelated Secrets',
);
const secrets = await benchSecrets(100);
console.table(secrets);
const { limitMB } = deploymentMemory();
const [without, withSecrets, everySecret] = secrets;
if (without && withSecrets && everySecret) {
  console.log(
    `  peak RSS ${withSecrets.peakRssMB} MB with them vs ${without.peakRssMB} MB without, limit ${limitMB} Mi; received ${withSecrets.bytesReceivedKB} KB vs ${without.bytesReceivedKB} KB (a list of every Secret: ${everySecret.bytesReceivedKB} KB)`,
  );
}
