import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { startTestStack, type TestStack } from '../helpers/stack';
import { openMarkers } from '../helpers/requests';
import { eventually, uid } from '../helpers/wait';

/**
 * Issue 11, item 4: the sweeper's capacity. One sweep pages through every due open marker until
 * its time budget is spent (not 100 per shard), and two sweeps that overlap hand each request to
 * one check only, so a request never ends up with two markers.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

type Messages = typeof import('../../lambdas/store/messages');
const store = () => require('../../lambdas/store/messages') as Messages;
const report = (figures: Record<string, unknown>) => process.stdout.write(`sweeper: ${JSON.stringify(figures)}\n`);

/** `fn` over `items`, `limit` at a time. */
async function each<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i]);
    }),
  );
}

/**
 * `n` single-recipient requests written straight into the table with their open markers due now,
 * each with its one message in `status` (as POST /send and the delivery worker would leave them).
 */
async function seedRequests(n: number, status: 'DELIVERED' | 'ENQUEUED'): Promise<string[]> {
  const { newRequestId } = require('../../lambdas/domain/send') as typeof import('../../lambdas/domain/send');
  const { now } = require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');
  const ids = Array.from({ length: n }, () => newRequestId(now() - 600_000));
  await each(ids, 16, async (requestId) => {
    const user = uid('swept');
    const req = {
      requestId,
      message: { to: { user_id: user }, content: { title: 'x', body: 'x' } },
      enqueued: now() - 600_000,
      single: true,
    } as import('../../lambdas/store/messages').RequestRecord;
    await store().createRequest(req, now() - 1000);
    await store().writeMessage({ ...store().newMessageRecord(req, { messageId: requestId, userId: user }, status, now()) }, 'absent');
  });
  return ids;
}

const markersOf = async (ids: string[]) => {
  const mine = new Set(ids);
  return (await openMarkers()).filter((m) => mine.has(m.requestId));
};

async function fanoutQueueIdle(): Promise<boolean> {
  const out = await s.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: s.queues.fanout.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) === 0;
}

describe('one sweep', () => {
  it('closes all of 1,000 finished requests due at once (not 100 per shard)', async () => {
    const ids = await seedRequests(1000, 'DELIVERED');
    expect(await markersOf(ids)).toHaveLength(1000);
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    await s.runScheduled();
    const swept = Date.now() - t0;
    // This process's CPU while the sweep ran (the workers are idle: every request is finished).
    const cpu = process.cpuUsage(cpu0);
    // Only this one sweep: whatever it handed to check jobs is closed by them, nothing by a later sweep.
    const left = await eventually(
      () => markersOf(ids),
      (m) => m.length === 0,
      30_000,
    );
    report({
      requests: ids.length,
      sweepMs: swept,
      sweepCpuMs: Math.round((cpu.user + cpu.system) / 1000),
      closedPerSecond: Math.round((ids.length / Math.max(1, Date.now() - t0)) * 1000),
      left: left.length,
    });
  }, 90_000);
});

describe('two sweeps at once', () => {
  it('hand each unfinished request to one check, which leaves it exactly one marker', async () => {
    const ids = await seedRequests(60, 'ENQUEUED');
    await Promise.all([s.runScheduled(), s.runScheduled()]);
    await eventually(fanoutQueueIdle, Boolean, 30_000);
    const markers = await markersOf(ids);
    const perRequest = new Map<string, number>();
    for (const m of markers) perRequest.set(m.requestId, (perRequest.get(m.requestId) ?? 0) + 1);
    expect([...perRequest.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(perRequest.size).toBe(ids.length);
  }, 90_000);
});
