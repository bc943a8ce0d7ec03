import assert from 'node:assert/strict';
import { backoffDelay, realSleep } from '../../lib/kube/backoff.js';

describe('backoff', function () {
  const options = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };

  const cases: { attempt: number; random: number; delay: number }[] = [
    { attempt: 1, random: 0.5, delay: 100 },
    { attempt: 2, random: 0.5, delay: 200 },
    { attempt: 4, random: 0.5, delay: 800 },
    { attempt: 5, random: 0.5, delay: 1000 },
    { attempt: 50, random: 0.5, delay: 1000 },
    { attempt: 2, random: 0, delay: 100 },
    { attempt: 2, random: 0.999999, delay: 300 },
    { attempt: 5, random: 0.999999, delay: 1000 },
  ];
  for (const c of cases) {
    it(`attempt ${c.attempt}, random ${c.random} → ${c.delay} ms`, function () {
      assert.equal(
        backoffDelay(c.attempt, options, () => c.random),
        c.delay,
      );
    });
  }

  it('realSleep resolves after its time, or at once when aborted', async function () {
    await realSleep(1);
    const controller = new AbortController();
    const long = realSleep(60_000, controller.signal);
    controller.abort();
    await long;
    await realSleep(60_000, controller.signal);
  });
});
