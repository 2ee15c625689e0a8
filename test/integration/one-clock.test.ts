import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Every timestamp the API writes comes from one clock: under the local stack's test clock (moved
 * forward, as tests do to skip a long delay), a cancel is recorded after the events before it. It
 * used to take the machine's time, so it landed before them.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

it('records a cancel after the delay it ends, with the clock moved forward', async () => {
  (require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock')).advanceClock(60 * 60_000);
  const sent = await s.http('POST', '/send', {
    message: {
      to: { user_id: uid('u') },
      content: { title: 't', body: 'b' },
      routing: { method: 'single', channels: ['inbox'] },
      delay: { duration: 20 * 60_000 },
    },
  });
  expect(sent.status).toBe(202);
  const id = sent.json.requestId as string;
  expect((await s.http('POST', `/messages/${id}/cancel`)).status).toBe(200);
  const history = (await s.http('GET', `/messages/${id}/history`)).json.results as { ts: number | string; type: string }[];
  const times = history.map((e) => ({ type: e.type, at: new Date(e.ts).getTime() }));
  expect(times.map((t) => t.type)).toContain('CANCELED');
  expect(times).toEqual([...times].sort((a, b) => a.at - b.at));
});
