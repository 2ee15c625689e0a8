import { ConflictError, NotFoundError } from '@trycourier/courier';
import { startTestStack, type TestStack } from '../helpers/stack';
import { rendered, TERMINAL } from '../helpers/send';
import { eventually, uid } from '../helpers/wait';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

type BulkUserItem = {
  status: string;
  messageId?: string | null;
  to?: { user_id?: string | null } | null;
  profile?: Record<string, unknown> | null;
  recipient?: string | null;
  data?: unknown;
};

/** Every user of a job, through the SDK, page by page. */
async function allUsers(jobId: string): Promise<BulkUserItem[]> {
  const out: BulkUserItem[] = [];
  let cursor: string | undefined;
  do {
    const page = await s.client.bulk.listUsers(jobId, cursor ? { cursor } : undefined);
    out.push(...(page.items as BulkUserItem[]));
    cursor = page.paging.more ? (page.paging.cursor ?? undefined) : undefined;
  } while (cursor);
  return out;
}

const completed = (jobId: string) =>
  eventually(
    () => s.client.bulk.retrieveJob(jobId),
    (r) => r.job.status === 'COMPLETED',
    30_000,
  );
const terminal = (messageId: string) =>
  eventually(
    () => s.client.messages.retrieve(messageId),
    (m) => TERMINAL.includes(m.status),
    30_000,
  );

describe('bulk jobs', () => {
  it('create, add users in two chunks, run: every sendable user gets exactly one message', async () => {
    const event = uid('bulk-welcome');
    const p = uid('bulk');
    const message = { event, content: { title: 'Hi {{name}}', body: 'Order {{order}} for {{name}}' }, data: { order: 'none', name: 'someone' } };
    const { jobId } = await s.client.bulk.createJob({ message });
    expect(jobId).toEqual(expect.any(String));
    expect((await s.client.bulk.retrieveJob(jobId)).job).toEqual({ definition: message, enqueued: 0, failures: 0, received: 0, status: 'CREATED' });

    // Chunk 1: users by id (no stored profile: the default routing falls through to inbox).
    const ids = [`${p}-a`, `${p}-b`, `${p}-c`];
    await s.client.bulk.addUsers(jobId, { users: ids.map((u, i) => ({ to: { user_id: u }, data: { name: u, order: `o-${i}` } })) });
    // Chunk 2: email users (profile.email drives routing), a legacy `recipient`, and one that names nobody.
    const emails = [`${p}-x@example.test`, `${p}-y@example.test`];
    await s.client.bulk.addUsers(jobId, {
      users: [...emails.map((email) => ({ profile: { email }, data: { name: email } })), { recipient: `${p}-legacy` }, { data: { name: 'nobody' } }],
    });

    const before = await s.client.bulk.retrieveJob(jobId);
    expect(before.job).toMatchObject({ received: 7, status: 'CREATED', enqueued: 0, failures: 0 });
    const pending = await allUsers(jobId);
    expect(pending.map((u) => u.status)).toEqual(Array(7).fill('PENDING'));
    expect(pending.map((u) => u.to?.user_id ?? u.profile?.email ?? u.recipient ?? null)).toEqual([...ids, ...emails, `${p}-legacy`, null]);
    expect(pending.every((u) => u.messageId === undefined)).toBe(true);

    await s.client.bulk.runJob(jobId);
    const done = await completed(jobId);
    expect(done.job).toEqual({ definition: message, received: 7, enqueued: 6, failures: 1, status: 'COMPLETED' });

    const users = await allUsers(jobId);
    expect(users.map((u) => u.status)).toEqual([...Array(6).fill('ENQUEUED'), 'ERROR']);
    const messageIds = users.slice(0, 6).map((u) => u.messageId!);
    expect(new Set(messageIds).size).toBe(6);
    expect(users[6].messageId).toBeUndefined();

    const messages = await Promise.all(messageIds.map(terminal));
    expect(messages.map((m) => [m.recipient, m.status])).toEqual([
      ...ids.map((u) => [u, 'DELIVERED']),
      ...emails.map((e) => [e, 'SENT']),
      [`${p}-legacy`, 'DELIVERED'],
    ]);
    expect(messages.every((m) => m.event === event)).toBe(true);

    // The user's data is merged over the message's.
    expect(await rendered(s, messageIds[1], 'inbox')).toContain(`Order o-1 for ${ids[1]}`);
    expect(await rendered(s, messageIds[5], 'inbox')).toContain('Order none for someone');
    for (const email of emails) {
      const mails = s.captures().filter((c) => c.via === 'smtp' && c.to.includes(email));
      expect(mails).toHaveLength(1);
      expect(mails[0]).toMatchObject({ subject: `Hi ${email}` });
    }

    // Exactly one message per sendable user: the event's message log holds these six and no more.
    const logged = await eventually(
      () => s.client.messages.list({ event }),
      (page) => (page.results ?? []).length >= 6,
    );
    expect((logged.results ?? []).map((m) => m.id).sort()).toEqual([...messageIds].sort());
  });

  it('uses the event as the template when neither template nor content is given', async () => {
    const content = {
      version: '2022-01-01',
      elements: [
        { type: 'meta', title: 'Welcome {{name}}' },
        { type: 'text', content: 'from the template' },
      ],
    };
    const created = await s.http('POST', '/notifications', {
      notification: { name: 'Bulk', tags: [], brand: null, subscription: null, routing: null, content },
      state: 'DRAFT',
    });
    expect(created.status).toBe(200);
    const templateId = created.json.id as string;
    expect((await s.http('POST', `/notifications/${templateId}/publish`, {})).status).toBe(204);

    const { jobId } = await s.client.bulk.createJob({ message: { event: templateId } });
    const missing = await s.client.bulk.createJob({ message: { event: uid('no-such-event') } });
    const u = uid('tpl-user');
    for (const id of [jobId, missing.jobId]) {
      await s.client.bulk.addUsers(id, { users: [{ to: { user_id: u }, data: { name: 'Ada' } }] });
      await s.client.bulk.runJob(id);
      await completed(id);
    }
    const [ok] = await allUsers(jobId);
    expect((await terminal(ok.messageId!)).status).toBe('DELIVERED');
    expect(await rendered(s, ok.messageId!, 'inbox')).toContain('Welcome Ada');
    const [unmapped] = await allUsers(missing.jobId);
    expect((await terminal(unmapped.messageId!)).status).toBe('UNMAPPED');
  });

  it("applies each user's preferences (RecipientPreferences, or to.preferences) to its message, and refuses locale and override", async () => {
    const created = await s.http('POST', '/notifications', {
      notification: {
        name: 'Bulk prefs',
        tags: [],
        brand: null,
        subscription: null,
        routing: null,
        content: { version: '2022-01-01', elements: [{ type: 'text', content: 'hello' }] },
      },
      state: 'DRAFT',
    });
    const templateId = created.json.id as string;
    expect((await s.http('POST', `/notifications/${templateId}/publish`, {})).status).toBe(204);
    const out = { notifications: { [templateId]: { status: 'OPTED_OUT' as const } } };
    const [a, b, c] = [uid('bp-out'), uid('bp-to-out'), uid('bp-in')];
    const { jobId } = await s.client.bulk.createJob({ message: { event: templateId } });
    await s.client.bulk.addUsers(jobId, {
      users: [
        { to: { user_id: a }, preferences: out },
        { to: { user_id: b, preferences: out } },
        { to: { user_id: c }, preferences: { notifications: { 'some-other-template': { status: 'OPTED_OUT' } } } },
      ],
    });
    await s.client.bulk.runJob(jobId);
    await completed(jobId);
    const messages = await Promise.all((await allUsers(jobId)).map((u) => terminal(u.messageId!)));
    expect(messages.map((m) => [m.recipient, m.status])).toEqual([
      [a, 'FILTERED'],
      [b, 'FILTERED'],
      [c, 'DELIVERED'],
    ]);

    for (const [message, field] of [
      [{ event: templateId, override: { body: {} } }, 'message.override'],
      [{ event: templateId, locale: { fr: { title: 'x' } } }, 'message.locale'],
    ] as const) {
      const res = await s.http('POST', '/bulk', { message });
      expect({ status: res.status, message: res.json.message }).toEqual({ status: 400, message: expect.stringContaining(field) });
    }
    const bad = await s.http('POST', `/bulk/${jobId}`, { users: [{ to: { user_id: a }, preferences: { notifications: { x: { status: 'MAYBE' } } } }] });
    expect({ status: bad.status, message: bad.json.message }).toEqual({
      status: 400,
      message: expect.stringContaining('users.0.preferences.notifications.x.status'),
    });
  });

  it('keeps insertion order across pages, counts concurrent appends exactly, and runs a job of several pages', async () => {
    const p = uid('many');
    const { jobId } = await s.client.bulk.createJob({ message: { event: 'e', content: { title: 'T', body: 'hi' } } });
    // 250 users in one call (three transactions) then two calls at once.
    await s.client.bulk.addUsers(jobId, { users: Array.from({ length: 250 }, (_, i) => ({ to: { user_id: `${p}-${String(i).padStart(3, '0')}` } })) });
    await Promise.all(
      ['x', 'y'].map((tag) => s.client.bulk.addUsers(jobId, { users: Array.from({ length: 120 }, (_, i) => ({ to: { user_id: `${p}-${tag}${i}` } })) })),
    );
    expect((await s.client.bulk.retrieveJob(jobId)).job.received).toBe(490);
    const first = await s.client.bulk.listUsers(jobId);
    expect(first.items).toHaveLength(100);
    expect(first.paging.more).toBe(true);
    const users = await allUsers(jobId);
    expect(users).toHaveLength(490);
    const ids = users.map((u) => u.to!.user_id!);
    expect(ids.slice(0, 250)).toEqual(Array.from({ length: 250 }, (_, i) => `${p}-${String(i).padStart(3, '0')}`));
    for (const tag of ['x', 'y']) expect(ids.filter((id) => id.startsWith(`${p}-${tag}`))).toEqual(Array.from({ length: 120 }, (_, i) => `${p}-${tag}${i}`));

    // The run reads the users page by page (250 a page), carrying its counts from page to page.
    await s.client.bulk.runJob(jobId);
    expect((await completed(jobId)).job).toMatchObject({ received: 490, enqueued: 490, failures: 0 });
    const sent = await allUsers(jobId);
    expect(new Set(sent.map((u) => u.messageId)).size).toBe(490);
    for (const u of [sent[0], sent[250], sent[489]]) expect((await terminal(u.messageId!)).recipient).toBe(u.to!.user_id);
  });

  it('refuses unknown jobs (404), bad bodies (400 naming the field), and changes after the run (409, not retryable)', async () => {
    const unknown = uid('nojob');
    await expect(s.client.bulk.retrieveJob(unknown)).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.client.bulk.listUsers(unknown)).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.client.bulk.addUsers(unknown, { users: [{ to: { user_id: 'u' } }] })).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.client.bulk.runJob(unknown)).rejects.toBeInstanceOf(NotFoundError);

    const { jobId } = await s.client.bulk.createJob({ message: { event: 'e', content: { title: 'T', body: 'hi' } } });
    for (const [path, body, field] of [
      ['/bulk', {}, 'body.message'],
      ['/bulk', { message: {} }, 'body.message.event'],
      ['/bulk', { message: { event: '' } }, 'body.message.event'],
      ['/bulk', { message: { event: 'e', content: { body: 1 } } }, 'body.message.content'],
      ['/bulk', { message: { event: 'e', data: 'x' } }, 'body.message.data'],
      [`/bulk/${jobId}`, {}, 'body.users'],
      [`/bulk/${jobId}`, { users: [] }, 'body.users'],
      [`/bulk/${jobId}`, { users: Array(1001).fill({ recipient: 'u' }) }, 'body.users'],
      [`/bulk/${jobId}`, { users: [{ recipient: 'u' }, { data: 'x' }] }, 'body.users.1.data'],
      [`/bulk/${jobId}`, { users: [{ to: { user_id: 7 } }] }, 'body.users.0.to.user_id'],
      // Keys the SDK's bulk types do not have are named, never accepted and dropped.
      ['/bulk', { message: { event: 'e', tempalte: 't' } }, 'body.message: Unrecognized key: "tempalte"'],
      ['/bulk', { message: { event: 'e' }, users: [] }, 'body: Unrecognized key: "users"'],
      [`/bulk/${jobId}`, { users: [{ recipient: 'u', profil: {} }] }, 'body.users.0: Unrecognized key: "profil"'],
      [`/bulk/${jobId}`, { users: [{ to: { user_id: 'u', context: { tenant: 't' } } }] }, 'body.users.0.to.context: Unrecognized key: "tenant"'],
    ] as const) {
      const r = await s.http('POST', path, body);
      expect({ path, body: JSON.stringify(body).slice(0, 80), status: r.status, message: r.json?.message }).toEqual({
        path,
        body: JSON.stringify(body).slice(0, 80),
        status: 400,
        message: expect.stringContaining(field),
      });
    }
    expect((await s.client.bulk.retrieveJob(jobId)).job.received).toBe(0);

    await s.client.bulk.addUsers(jobId, { users: [{ to: { user_id: uid('u') } }] });
    await s.client.bulk.runJob(jobId);
    const again = await s.http('POST', `/bulk/${jobId}/run`);
    expect([again.status, again.headers.get('x-should-retry'), again.json.type]).toEqual([409, 'false', 'invalid_request_error']);
    await expect(s.client.bulk.runJob(jobId)).rejects.toBeInstanceOf(ConflictError);
    const late = await s.http('POST', `/bulk/${jobId}`, { users: [{ to: { user_id: 'late' } }] });
    expect([late.status, late.headers.get('x-should-retry')]).toEqual([409, 'false']);
    const done = await completed(jobId);
    expect(done.job).toMatchObject({ received: 1, enqueued: 1, failures: 0 });
  });
});
