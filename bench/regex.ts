/**
 * Tag filter cost: Kargo's regexes run on RE2 (re2js), linear in the tag.
 * The pathological pattern `^(a|a)+$` (valid RE2, accepted by Kargo) against
 * a plain one, same run; JavaScript's backtracking RegExp as the baseline,
 * on a tag short enough for it to finish at all (each more character
 * doubles its time: 29 characters take about a minute).
 */
import { Bench } from 'tinybench';
import { compileRegex } from '../lib/matching/qualifiers.js';

export interface RegexRow {
  name: string;
  opsPerSec: number;
  meanMicros: number;
}

const PATHOLOGICAL = '^(a|a)+$';
const PLAIN = String.raw`^v\d+\.\d+\.\d+$`;

export async function benchRegex(): Promise<RegexRow[]> {
  const hostile = `${'a'.repeat(29)}b`;
  const short = `${'a'.repeat(18)}b`;
  const re2Pathological = compileRegex(PATHOLOGICAL);
  const re2Plain = compileRegex(PLAIN);
  const jsPathological = new RegExp(PATHOLOGICAL);
  const jsPlain = new RegExp(PLAIN);
  const bench = new Bench({ time: 300 });
  bench
    .add(`RE2 ${PATHOLOGICAL} on a×29+b`, () => {
      re2Pathological.test(hostile);
    })
    .add(`RE2 ${PLAIN} on v1.2.3`, () => {
      re2Plain.test('v1.2.3');
    })
    .add(`RegExp ${PLAIN} on v1.2.3 (baseline)`, () => {
      jsPlain.test('v1.2.3');
    })
    .add(`RegExp ${PATHOLOGICAL} on a×18+b (baseline)`, () => {
      jsPathological.test(short);
    });
  await bench.run();
  return bench.tasks.map((task) => {
    const r = task.result as
      { throughput?: { mean: number }; latency?: { mean: number } } | undefined;
    return {
      name: task.name,
      opsPerSec: Math.round(r?.throughput?.mean ?? 0),
      meanMicros: Number(((r?.latency?.mean ?? 0) * 1000).toFixed(2)),
    };
  });
}
