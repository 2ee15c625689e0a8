/**
 * Audit events (issue 14): every admin write leaves an event with the calling key's id as actor,
 * what it changed as target, its type and time; listed newest first with a cursor, read by id, and
 * kept AUDIT_RETENTION_DAYS (7 here) through the table's `ttl`. Reads, sends and end-user data
 * writes leave none. Through the official SDK (`auditEvents.list`, `auditEvents.retrieve`).
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { BadRequestError, NotFoundError } from '@trycourier/courier';
import type { AuditEvent } from '@trycourier/courier/resources/audit-events';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

let s: TestStack;
let keyId: string;
beforeAll(async () => {
  s = await startTestStack({ env: { AUDIT_RETENTION_DAYS: '7' } });
  const { hashApiKey } = require('../../lambdas/shared/middleware') as typeof import('../../lambdas/shared/middleware');
  keyId = hashApiKey(s.apiKey).slice(0, 12);
});
afterAll(() => s?.stop());

/** Every event, newest first, page by page through the cursor; and the pages' sizes. */
async function allEvents(): Promise<{ events: AuditEvent[]; pages: number[] }> {
  const events: AuditEvent[] = [];
  const pages: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await s.client.auditEvents.list(cursor ? { cursor } : undefined);
    events.push(...page.results);
    pages.push(page.results.length);
    cursor = page.paging.more ? (page.paging.cursor ?? undefined) : undefined;
    if (page.paging.more) expect(page.paging.cursor).toEqual(expect.any(String));
  } while (cursor);
  return { events, pages };
}

/** The events recorded while `run` ran, oldest first. */
async function recordedBy(run: () => Promise<unknown>): Promise<AuditEvent[]> {
  const before = new Set((await allEvents()).events.map((e) => e.auditEventId));
  await run();
  return (await allEvents()).events.filter((e) => !before.has(e.auditEventId)).reverse();
}

const shape = (e: AuditEvent) => [e.type, e.target];

it('records admin writes of every kind, with the key as actor, newest first, each readable by id', async () => {
  const brand = uid('brand');
  const tenant = uid('tenant');
  const list = `audit.${uid('list')}`;
  const audience = uid('aud');
  const topic = uid('topic');
  const t0 = Date.now();
  let createdBrand = '';
  let createdNotification = '';
  const events = await recordedBy(async () => {
    createdBrand = (await s.client.brands.create({ name: 'Server chosen id' })).id;
    await s.client.brands.create({ id: brand, name: 'Acme' });
    await s.client.brands.update(brand, { name: 'Acme 2' });
    await s.client.tenants.update(tenant, { name: 'Tenant' });
    await s.client.lists.update(list, { name: 'List' });
    await s.client.lists.subscriptions.subscribeUser('u/1', { list_id: list });
    await s.client.audiences.update(audience, { name: 'Audience', filter: { filters: [{ operator: 'EQ', path: 'plan', value: 'pro' }] } });
    expect((await s.http('PUT', `/preferences/topics/${topic}`, { name: 'News' })).status).toBe(200);
    createdNotification = (await s.http('POST', '/notifications', { notification: { name: 'Welcome', content: { title: 'Hi', body: 'there' } } })).json.id;
    await s.client.notifications.publish(createdNotification);
    await s.client.brands.delete(brand);
  });
  expect(events.map(shape)).toEqual([
    ['brand:created', `brand:${createdBrand}`],
    ['brand:created', `brand:${brand}`],
    ['brand:updated', `brand:${brand}`],
    ['tenant:updated', `tenant:${tenant}`],
    ['list:updated', `list:${list}`],
    ['list:subscription:updated', `list:${list}/user:u/1`],
    ['audience:updated', `audience:${audience}`],
    ['preferences-topic:updated', `preferences-topic:${topic}`],
    ['notification:created', `notification:${createdNotification}`],
    ['notification:published', `notification:${createdNotification}`],
    ['brand:deleted', `brand:${brand}`],
  ]);
  for (const e of events) {
    expect(e).toEqual({ auditEventId: expect.any(String), actor: { id: keyId }, source: 'api', target: e.target, timestamp: expect.any(String), type: e.type });
    expect(Date.parse(e.timestamp)).toBeGreaterThanOrEqual(t0 - 1000);
    expect(Date.parse(e.timestamp)).toBeLessThanOrEqual(Date.now() + 1000);
    expect(await s.client.auditEvents.retrieve(e.auditEventId)).toEqual(e);
  }
  // Newest first: the listing's order is the reverse of the calls'; timestamps never go up.
  const times = events.map((e) => Date.parse(e.timestamp));
  expect([...times].sort((a, b) => a - b)).toEqual(times);
});

it('records nothing for reads, sends, end-user data, refused writes and idempotent replays', async () => {
  const brand = uid('brand');
  await s.client.brands.create({ id: brand, name: 'Read me' });
  const events = await recordedBy(async () => {
    await s.client.brands.retrieve(brand);
    await s.client.brands.list();
    await s.client.tenants.list();
    await s.client.lists.list();
    await s.client.auditEvents.list();
    await sendAndWait(s, { to: { email: 'audit@example.com' }, content: { title: 'Hi', body: 'there' } }, 1);
    await s.quiesce();
    await s.client.profiles.create(uid('user'), { profile: { email: 'u@example.com' } });
    // A refused write (400) changes nothing and records nothing.
    expect((await s.http('PUT', `/brands/${brand}`, { name: '' })).status).toBe(400);
    // Replays of an Idempotency-Key answer the stored response without running the write again.
    const headers = { 'Idempotency-Key': uid('idem') };
    const body = { id: uid('brand'), name: 'Once' };
    const first = await s.http('POST', '/brands', body, { headers });
    const again = await s.http('POST', '/brands', body, { headers });
    expect([first.status, again.status, again.json.id]).toEqual([200, 200, first.json.id]);
  });
  expect(events.map(shape)).toEqual([['brand:created', expect.stringMatching(/^brand:brand-/)]]);
});

it('pages newest first with a cursor over more than one page, and refuses a forged cursor', async () => {
  const brand = uid('paged');
  await s.client.brands.create({ id: brand, name: 'v0' });
  // Over 4 shards x 101: some shard holds more than a page, so a page is its newest, not any, events.
  for (let i = 0; i < 430; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => s.client.brands.update(brand, { name: `v${i + j + 1}` })));
  const { events, pages } = await allEvents();
  expect(pages.slice(0, 4)).toEqual([100, 100, 100, 100]);
  expect(pages.length).toBe(5);
  const ids = events.map((e) => e.auditEventId);
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort().reverse()).toEqual(ids);
  const mine = events.filter((e) => e.target === `brand:${brand}`);
  expect(mine.map((e) => e.type)).toEqual([...Array(430).fill('brand:updated'), 'brand:created']);

  await expect(s.client.auditEvents.list({ cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(BadRequestError);
});

it('answers 404 with Courier’s error body for an unknown event id', async () => {
  for (const id of ['000000000abcdef012345', 'not-an-event', 'zzzzzzzzzffffffffffff']) {
    const err = await s.client.auditEvents.retrieve(id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).error).toEqual({ message: `Audit event ${id} not found`, type: 'invalid_request_error' });
  }
});

// Last in the file: it moves the stack's clock forward.
it('keeps events AUDIT_RETENTION_DAYS through the table’s ttl, and hides them after', async () => {
  const brand = uid('kept');
  const [event] = await recordedBy(() => s.client.brands.create({ id: brand, name: 'Kept a week' }));
  const { auditKeys } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
  const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  const item = (await ddb.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: auditKeys.event(event.auditEventId) }))).Item!;
  expect(item.ttl).toBe(Math.ceil(Date.parse(event.timestamp) / 1000) + 7 * 86_400);

  const clock = require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');
  clock.advanceClock(7 * 86_400_000 - 60_000);
  expect(await s.client.auditEvents.retrieve(event.auditEventId)).toEqual(event);
  clock.advanceClock(61_000);
  // DynamoDB's TTL deletes expired items within days; until then they are hidden all the same.
  await expect(s.client.auditEvents.retrieve(event.auditEventId)).rejects.toBeInstanceOf(NotFoundError);
  expect((await allEvents()).events).toEqual([]);
  // New events are listed as before.
  const [fresh] = await recordedBy(() => s.client.brands.delete(brand));
  expect(shape(fresh)).toEqual(['brand:deleted', `brand:${brand}`]);
});
