/**
 * `npm run bench`: every figure is compared with a baseline measured in the
 * same run on the same machine, never with a number from elsewhere.
 *   BENCH_SECONDS (default 5): duration of each HTTP run.
 *   BENCH_SCALE (default 10000,100000): Warehouse counts of the sync runs.
 *   BENCH_PROJECTS (default 50,500,2000): Kargo project counts of the projects runs.
 * One section alone: `npm run bench -- bodies` (classification cost per body)
 * or `npm run bench -- projects` (watches per Kargo project count);
 * BENCH_ONLY=<section> does the same.
 */
import { reportBodies } from './bodies.js';
import { benchHttp } from './http.js';
import { benchKubernetes } from './kubernetes.js';
import { benchLiveReads } from './live-reads.js';
import { benchMatching } from './matching.js';
import { benchProjects } from './projects.js';
import { benchIndexMemory, benchSync } from './scale.js';
import { benchRegex } from './regex.js';
import { benchSecrets, deploymentMemory } from './secrets.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const scale = (process.env.BENCH_SCALE ?? '10000,100000').split(',').map(Number);

console.log(`# kargo-azure-receiver benchmark (node ${process.version})\n`);

async function projectsSection(): Promise<void> {
  console.log(
    '\n## Kargo projects: watches, connections, time until every receiver is served, memory (config watcher in a child process, shipped heap bound)',
  );
  const sizes = (process.env.BENCH_PROJECTS ?? '50,500,2000').split(',').map(Number);
  const rows = await benchProjects(sizes);
  console.table(rows);
  for (const n of sizes) {
    const [now, before] = rows.filter((r) => r.projects === n);
    if (now && before)
      console.log(
        `  ${n} projects: ${now.peakWatches} watches and ${now.connections} connections (per Secret: ${before.peakWatches} and ${before.connections}); served in ${now.syncMs} ms (${before.syncMs} ms); peak RSS ${now.peakRssMiB} MiB (${before.peakRssMiB} MiB)`,
      );
  }
}
const only = process.argv[2] ?? process.env.BENCH_ONLY;
if (only === 'bodies') {
  await reportBodies();
  process.exit(0);
}
if (only === 'projects') {
  await projectsSection();
  process.exit(0);
}

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

console.log('\n## Tag filters: a pathological regex vs a plain one (RE2), RegExp as baseline');
const regex = await benchRegex();
console.table(regex);
const [pathological, plain] = regex;
if (pathological && plain) {
  console.log(
    `  ^(a|a)+$ on a hostile tag costs ${(pathological.meanMicros / plain.meanMicros).toFixed(1)}x a plain pattern: ${pathological.meanMicros} µs`,
  );
}

await reportBodies();

console.log(`\n## HTTP: ${seconds}s per run, 16 connections, real ACR push payload`);
const http = await benchHttp(seconds);
console.table(http);
const [bare, ours, guarded] = http;
if (bare && ours) {
  console.log(
    `  azureReceiver serves ${((ours.reqPerSec / bare.reqPerSec) * 100).toFixed(0)}% of the bare route's throughput`,
  );
}
if (ours && guarded) {
  console.log(
    `  with a second factor (basic auth + a header): ${((guarded.reqPerSec / ours.reqPerSec) * 100).toFixed(0)}% of azureReceiver's throughput`,
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
  `\n## Live reads: a watch down on a failure vs routine watch restarts, 2 000 Warehouses, ${seconds}s per run, 8 connections`,
);
const live = await benchLiveReads(2_000, seconds);
console.table(live);
const [steady, outage] = live;
if (steady && outage) {
  console.log(
    `  routine restarts (${steady.watchRestarts} watch restarts, ${steady.relists} re-lists): ${steady.liveReadsPerWebhook} live reads per webhook; outage: ${outage.liveReadsPerWebhook} paged lists per webhook (${outage.liveReads} for ${outage.webhooks} webhooks, concurrent lookups sharing one), ${outage.reqPerSec} vs ${steady.reqPerSec} req/s`,
  );
}

console.log('\n## Index memory: bytes per Warehouse (two subscriptions each), 100 000 Warehouses');
const memory = await benchIndexMemory(100_000);
console.table(memory);
const [kept, parsed] = memory;
if (kept && parsed) {
  console.log(
    `  the index keeps ${kept.bytesPerWarehouse} bytes per Warehouse, ${((kept.bytesPerWarehouse / parsed.bytesPerWarehouse) * 100).toFixed(0)}% of the parsed manifest`,
  );
}

console.log(
  '\n## Sync through the fake Kubernetes API server, child process with the shipped heap bound (--max-old-space-size=192)',
);
const sync = await benchSync(scale);
console.table(sync);
for (const n of scale) {
  const [idle, paged, unpaged] = sync.filter((r) => r.warehouses === n);
  if (idle && paged && unpaged)
    console.log(
      `  ${n} Warehouses: peak RSS ${paged.peakRssMiB} MiB (idle ${idle.peakRssMiB}, unpaged ${unpaged.peakRssMiB}), synced in ${(paged.syncMs / 1000).toFixed(1)} s (unpaged ${(unpaged.syncMs / 1000).toFixed(1)} s)`,
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

await projectsSection();
