/**
 * Issue 13 / docs/decisions.md D13: a recent message reaches the inbox with one conditional put
 * (1 WRU), not a transaction with the unread counter (4 WRU); the count adds the messages its
 * counter has not folded in yet, and folds them now and then. These tests hold the count exact
 * through folds, late arrivals, redelivered inserts and concurrent changes, and race a change
 * against a fold between its read and its write.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

const inbox = () => require('../../lambdas/store/inbox') as typeof import('../../lambdas/store/inbox');
const ids = () => require('../../lambdas/domain/send') as typeof import('../../lambdas/domain/send');
const clock = () => require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');
const usage = () => require('../../lambdas/shared/usage') as typeof import('../../lambdas/shared/usage');
const aws = () => require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
const { keys } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');

/** A message id made `ago` ms before the stack's clock, as a fan-out makes them. */
const idMade = (ago = 0) => ids().messageIdFor(ids().newRequestId(clock().now() - ago), `user:${Math.random()}`);

async function counterItem(userId: string): Promise<Record<string, unknown>> {
  return (await aws().ddb.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: keys.inboxUnread(userId), ConsistentRead: true }))).Item ?? {};
}

/** The DynamoDB requests and write units `run` made. */
async function writes<T>(run: () => Promise<T>): Promise<{ value: T; calls: string[]; wcu: number }> {
  const from = s.commands().length;
  const wcu = usage().usageSnapshot().dynamodb.wcu;
  const value = await run();
  return { value, calls: s.commands().slice(from), wcu: usage().usageSnapshot().dynamodb.wcu - wcu };
}

/** The count must be what the inbox holds: unread, not archived (all of them, and in the tenant's context). */
async function expectExact(userId: string, tenantId: string): Promise<void> {
  const all = (await inbox().listInbox(userId, { limit: 1000 })).items;
  const unread = all.filter((m) => !m.read && !m.archived);
  expect(await inbox().countUnread(userId, undefined)).toBe(unread.length);
  expect(await inbox().countUnread(userId, tenantId)).toBe(unread.filter((m) => m.tenantId === tenantId).length);
}

describe('inserting a message', () => {
  it('made recently: one conditional put, and the count finds it', async () => {
    const u = uid('recent');
    const put = await writes(() => inbox().putInboxMessage(u, { messageId: idMade(), title: 'New' }));
    expect([put.value, put.calls, put.wcu]).toEqual([true, ['PutItem'], 1]);
    expect(await inbox().countUnread(u, undefined)).toBe(1);
  });

  it('made more than LATE_MS before it arrives: counted at its insert, in one transaction with the counter', async () => {
    const u = uid('late');
    const put = await writes(() => inbox().putInboxMessage(u, { messageId: idMade(inbox().LATE_MS + 60_000), title: 'Delayed' }));
    expect([put.value, put.calls]).toEqual([true, ['TransactWriteItems']]);
    expect(Object.entries(await counterItem(u)).filter(([k]) => k.startsWith('n|'))).toEqual([['n|-|', 1]]);
    expect(await inbox().countUnread(u, undefined)).toBe(1);
  });
});

describe('the lazy count', () => {
  it('stays exact through folds, late arrivals, redelivered inserts and concurrent changes', async () => {
    const u = uid('folding');
    const t = uid('tenant');
    const all: string[] = [];
    let seed = 11;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const actions: { read?: boolean; archived?: boolean }[] = [{ read: true }, { read: false }, { archived: true }, { archived: false }];
    for (let round = 0; round < 4; round++) {
      const fresh = [idMade(), idMade(), idMade(), idMade(), idMade(inbox().LATE_MS + 60_000)];
      all.push(...fresh);
      // Every insert three times at once, as duplicate queue records would; every other one in the tenant's context.
      const created = await Promise.all(
        fresh.flatMap((id, i) => [0, 1, 2].map(() => inbox().putInboxMessage(u, { messageId: id, title: id, ...(i % 2 ? { tenantId: t } : {}) }))),
      );
      expect(created.filter(Boolean)).toHaveLength(fresh.length);
      // Changes of old and new messages, racing counts (which fold) and a read-all.
      const ops: (() => Promise<unknown>)[] = Array.from({ length: 30 }, () => {
        const id = all[random(all.length)];
        const flags = actions[random(actions.length)];
        return () => inbox().setInboxFlags(u, id, flags);
      });
      ops.splice(
        5,
        0,
        () => inbox().countUnread(u, undefined),
        () => inbox().countUnread(u, t),
      );
      ops.splice(
        15,
        0,
        () => inbox().markAllRead(u, undefined),
        () => inbox().countUnread(u, undefined),
      );
      await Promise.all(ops.map((op) => op()));
      await expectExact(u, t);
      // Past the point where this round's messages may be folded.
      clock().advanceClock(inbox().LATE_MS + inbox().LANDING_MS + inbox().FOLD_EVERY_MS);
      await expectExact(u, t);
    }
    // Folds happened: the counter holds how far, and numbers for what it folded.
    expect((await counterItem(u)).folded).toEqual(expect.any(Number));
  });

  it('a change landing between a fold’s read and its write: the fold writes nothing, and nothing counts twice', async () => {
    const u = uid('race');
    const [first, second] = [idMade(), idMade()];
    for (const id of [first, second]) await inbox().putInboxMessage(u, { messageId: id, title: id });
    clock().advanceClock(inbox().LATE_MS + inbox().LANDING_MS + inbox().FOLD_EVERY_MS);

    const { ddb } = aws();
    const send = ddb.send.bind(ddb) as (command: unknown) => Promise<unknown>;
    let raced = false;
    const spy = jest.spyOn(ddb, 'send').mockImplementation((async (command: { input?: { UpdateExpression?: string } }) => {
      if (!raced && command.input?.UpdateExpression?.startsWith('SET #folded')) {
        raced = true;
        // The fold has read both messages unread; the first is read before it writes.
        expect(await inbox().setInboxFlags(u, first, { read: true })).toBe(true);
      }
      return send(command);
    }) as never);
    try {
      expect(await inbox().countUnread(u, undefined)).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(raced).toBe(true);
    expect((await counterItem(u)).folded).toBeUndefined();
    expect(await inbox().countUnread(u, undefined)).toBe(1);
    // The next count folds: the second message is in the counter's numbers now, and still counted once.
    expect((await counterItem(u)).folded).toEqual(expect.any(Number));
    expect(await inbox().countUnread(u, undefined)).toBe(1);
    expect(await inbox().setInboxFlags(u, second, { read: true })).toBe(true);
    expect(await inbox().countUnread(u, undefined)).toBe(0);
  });
});
