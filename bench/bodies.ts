/**
 * Classification cost per body: what one request holds the event loop for,
 * while every other project's webhooks wait. The real Azure payloads and
 * hostile bodies within the default 2 MiB limit, same run, on the same raw
 * bytes: the receiver's parse (a nesting check, then `JSON.parse`) against
 * bare `JSON.parse`, each followed by classify. (The hand-written selecting
 * parser this replaced measured no better in the worst case.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Bench } from 'tinybench';
import { parseJSONBody } from '../lib/receiver/json-body.js';
import { classify } from '../lib/sources/index.js';
import { isObject } from '../lib/sources/result.js';

/** The receiver's default body limit. */
const LIMIT = 2 * 1024 * 1024;

/** Milliseconds per body: the receiver's parse and bare JSON.parse, each followed by classify. */
export interface BodyRow {
  name: string;
  bytes: number;
  receiverMs: number;
  bareJsonParseMs: number;
}

/** `count` copies of `item` joined by commas, as many as fit in `bytes`. */
function fill(item: string, bytes: number): string {
  return Array.from({ length: Math.floor(bytes / (item.length + 1)) }, () => item).join(',');
}

/** The real Azure payloads, then bodies built to cost as much as possible. */
export function hostileBodies(): Array<[string, string]> {
  const dir = new URL('../spec/fixtures/azure/', import.meta.url);
  const real = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f): [string, string] => [`real ${f}`, readFileSync(new URL(f, dir), 'utf8')]);
  const keys: Record<string, number> = {};
  for (let i = 0; i < 200_000; i++) keys[`_${i.toString(36)}`] = 1;
  const strings = Array.from({ length: 150_000 }, (_, i) => `s${i}`);
  const room = LIMIT - 200; // what a body leaves to its hostile part
  const push = (refUpdates: string): string =>
    `{"eventType":"git.push","resource":{"repository":{"remoteUrl":"https://dev.azure.com/o/p/_git/r"},"refUpdates":[${refUpdates}]}}`;
  return [
    ...real,
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
    ['git.push, refUpdates of 699k {}', push(fill('{}', room))],
    ['git.push, refUpdates of 1M numbers', push(fill('0', room))],
    ['git.push, refUpdates of 350k nulls', push(fill('null', room))],
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
    [
      'escapes: a read eventType of 350k \\u0041',
      `{"eventType":"${'\\u0041'.repeat(room / 6)}","publisherId":"tfs"}`,
    ],
    ['escapes: an unread field of 1M \\n', `{"action":"ping","x":"${'\\n'.repeat(room / 2)}"}`],
    [
      'escapes: 1M \\" in target.tag',
      `{"action":"push","target":{"tag":"${'\\"'.repeat(room / 2)}"}}`,
    ],
    [
      '1,000,000 nested arrays as the ACR target',
      `{"action":"push","target":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`,
    ],
    [
      '1,000,000 nested arrays beside the fields',
      `{"action":"ping","x":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`,
    ],
    ['2,000,000 unclosed arrays', `{"action":"ping","x":${'['.repeat(room)}`],
    ['10,000,000 unclosed arrays (10 MB, past the limit)', '['.repeat(10_000_000)],
  ];
}

/** The body as the receiver classifies it; a refused or unrecognised body ends here too. */
function classifyParsed(parse: () => unknown): void {
  try {
    const body = parse();
    if (isObject(body)) classify(body);
  } catch {
    // Refused: the receiver answers 400.
  }
}

/** Each parser from the raw bytes, as the receiver reads them. */
const parsers: Array<[string, (raw: Buffer) => void]> = [
  ['receiver (depth check + JSON.parse)', (raw) => classifyParsed(() => parseJSONBody(raw))],
  ['bare JSON.parse', (raw) => classifyParsed(() => JSON.parse(raw.toString('utf8')))],
];

export async function benchBodies(): Promise<BodyRow[]> {
  const rows: BodyRow[] = [];
  for (const [name, text] of hostileBodies()) {
    const bench = new Bench({ time: 200, iterations: 5 });
    const raw = Buffer.from(text);
    for (const [task, run] of parsers) bench.add(task, () => run(raw));
    await bench.run();
    const mean = (i: number): number =>
      Number(
        (
          (bench.tasks[i]?.result as { latency?: { mean: number } } | undefined)?.latency?.mean ?? 0
        ).toFixed(2),
      );
    rows.push({
      name,
      bytes: raw.length,
      receiverMs: mean(0),
      bareJsonParseMs: mean(1),
    });
  }
  return rows;
}

/** Runs {@link benchBodies} and prints its table and each parser's worst body within the limit. */
export async function reportBodies(): Promise<void> {
  console.log('\n## Classification cost per body (event-loop time), JSON.parse as baseline');
  const rows = await benchBodies();
  console.table(rows);
  const within = rows.filter((r) => r.bytes <= LIMIT);
  const worst = (key: keyof Omit<BodyRow, 'name' | 'bytes'>): string => {
    const row = within.reduce((a, b) => (b[key] > a[key] ? b : a));
    return `${row[key]} ms (${row.name})`;
  };
  console.log(`  worst body within 2 MiB, receiver: ${worst('receiverMs')}`);
  console.log(`  worst body within 2 MiB, bare JSON.parse: ${worst('bareJsonParseMs')}`);
}
