/**
 * Classification cost per body: what one request holds the event loop for,
 * while every other project's webhooks wait. Hostile bodies within the
 * default 2 MiB limit against a real ACR push, same run; `JSON.parse` (what
 * the receiver used to build the whole body with) as the baseline.
 */
import { readFileSync } from 'node:fs';
import { Bench } from 'tinybench';
import { BODY_SHAPE, classify } from '../lib/sources/index.js';
import { parseSelected } from '../lib/sources/select-json.js';
import type { JSONObject } from '../lib/sources/result.js';

export interface BodyRow {
  name: string;
  bytes: number;
  meanMs: number;
  jsonParseMs: number;
}

/** A real ACR push, then bodies built to cost as much as possible. */
export function hostileBodies(): Array<[string, string]> {
  const real = readFileSync(
    new URL('../spec/fixtures/azure/acr-push.json', import.meta.url),
    'utf8',
  );
  const keys: Record<string, number> = {};
  for (let i = 0; i < 200_000; i++) keys[`_${i.toString(36)}`] = 1;
  const strings = Array.from({ length: 150_000 }, (_, i) => `s${i}`);
  return [
    ['real ACR push', real],
    [
      'ACR push, 200,000 keys in target',
      JSON.stringify({
        action: 'push',
        target: { ...keys, repository: 'app', tag: '1.0.0' },
        request: { host: 'r.azurecr.io' },
      }),
    ],
    [
      'ACR push, 150,000 strings in target',
      JSON.stringify({
        action: 'push',
        target: { strings, repository: 'app' },
        request: { host: 'r.azurecr.io' },
      }),
    ],
    [
      'Azure DevOps, 1.9 MB eventType',
      JSON.stringify({ eventType: 'x'.repeat(1_900_000), publisherId: 'tfs' }),
    ],
    [
      '1,000,000 nested arrays',
      `{"action":"push","target":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`,
    ],
    [
      'git.push, 20,000 refUpdates',
      JSON.stringify({
        eventType: 'git.push',
        resource: {
          repository: { remoteUrl: 'https://dev.azure.com/o/p/_git/r' },
          refUpdates: Array.from({ length: 20_000 }, (_, i) => ({
            name: `refs/tags/v${i}`,
            newObjectId: 'a1b2c3d4',
          })),
        },
      }),
    ],
  ];
}

function classifyText(text: string): void {
  classify(parseSelected(text, BODY_SHAPE) as JSONObject);
}

export async function benchBodies(): Promise<BodyRow[]> {
  const rows: BodyRow[] = [];
  for (const [name, text] of hostileBodies()) {
    const bench = new Bench({ time: 200, iterations: 5 });
    bench.add('ours', () => classifyText(text));
    bench.add('JSON.parse', () => {
      try {
        JSON.parse(text);
      } catch {
        // Too deep for JSON.parse: it fails where we answer.
      }
    });
    await bench.run();
    const mean = (i: number): number =>
      Number(
        (
          (bench.tasks[i]?.result as { latency?: { mean: number } } | undefined)?.latency?.mean ?? 0
        ).toFixed(2),
      );
    rows.push({ name, bytes: Buffer.byteLength(text), meanMs: mean(0), jsonParseMs: mean(1) });
  }
  return rows;
}
