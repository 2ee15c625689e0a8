/**
 * Issue 11, item 9: end users could trigger unbounded inbox scans. The unread count read the
 * user's inbox until it had counted 10,000 unread items (a mostly-read inbox was read whole on
 * every poll), mark-all-read likewise, and inbox items never expired. Now: a maintained unread
 * counter (one read per poll), a page cap per call with a cursor, INBOX_RETENTION_DAYS through TTL.
 * DynamoDB requests are counted from the stack's command log.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { sendAndWait } from '../helpers/send';
import { dynamoCalls } from '../helpers/dynamo-calls';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({
    // No sweeper in the background (its queries would land in the command log), a configured
    // token secret (no key read on a request), and inbox items kept 30 days.
    scheduleEveryMs: 0,
    env: { USER_TOKEN_SECRET: 'inbox-counter-test-secret-0123456789abcdef', INBOX_RETENTION_DAYS: '30' },
  });
});
afterAll(() => s?.stop());

const store = () => require('../../lambdas/store/inbox') as typeof import('../../lambdas/store/inbox');
const table = () => require('../../lambdas/store/table') as typeof import('../../lambdas/store/table');
const { keys } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');

async function tokenFor(userId: string, tenantId?: string): Promise<string> {
  const scope = `user_id:${userId}${tenantId ? ` tenant_id:${tenantId}` : ''} inbox:read:messages inbox:write:events`;
  return (await s.http('POST', '/auth/issue-token', { scope, expires_in: '1h' })).json.token as string;
}
const asUser = (token: string, method: string, path: string) => s.http(method, path, undefined, { key: token });

/** `n` messages the user has read long ago, written straight to the table (about 1 KB each: 1,000 are a megabyte). */
async function seedRead(userId: string, n: number, idPrefix: string): Promise<void> {
  const doc = JSON.stringify({ title: 'Old news', body: 'o'.repeat(900) });
  const puts = Array.from({ length: n }, (_, i) => {
    const messageId = `${idPrefix}${String(i).padStart(6, '0')}`;
    return { put: { ...keys.inboxMessage(userId, messageId), _t: 'INBOX', messageId, created: 1, read: true, archived: false, doc } };
  });
  await table().batchWrite(puts);
}

async function deliver(userId: string, title: string): Promise<string> {
  const { messages } = await sendAndWait(
    s,
    { to: { user_id: userId }, content: { title, body: `${title} body` }, routing: { method: 'single', channels: ['inbox'] } },
    1,
  );
  expect(messages[0].status).toBe('DELIVERED');
  return messages[0].id;
}

describe('the unread count', () => {
  it("reads the counter and the inbox's last hours per poll, however large and mostly read the inbox is", async () => {
    const u = uid('poller');
    await deliver(u, 'One');
    await deliver(u, 'Two');
    await seedRead(u, 1200, '0');
    const token = await tokenFor(u);
    // The token's revocation check (one eventually consistent read), the counter and one Query of the
    // inbox's last hours (the messages counted lazily, docs/decisions.md D13): small items, not a
    // megabyte of inbox (a strongly consistent read of up to 4 KB is 1 unit, an eventual one 0.5).
    // The first poll also starts the counter's fold (one write).
    const first = await dynamoCalls(s, () => asUser(token, 'GET', '/inbox/messages/unread-count'));
    expect([first.value.json, first.calls]).toEqual([{ count: 2 }, ['GetItem', 'GetItem', 'Query', 'UpdateItem']]);
    expect(first.rcu).toBeLessThanOrEqual(2.5);
    const poll = await dynamoCalls(s, () => asUser(token, 'GET', '/inbox/messages/unread-count'));
    expect([poll.value.json, poll.calls]).toEqual([{ count: 2 }, ['GetItem', 'GetItem', 'Query']]);
    expect(poll.rcu).toBeLessThanOrEqual(2.5);
  });
});

describe('mark all read', () => {
  it('reads a bounded number of pages per call and continues from its cursor', async () => {
    const u = uid('marker');
    // Two unread messages, older than 1,500 read ones.
    for (const id of ['00000000000a', '00000000000b']) expect(await store().putInboxMessage(u, { messageId: id, title: `Unread ${id}` })).toBe(true);
    await seedRead(u, 1500, '1');
    const token = await tokenFor(u);

    const first = await dynamoCalls(s, () => asUser(token, 'POST', '/inbox/messages/read-all'));
    expect(first.value.json).toEqual({ marked: 0, more: true, cursor: expect.any(String) });
    // The token check, the count (the counter, a Query of the inbox's last hours, its first fold), at
    // most 10 pages of the inbox, the count again: never the whole inbox.
    expect(first.calls.length).toBeLessThanOrEqual(16);
    expect(first.calls.filter((c) => c === 'Query').length).toBeLessThanOrEqual(12);

    const second = await asUser(token, 'POST', `/inbox/messages/read-all?cursor=${encodeURIComponent(first.value.json.cursor)}`);
    expect(second.json).toEqual({ marked: 2, more: false });
    expect((await asUser(token, 'GET', '/inbox/messages/unread-count')).json).toEqual({ count: 0 });
    // Nothing unread: nothing is read but the token check and the count.
    const third = await dynamoCalls(s, () => asUser(token, 'POST', '/inbox/messages/read-all'));
    expect([third.value.json, third.calls]).toEqual([{ marked: 0, more: false }, ['GetItem', 'GetItem', 'Query']]);
  });

  it('refuses a forged cursor with 400', async () => {
    const token = await tokenFor(uid('forger'));
    const res = await asUser(token, 'POST', `/inbox/messages/read-all?cursor=${Buffer.from('{"pk":"INBOX#someone-else","sk":"MSG#x"}').toString('base64url')}`);
    expect([res.status, res.json.message]).toEqual([400, expect.stringContaining('query.cursor')]);
  });
});

describe('the counter', () => {
  it('stays exact under redelivered inbox writes and concurrent state changes', async () => {
    const u = uid('busy');
    const t = uid('tenant');
    const ids = Array.from({ length: 6 }, (_, i) => `0mx${String(i).padStart(9, '0')}`);
    // Every delivery written three times at once, as duplicate queue records would.
    const created = await Promise.all(
      ids.flatMap((id, i) => [0, 1, 2].map(() => store().putInboxMessage(u, { messageId: id, title: id, ...(i < 2 ? { tenantId: t } : {}) }))),
    );
    expect(created.filter(Boolean)).toHaveLength(6);
    const token = await tokenFor(u);
    expect((await asUser(token, 'GET', '/inbox/messages/unread-count')).json).toEqual({ count: 6 });

    const actions = ['read', 'unread', 'archive', 'unarchive'];
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const ops = Array.from({ length: 60 }, () => () => asUser(token, 'POST', `/inbox/messages/${ids[random(ids.length)]}/${actions[random(actions.length)]}`));
    // Two read-alls among them, racing each other and the single changes.
    ops.splice(30, 0, () => asUser(token, 'POST', '/inbox/messages/read-all'));
    ops.splice(32, 0, () => asUser(token, 'POST', '/inbox/messages/read-all'));
    const answers = await Promise.all(ops.map((op) => op()));
    expect(answers.map((a) => a.status).filter((st) => st !== 204 && st !== 200)).toEqual([]);

    const all = [
      ...(await asUser(token, 'GET', '/inbox/messages?limit=100')).json.results,
      ...(await asUser(token, 'GET', '/inbox/messages?limit=100&archived=true')).json.results,
    ] as { messageId: string; read: boolean; archived: boolean; tenant_id: string | null }[];
    expect(all).toHaveLength(6);
    const unread = all.filter((m) => !m.read && !m.archived);
    expect((await asUser(token, 'GET', '/inbox/messages/unread-count')).json).toEqual({ count: unread.length });
    expect((await asUser(await tokenFor(u, t), 'GET', '/inbox/messages/unread-count')).json).toEqual({ count: unread.filter((m) => m.tenant_id === t).length });
  });
});

// Last in the file: it moves the stack's clock forward.
describe('INBOX_RETENTION_DAYS', () => {
  it('gives inbox items a TTL; past it they are neither listed, counted nor changed', async () => {
    const u = uid('keeper');
    const id = await deliver(u, 'Soon gone');
    const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
    const item = (await ddb.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: keys.inboxMessage(u, id) }))).Item!;
    // The start of the UTC day after 30 whole days.
    const day = 86_400_000;
    expect(item.ttl).toBe(((Math.floor(Number(item.created) / day) + 31) * day) / 1000);
    const token = await tokenFor(u);
    expect((await asUser(token, 'GET', '/inbox/messages/unread-count')).json).toEqual({ count: 1 });

    (require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock')).advanceClock(31 * day);
    // DynamoDB's TTL deletes expired items within days; until then they are hidden all the same.
    // (A token of 31 days ago has expired by the same clock: the user signs in again.)
    const later = await tokenFor(u);
    expect((await asUser(later, 'GET', '/inbox/messages')).json.results).toEqual([]);
    expect((await asUser(later, 'GET', '/inbox/messages/unread-count')).json).toEqual({ count: 0 });
    expect((await asUser(later, 'POST', `/inbox/messages/${id}/read`)).status).toBe(404);
    // The expired day's counter was dropped from the counter item.
    const counter = (await ddb.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: keys.inboxUnread(u) }))).Item!;
    expect(Object.keys(counter).filter((k) => k.startsWith('n|'))).toEqual([]);
  });
});
