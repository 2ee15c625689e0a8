import { openMarkers } from '../helpers/requests';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';

/**
 * Issue 13 (docs/decisions.md D12): a single send due at once is stored without an open marker (2 WRU
 * less a send); the sweeper's walk of the requests in gsi1 gives the ones still unfinished a grace
 * period on a marker due now, and looks at each request once: page by page, one walk at a time, and
 * going on where a walk that ran out of time stopped.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

type Messages = typeof import('../../lambdas/store/messages');
const store = () => require('../../lambdas/store/messages') as Messages;
const walk = () => require('../../lambdas/store/singles-walk') as typeof import('../../lambdas/store/singles-walk');
const clock = () => require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');

/**
 * `n` walked single sends, written as POST /send writes them; every other one has a DELIVERED
 * record (as its worker leaves it). Then the clock moves past the grace period, so the next walk
 * reaches them. Returns the ids of the unfinished ones and of all.
 */
async function seed(n: number): Promise<{ all: string[]; unfinished: string[] }> {
  const { newRequestId } = require('../../lambdas/domain/send') as typeof import('../../lambdas/domain/send');
  const all: string[] = [];
  const unfinished: string[] = [];
  for (let i = 0; i < n; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, async (_, j) => {
        const enqueued = clock().now() + i + j;
        const requestId = newRequestId(enqueued);
        const user = uid('walked');
        const req = {
          requestId,
          message: { to: { user_id: user }, content: { title: 'x', body: 'x' } },
          enqueued,
          single: true,
        } as import('../../lambdas/store/messages').RequestRecord;
        expect(await store().createRequest(req, undefined, [], true)).toBe(true);
        if ((i + j) % 2) await store().writeMessage(store().newMessageRecord(req, { messageId: requestId, userId: user }, 'DELIVERED', enqueued), 'absent');
        else unfinished.push(requestId);
        all.push(requestId);
      }),
    );
  }
  const { config } = require('../../lambdas/shared/config') as typeof import('../../lambdas/shared/config');
  clock().advanceClock(config.SWEEP_GRACE_MS + 60_000);
  return { all, unfinished };
}

const markedOf = async (ids: string[]) => {
  const mine = new Set(ids);
  return (await openMarkers()).filter((m) => mine.has(m.requestId)).map((m) => m.requestId);
};

describe('the walk of single sends', () => {
  // First: the sweep it runs re-drives every unfinished single send there is, and the tests below
  // leave hundreds (their clock moved on past the grace period): after them it waited on those.
  it('POST /send of a single send due at once writes no marker; one lost on its way is delivered after a sweep', async () => {
    const user = uid('unmarked');
    const sent = await s.http('POST', '/send', {
      message: { to: { user_id: user }, content: { title: 't', body: 'b' }, routing: { method: 'single', channels: ['inbox'] } },
    });
    const id = sent.json.requestId as string;
    expect(await markedOf([id])).toEqual([]);
    await eventually(
      async () => (await s.http('GET', `/messages/${id}`)).json.status,
      (st) => st === 'DELIVERED',
    );
    // A walked single send whose job was lost (stored, never enqueued): the sweep finds it.
    const { unfinished } = await seed(1);
    await s.runScheduled();
    await eventually(
      async () => (await s.http('GET', `/messages/${unfinished[0]}`)).json.status,
      (st) => st === 'DELIVERED',
    );
  });

  it('gives the unfinished ones a marker and the finished ones none, page by page, once', async () => {
    const { all, unfinished } = await seed(450);
    expect(await markedOf(all)).toEqual([]);
    const first = await walk().walkSingles(clock().now(), clock().wallNow() + 30_000);
    expect(first).toEqual({ requests: 450, opened: 225, more: false });
    expect((await markedOf(all)).sort()).toEqual([...unfinished].sort());
    // The walk has moved on: the next one finds nothing new.
    expect(await walk().walkSingles(clock().now(), clock().wallNow() + 30_000)).toEqual({ requests: 0, opened: 0, more: false });
  }, 60_000);

  it('one walk at a time: a second walk meanwhile does nothing', async () => {
    const { all, unfinished } = await seed(60);
    const both = await Promise.all([0, 1].map(() => walk().walkSingles(clock().now(), clock().wallNow() + 30_000)));
    expect(both.map((r) => r.requests).sort((a, b) => a - b)).toEqual([0, 60]);
    const marked = await markedOf(all);
    expect([marked.length, new Set(marked).size]).toEqual([unfinished.length, unfinished.length]);
  });

  it('a walk out of time stops after its page, and the next goes on from there', async () => {
    const { all, unfinished } = await seed(300);
    const clockModule = clock();
    // The deadline has not passed until the walk has read its first page of requests, and has after
    // it (whatever empty hour buckets come first: the earlier tests' walk stopped in an earlier hour
    // when these requests fall after the turn of the hour).
    let paged = false;
    const unfinishedSingles = store().unfinishedSingles;
    const pages = jest.spyOn(store(), 'unfinishedSingles').mockImplementation(async (ids) => {
      paged = true;
      return unfinishedSingles(ids);
    });
    const spy = jest.spyOn(clockModule, 'wallNow').mockImplementation(() => (paged ? Number.MAX_SAFE_INTEGER : 0));
    let first;
    try {
      first = await walk().walkSingles(clockModule.now(), 1);
    } finally {
      spy.mockRestore();
      pages.mockRestore();
    }
    expect(first).toEqual({ requests: 200, opened: expect.any(Number), more: true });
    const second = await walk().walkSingles(clockModule.now(), clockModule.wallNow() + 30_000);
    expect([second.requests, first.opened + second.opened, second.more]).toEqual([100, unfinished.length, false]);
    expect((await markedOf(all)).sort()).toEqual([...unfinished].sort());
  });

  it('with nothing to walk writes nothing (a read or two a sweep), until its position is an hour behind', async () => {
    await walk().walkSingles(clock().now(), clock().wallNow() + 30_000);
    const { dynamoCalls } = require('../helpers/dynamo-calls') as typeof import('../helpers/dynamo-calls');
    const writes = (calls: string[]) => calls.filter((c) => !['GetItem', 'Query', 'BatchGetItem'].includes(c));
    clock().advanceClock(10 * 60_000);
    const idle = await dynamoCalls(s, () => walk().walkSingles(clock().now(), clock().wallNow() + 30_000));
    expect([idle.value, writes(idle.calls)]).toEqual([{ requests: 0, opened: 0, more: false }, []]);
    clock().advanceClock(61 * 60_000);
    const behind = await dynamoCalls(s, () => walk().walkSingles(clock().now(), clock().wallNow() + 30_000));
    expect(writes(behind.calls)).toEqual(['UpdateItem', 'UpdateItem']);
    const after = await dynamoCalls(s, () => walk().walkSingles(clock().now(), clock().wallNow() + 30_000));
    expect(after.calls).toEqual(['GetItem', 'Query']);
  });
});
