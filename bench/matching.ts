/**
 * Lookup cost at scale: the URL index of WarehouseIndex against a naive scan
 * that checks every Warehouse (what a list-per-webhook adapter does after
 * its list call), same run, same data. Then the cost of an explanation
 * (`explainPush`: the hint of a push nothing takes, with its near misses,
 * and the `explain` list of a matching push) against `match` itself.
 */
import { Bench } from 'tinybench';
import { normalizeImageURL, WarehouseIndex } from '../lib/index.js';
import type { PushEvent } from '../lib/index.js';

function warehouses(n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => ({
    apiVersion: 'kargo.akuity.io/v1alpha1',
    kind: 'Warehouse',
    metadata: { namespace: `project-${i % 50}`, name: `wh-${i}` },
    spec: {
      subscriptions: [
        {
          image: {
            repoURL: `myregistry.azurecr.io/app-${i % (n / 2)}`,
            semverConstraint: '^1.0.0',
          },
        },
      ],
    },
  }));
}

export interface MatchRow {
  name: string;
  warehouses: number;
  opsPerSec: number;
  meanMicros: number;
}

export async function benchMatching(sizes: number[]): Promise<MatchRow[]> {
  const rows: MatchRow[] = [];
  for (const n of sizes) {
    const manifests = warehouses(n);
    const index = new WarehouseIndex();
    for (const m of manifests) index.upsert(m);
    const event: PushEvent = {
      type: 'push',
      source: 'acr',
      eventType: 'push',
      repoURLs: [normalizeImageURL('myregistry.azurecr.io/app-7')],
      kinds: ['image'],
      qualifiers: ['1.2.3'],
    };
    // The same repository name on another registry: nothing matches, two near misses.
    const elsewhere: PushEvent = {
      ...event,
      repoURLs: [normalizeImageURL('otherregistry.azurecr.io/app-7')],
    };
    const bench = new Bench({ time: 300 });
    bench
      .add(`WarehouseIndex.match (URL index)`, () => {
        index.match(event);
      })
      .add(`naive scan of every Warehouse`, () => {
        // Normalizing and comparing each subscription, as a list-per-webhook adapter must.
        const hits: string[] = [];
        for (const m of manifests as Array<{
          metadata: { name: string };
          spec: { subscriptions: Array<{ image: { repoURL: string } }> };
        }>) {
          for (const s of m.spec.subscriptions) {
            if (event.repoURLs.includes(normalizeImageURL(s.image.repoURL)))
              hits.push(m.metadata.name);
          }
        }
      })
      .add(`WarehouseIndex.explainPush (nothing takes the push: hint, near misses)`, () => {
        index.explainPush(elsewhere);
      })
      .add(`WarehouseIndex.explainPush (a matching push, explain on)`, () => {
        index.explainPush(event);
      });
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result as
        { throughput?: { mean: number }; latency?: { mean: number } } | undefined;
      rows.push({
        name: task.name,
        warehouses: n,
        opsPerSec: Math.round(r?.throughput?.mean ?? 0),
        meanMicros: Number(((r?.latency?.mean ?? 0) * 1000).toFixed(2)),
      });
    }
  }
  return rows;
}
