import { seedMembers } from '../helpers/seed';
import { messagesOf } from '../helpers/send';
import { dynamoCalls } from '../helpers/dynamo-calls';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Issue 13: "what did we send to this user?" `GET /messages?recipient=` walked hourly request
 * buckets backwards, up to 60 queries a call, returning empty pages with a cursor, and only within
 * a look-back window. Now every message has an entry in its recipient's index: a call is one Query
 * and one BatchGetItem (besides the API key's read), whatever others were sent.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

const inboxTo = (to: Record<string, unknown>, trace: string, title: string) => ({
  message: { to, content: { title, body: 'b' }, routing: { method: 'single', channels: ['inbox'] }, metadata: { trace_id: trace } },
});

describe('GET /messages?recipient=', () => {
  it("answers a user's messages newest first in one Query and one BatchGetItem, among a fan-out to others", async () => {
    const user = uid('rcpt');
    const trace = uid('trace');
    const tenantId = uid('tenant');
    await s.client.tenants.update(tenantId, { name: tenantId });
    // 60 others and the user in one tenant: the fan-out's message to the user is one of 61.
    await seedMembers(tenantId, [...Array.from({ length: 60 }, (_, i) => `${tenantId}-o${i}`), user], () => ({ name: 'n' }));
    const ids: string[] = [];
    for (const title of ['first', 'second']) ids.push((await s.http('POST', '/send', inboxTo({ user_id: user }, trace, title))).json.requestId);
    expect((await s.http('POST', '/send', inboxTo({ tenant_id: tenantId }, trace, 'all'))).status).toBe(202);
    ids.push((await s.http('POST', '/send', inboxTo({ user_id: user }, trace, 'third'))).json.requestId);
    await messagesOf(s, trace, 64);
    await s.quiesce();

    const { value, calls } = await dynamoCalls(s, () => s.http('GET', `/messages?recipient=${user}`));
    expect(value.status).toBe(200);
    const results = value.json.results as { id: string; recipient: string; status: string }[];
    expect(results.map((m) => m.recipient)).toEqual([user, user, user, user]);
    // Newest first: the third single send, the fan-out's message, the second, the first.
    expect(results[0].id).toBe(ids[2]);
    expect(results.slice(2).map((m) => m.id)).toEqual([ids[1], ids[0]]);
    expect(results[1].id).toMatch(/\./);
    expect(value.json.paging).toEqual({ cursor: null, more: false });
    expect(calls.filter((c) => c !== 'GetItem').sort()).toEqual(['BatchGetItem', 'Query']);
    expect(calls.filter((c) => c === 'GetItem').length).toBeLessThanOrEqual(1);
  });

  it('pages with a cursor, applies the other filters to the page, and refuses a cursor of another recipient', async () => {
    const user = uid('paged');
    const trace = uid('trace');
    for (let i = 0; i < 55; i++) await s.http('POST', '/send', inboxTo({ user_id: user }, trace, `m${i}`));
    await messagesOf(s, trace, 55);
    const first = await s.http('GET', `/messages?recipient=${user}`);
    expect([first.json.results.length, first.json.paging.more]).toEqual([50, true]);
    const second = await s.http('GET', `/messages?recipient=${user}&cursor=${encodeURIComponent(first.json.paging.cursor)}`);
    expect([second.json.results.length, second.json.paging.more]).toEqual([5, false]);
    const all = [...first.json.results, ...second.json.results].map((m: { id: string }) => m.id);
    expect(new Set(all).size).toBe(55);
    expect([...all].sort().reverse()).toEqual(all);

    expect((await s.http('GET', `/messages?recipient=${user}&status=UNDELIVERABLE`)).json.results).toEqual([]);
    // enqueued_after ends the listing at the first older message: only newer ones, and no cursor.
    const after = first.json.results[9].enqueued as number;
    const newer = await s.http('GET', `/messages?recipient=${user}&enqueued_after=${after}`);
    expect(newer.json.results.map((m: { id: string }) => m.id)).toEqual(
      first.json.results.filter((m: { enqueued: number }) => m.enqueued > after).map((m: { id: string }) => m.id),
    );
    expect([newer.json.results.length > 0, newer.json.paging.more]).toEqual([true, false]);
    const foreign = await s.http('GET', `/messages?recipient=${uid('other')}&cursor=${encodeURIComponent(first.json.paging.cursor)}`);
    expect(foreign.status).toBe(400);
  });

  it('finds a message sent to an address only, by that address', async () => {
    const email = `${uid('addr')}@example.com`;
    const trace = uid('trace');
    const sent = await s.http('POST', '/send', {
      message: { to: { email }, content: { title: 't', body: 'b' }, routing: { method: 'single', channels: ['email'] }, metadata: { trace_id: trace } },
    });
    await messagesOf(s, trace, 1);
    const found = await s.http('GET', `/messages?recipient=${encodeURIComponent(email)}`);
    expect(found.json.results.map((m: { id: string; recipient: string }) => [m.id, m.recipient])).toEqual([[sent.json.requestId, email]]);
  });
});

describe('the index entry and the inbox item', () => {
  const partition = async (userId: string) => {
    const { keys } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
    const table = require('../../lambdas/store/table') as typeof import('../../lambdas/store/table');
    return (await table.queryPage({ partition: keys.inbox(userId), prefix: keys.inboxPrefix, limit: 100 })).items.map((i) => [i.messageId, i._t]);
  };

  it('are one item for a message delivered to the inbox, and an entry alone for one that went elsewhere', async () => {
    const tenantId = uid('tenant');
    const [inboxUser, emailUser] = [uid('in'), uid('out')];
    await s.client.tenants.update(tenantId, { name: tenantId });
    // Both members get the fan-out's inbox message; one of them also a single send by email.
    await seedMembers(tenantId, [inboxUser, emailUser], (u) => ({ email: `${u}@example.com` }));
    const trace = uid('trace');
    const send = (to: Record<string, unknown>, channel: string) =>
      s.http('POST', '/send', {
        message: { to, content: { title: 't', body: 'b' }, routing: { method: 'single', channels: [channel] }, metadata: { trace_id: trace } },
      });
    expect((await send({ tenant_id: tenantId }, 'inbox')).status).toBe(202);
    expect((await send({ user_id: emailUser }, 'email')).status).toBe(202);
    expect((await send({ user_id: inboxUser }, 'inbox')).status).toBe(202);
    const messages = await messagesOf(s, trace, 4);
    await s.quiesce();
    // The fan-out's message and the single send's: their inbox items, and nothing else.
    const toInbox = messages.filter((m) => m.recipient === inboxUser).map((m) => m.id);
    expect(toInbox).toHaveLength(2);
    expect((await partition(inboxUser)).sort()).toEqual(toInbox.map((id) => [id, 'INBOX']).sort());
    const ofEmailUser = messages.filter((m) => m.recipient === emailUser).map((m) => m.id);
    expect((await partition(emailUser)).sort()).toEqual(ofEmailUser.map((id) => [id, id.includes('.') ? 'INBOX' : 'RecipientEntry']).sort());
    // Both are found by recipient.
    for (const u of [inboxUser, emailUser])
      expect((await s.http('GET', `/messages?recipient=${u}`)).json.results.map((m: { id: string }) => m.id).sort()).toEqual(
        messages
          .filter((m) => m.recipient === u)
          .map((m) => m.id)
          .sort(),
      );
  });

  it('an entry written again never replaces the inbox item', async () => {
    const user = uid('again');
    const trace = uid('trace');
    const sent = await s.http('POST', '/send', inboxTo({ user_id: user }, trace, 'kept'));
    await messagesOf(s, trace, 1);
    const messages = require('../../lambdas/store/messages') as typeof import('../../lambdas/store/messages');
    const req = (await messages.getRequest(sent.json.requestId))!;
    await messages.indexRecipients(req, [{ messageId: sent.json.requestId, userId: user }]);
    const token = (await s.http('POST', '/auth/issue-token', { scope: `user_id:${user} inbox:read:messages`, expires_in: '1h' })).json.token as string;
    const inbox = await s.http('GET', '/inbox/messages', undefined, { key: token });
    expect(inbox.json.results.map((m: { messageId: string; title: string }) => [m.messageId, m.title])).toEqual([[sent.json.requestId, 'kept']]);
  });
});
