import { startTestStack, type TestStack } from '../helpers/stack';
import { messagesOf, rendered, TERMINAL } from '../helpers/send';
import { isOpen } from '../helpers/requests';
import { eventually, uid } from '../helpers/wait';

/**
 * Issue 11, item 2: oversized fan-out jobs. A `to` entry's data is kept on the request and
 * referenced from the delivery jobs, never copied into each of their recipients, and every
 * SendMessageBatch is sized by bytes: fauxqs enforces SQS's limits (1 MiB per message and per
 * batch), so a batch over them fails here as it would on AWS. A fan-out that fails on every
 * attempt ends after MAX_FANOUT_ATTEMPTS with the reason in the request's log.
 */
let s: TestStack;
/** Every SendMessageBatch the functions made: the queue, and each message body's size in bytes. */
const batches: { queueUrl: string; sizes: number[]; bodies: string[] }[] = [];

beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0, visibilityTimeoutSeconds: { fanout: 1 } });
  const { sqs } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { QueueUrl?: string; Entries?: { MessageBody?: string }[] };
      if (context.commandName === 'SendMessageBatchCommand') {
        const bodies = (input.Entries ?? []).map((e) => e.MessageBody ?? '');
        batches.push({ queueUrl: input.QueueUrl ?? '', sizes: bodies.map((b) => Buffer.byteLength(b, 'utf8')), bodies });
      }
      return next(args);
    },
    { step: 'initialize', name: 'batchSizes' },
  );
});
afterAll(() => s?.stop());

const store = () => require('../../lambdas/store/messages') as typeof import('../../lambdas/store/messages');
const inbox = { routing: { method: 'single', channels: ['inbox'] } };

describe('a fan-out whose data is large', () => {
  it('delivers `to: {list_id, data: ~5 KB of non-ASCII}` to each of 260 subscribers, its jobs referencing the data', async () => {
    const list = uid('big.list');
    const users = Array.from({ length: 260 }, (_, i) => `${list}-u${i}`);
    await s.client.lists.subscriptions.add(list, { recipients: users.map((recipientId) => ({ recipientId })) });
    // 1,300 two-byte and 850 three-byte characters: about 5 KB as UTF-8, 13 KB escaped as ASCII.
    const text = 'é'.repeat(1300) + '漢'.repeat(850);
    const trace = uid('trace');
    const { requestId } = await s.client.send.message({
      message: {
        ...inbox,
        to: { list_id: list, data: { greeting: 'Grüße', text } },
        content: { title: 'Hi', body: '{{greeting}}' },
        metadata: { trace_id: trace },
      } as never,
    });

    const messages = await messagesOf(s, trace, users.length, 90_000);
    expect(messages.map((m) => m.recipient).sort()).toEqual([...users].sort());
    expect(new Set(messages.map((m) => m.status))).toEqual(new Set(['DELIVERED']));
    expect(await rendered(s, messages[0].id, 'inbox')).toContain('Grüße');

    // Through the queue layer: no batch over SQS's limits, and the delivery jobs of this request
    // carry a reference to the data, not 260 copies of it.
    const mine = batches.filter((b) => b.queueUrl === s.queues.delivery.url && b.bodies.some((body) => body.includes(requestId)));
    const jobs = mine.flatMap((b) => b.sizes);
    expect(jobs.length).toBeGreaterThan(0);
    expect(Math.max(...mine.map((b) => b.sizes.reduce((a, x) => a + x, 0)))).toBeLessThanOrEqual(1_048_576);
    expect(Math.max(...jobs)).toBeLessThan(16 * 1024);
  }, 120_000);
});

describe('a fan-out that fails on every attempt', () => {
  it('ends after 3 attempts with the reason in the request log; what it recorded ends terminal and the sweeper does not revive it', async () => {
    const { upsertItem } = require('../../lambdas/store/table') as typeof import('../../lambdas/store/table');
    const { keys } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
    const tenant = uid('poison');
    await s.client.tenants.update(tenant, { name: tenant });
    await s.client.users.tenants.addSingle(tenant, { user_id: `${tenant}-good` });
    // A membership item no reader can parse: each attempt at the tenant's members fails.
    await upsertItem(keys.membership(tenant, 'zz-bad'), { _t: 'Membership', doc: '{not json', ...keys.membershipIndex('zz-bad', tenant) });
    const user = uid('first');
    const trace = uid('trace');
    // Two targets: the fan-out records the user's message before it reaches the tenant.
    const { requestId } = await s.client.send.message({
      message: { ...inbox, to: [{ user_id: user }, { tenant_id: tenant }], content: { title: 'Hi', body: 'x' }, metadata: { trace_id: trace } } as never,
    });

    const req = await eventually(
      () => store().getRequest(requestId),
      (r) => r?.fanout?.done === true,
      45_000,
    );
    expect(req!.fanout).toMatchObject({ done: true, failed: expect.stringMatching(/failed 3 times.*JSON/) });
    expect(req!.log).toEqual([expect.objectContaining({ type: 'FANOUT_FAILED', error: req!.fanout!.failed })]);

    // Past the grace period the sweeper re-drives the recorded message, closes the request, and
    // never starts the fan-out again.
    const { advanceClock } = require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');
    advanceClock(10 * 60_000);
    const [message] = await eventually(
      async () => {
        await s.runScheduled();
        return messagesOf(s, trace, 1, 1000).catch(() => []);
      },
      (m) => m.length === 1 && TERMINAL.includes(m[0].status),
      45_000,
    );
    expect([message.recipient, message.status]).toEqual([user, 'DELIVERED']);
    await eventually(
      async () => {
        advanceClock(6 * 60_000);
        await s.runScheduled();
        return isOpen(requestId);
      },
      (open) => !open,
      30_000,
    );
    const after = await store().getRequest(requestId);
    expect(after!.fanout).toEqual(req!.fanout);
    expect(after!.log).toHaveLength(1);
  }, 120_000);
});
