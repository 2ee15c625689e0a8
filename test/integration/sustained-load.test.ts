import { startTestStack, type TestStack } from '../helpers/stack';
import { messagesOf } from '../helpers/send';
import { openMarkers } from '../helpers/requests';
import { eventually, uid } from '../helpers/wait';

/**
 * Issue 11, item 4: sustained load, in a compressed timescale. Single sends at 9 per second for a
 * minute (540 requests, each with its open marker) while the sweeper runs every 2 seconds with a
 * 3-second grace period (a minute of this is 30 sweep cycles, as half an hour is on AWS): every
 * message ends terminal and the open markers are back to zero shortly after the load stops.
 */
const RATE_PER_SECOND = 9;
const LOAD_SECONDS = 60;
const SWEEP_EVERY_MS = 2000;

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0, env: { SWEEP_GRACE_MS: '3000' } });
});
afterAll(() => s?.stop());

describe('sustained single sends with the sweeper running', () => {
  it('ends every message terminal and closes every open marker soon after the load stops', async () => {
    const trace = uid('load');
    let cycles = 0;
    // The schedule, as the local stack's would run it (not waiting for the previous sweep).
    const sweeper = setInterval(() => {
      cycles += 1;
      void s.runScheduled();
    }, SWEEP_EVERY_MS);
    try {
      const t0 = Date.now();
      const sends: Promise<{ status: number }>[] = [];
      const total = RATE_PER_SECOND * LOAD_SECONDS;
      for (let i = 0; i < total; i++) {
        const due = t0 + (i * 1000) / RATE_PER_SECOND;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        sends.push(
          s.http('POST', '/send', {
            message: {
              to: { user_id: `${trace}-u${i % 50}` },
              content: { title: 'Load', body: `#${i}` },
              routing: { method: 'single', channels: ['inbox'] },
              metadata: { trace_id: trace },
            },
          }),
        );
      }
      const answers = await Promise.all(sends);
      const loadMs = Date.now() - t0;
      expect(answers.filter((a) => a.status !== 202)).toEqual([]);
      const cyclesDuringLoad = cycles;

      // The sweeper closes a single send's marker only once its message is terminal: polling the
      // markers (16 small queries) is how this test waits, not listing 540 requests over and over.
      const open = await eventually(openMarkers, (m) => m.length === 0, 60_000);
      const markersZeroMs = Date.now() - t0 - loadMs;
      const messages = await messagesOf(s, trace, total, 60_000);
      expect(messages).toHaveLength(total);
      expect(new Set(messages.map((m) => m.status))).toEqual(new Set(['DELIVERED']));
      const { sweepStats } = require('../../lambdas/workers/sweeper') as typeof import('../../lambdas/workers/sweeper');
      process.stdout.write(
        `sustained load: ${JSON.stringify({ sends: total, loadSeconds: loadMs / 1000, sendsPerSecond: +(total / (loadMs / 1000)).toFixed(2), sweepCyclesDuringLoad: cyclesDuringLoad, sweepCyclesInAll: cycles, markersZeroAfterLoadMs: markersZeroMs, openAtEnd: open.length, sweeper: sweepStats })}\n`,
      );
    } finally {
      clearInterval(sweeper);
    }
  }, 170_000);
});
