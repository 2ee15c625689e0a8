import { createHash } from 'node:crypto';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';

let s: TestStack;
let store: {
  getItem: typeof import('../../lambdas/store/table').getItem;
  putRaw: (item: Record<string, unknown>) => Promise<unknown>;
  recordKey: (path: string, key: string) => { pk: string; sk: string };
};

beforeAll(async () => {
  s = await startTestStack();
  // Loaded after the stack set the environment (table name, endpoint), as the functions are.
  const { getItem, TABLE } = require('../../lambdas/store/table') as typeof import('../../lambdas/store/table');
  const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  const { PutCommand } = require('@aws-sdk/lib-dynamodb') as typeof import('@aws-sdk/lib-dynamodb');
  const { idempotencyRecordKey } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
  const { scopeHash } = require('../../lambdas/shared/idempotency') as typeof import('../../lambdas/shared/idempotency');
  store = {
    getItem,
    putRaw: (item) => ddb.send(new PutCommand({ TableName: TABLE, Item: item })),
    recordKey: (path, key) => idempotencyRecordKey(scopeHash('POST', path, key)),
  };
});
afterAll(() => s?.stop());

const sendBody = (trace: string, extra: Record<string, unknown> = {}) => ({
  message: { to: { email: 'idem@example.test' }, content: { title: 't', body: 'b' }, metadata: { trace_id: trace }, ...extra },
});
const withKey = (key: string, extra: Record<string, string> = {}) => ({ headers: { 'Idempotency-Key': key, ...extra } });
const nowS = () => Math.floor(Date.now() / 1000);

/** Every message of a trace id as GET /messages lists it. */
const messagesOfTrace = async (trace: string): Promise<{ id: string }[]> =>
  (await s.http('GET', `/messages?traceId=${encodeURIComponent(trace)}`)).json.results;

describe('Idempotency-Key over HTTP', () => {
  it('replays the first 202 with the same requestId, and sends once', async () => {
    const trace = uid('trace'),
      key = uid('key');
    const a = await s.http('POST', '/send', sendBody(trace), withKey(key));
    const b = await s.http('POST', '/send', sendBody(trace), withKey(key));
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.json).toEqual(a.json);
    expect(a.json.requestId).toEqual(expect.any(String));
    expect([a.headers.get('idempotent-replayed'), b.headers.get('idempotent-replayed')]).toEqual([null, 'true']);
    expect(b.headers.get('content-type')).toBe('application/json');
    const messages = await eventually(
      () => messagesOfTrace(trace),
      (m) => m.length >= 1,
    );
    expect(messages.map((m) => m.id)).toEqual([a.json.requestId]);
  });

  it('works through the Courier SDK request options', async () => {
    const key = uid('key'),
      body = sendBody(uid('trace'));
    const first = await s.client.send.message(body as never, withKey(key));
    const again = await s.client.send.message(body as never, withKey(key));
    expect(again.requestId).toBe(first.requestId);
  });

  it('answers 409 with x-should-retry false when the key is reused with a different body', async () => {
    const trace = uid('trace'),
      key = uid('key');
    expect((await s.http('POST', '/send', sendBody(trace), withKey(key))).status).toBe(202);
    const c = await s.http('POST', '/send', sendBody(trace, { data: { n: 1 } }), withKey(key));
    expect([c.status, c.json.type, c.headers.get('x-should-retry')]).toEqual([409, 'invalid_request_error', 'false']);
    expect(c.json.message).toMatch(/different request body/);
    expect(await messagesOfTrace(trace)).toHaveLength(1);
  });

  it('20 concurrent sends with one key store exactly one request; the others replay it or get 409 in flight', async () => {
    const trace = uid('trace'),
      key = uid('key');
    const all = await Promise.all(Array.from({ length: 20 }, () => s.http('POST', '/send', sendBody(trace), withKey(key))));
    const ok = all.filter((r) => r.status < 300);
    const others = all.filter((r) => r.status >= 300);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ok.map((r) => r.json.requestId)).size).toBe(1);
    expect(ok.every((r) => r.status === 202)).toBe(true);
    for (const r of others)
      expect([r.status, r.headers.get('x-should-retry'), r.json.message]).toEqual([409, 'false', expect.stringMatching(/still in progress/)]);
    // Every response is in: a second stored request would already be listed under the trace.
    expect((await messagesOfTrace(trace)).map((m) => m.id)).toEqual([ok[0].json.requestId]);
    expect((await s.http('POST', '/send', sendBody(trace), withKey(key))).json).toEqual(ok[0].json);
  });

  it('answers 409 for a key in flight, and lets a request take it over once the lease ran out', async () => {
    const key = uid('key'),
      raw = JSON.stringify(sendBody(uid('trace')));
    const bodyHash = createHash('sha256').update(raw).digest('hex');
    const inFlight = { ...store.recordKey('/send', key), _t: 'Idempotency', state: 'IN_FLIGHT', bodyHash, owner: 'other', ttl: nowS() + 3600 };
    await store.putRaw({ ...inFlight, leaseUntil: Date.now() + 60_000 });
    const busy = await s.http('POST', '/send', raw, withKey(key));
    expect([busy.status, busy.headers.get('x-should-retry'), busy.json.message]).toEqual([409, 'false', expect.stringMatching(/still in progress/)]);
    await store.putRaw({ ...inFlight, leaseUntil: Date.now() - 1 });
    const taken = await s.http('POST', '/send', raw, withKey(key));
    expect(taken.status).toBe(202);
    expect((await s.http('POST', '/send', raw, withKey(key))).json).toEqual(taken.json);
  });

  it('stores nothing for a request that failed validation: the fixed body may reuse the key', async () => {
    const trace = uid('trace'),
      key = uid('key');
    const bad = await s.http('POST', '/send', { message: { to: { email: 'idem@example.test' } } }, withKey(key));
    expect(bad.status).toBe(400);
    expect((await s.http('POST', '/send', '{"message":', withKey(key))).status).toBe(400);
    expect(await store.getItem(store.recordKey('/send', key))).toBeUndefined();
    const fixed = await s.http('POST', '/send', sendBody(trace), withKey(key));
    expect([fixed.status, fixed.headers.get('idempotent-replayed')]).toEqual([202, null]);
  });

  it('scopes a key per endpoint', async () => {
    const key = uid('key');
    expect((await s.http('POST', '/send', sendBody(uid('trace')), withKey(key))).status).toBe(202);
    const brand = await s.http('POST', '/brands', { name: 'Scoped' }, withKey(key));
    expect([brand.status, brand.headers.get('idempotent-replayed')]).toEqual([200, null]);
  });

  it('replays POST /brands, stored errors included', async () => {
    const id = uid('brand'),
      k1 = uid('key'),
      k2 = uid('key');
    const first = await s.http('POST', '/brands', { id, name: 'Acme' }, withKey(k1));
    expect(first.status).toBe(200);
    await new Promise((r) => setTimeout(r, 5));
    const again = await s.http('POST', '/brands', { id, name: 'Acme' }, withKey(k1));
    expect([again.status, again.text, again.headers.get('idempotent-replayed')]).toEqual([200, first.text, 'true']);
    const taken = await s.http('POST', '/brands', { id, name: 'Acme' }, withKey(k2));
    expect([taken.status, taken.headers.get('x-should-retry')]).toEqual([409, 'false']);
    const replayed = await s.http('POST', '/brands', { id, name: 'Acme' }, withKey(k2));
    expect([replayed.status, replayed.text, replayed.headers.get('x-should-retry'), replayed.headers.get('idempotent-replayed')]).toEqual([
      409,
      taken.text,
      'false',
      'true',
    ]);
  });

  it('keeps the record 24 hours by default or until x-idempotency-expiration, and never stores the key', async () => {
    const ttlOf = async (key: string, expiration?: string) => {
      const res = await s.http('POST', '/send', sendBody(uid('trace')), withKey(key, expiration ? { 'x-idempotency-expiration': expiration } : {}));
      expect(res.status).toBe(202);
      const item = await store.getItem(store.recordKey('/send', key));
      expect(item).toMatchObject({ state: 'COMPLETED' });
      expect(JSON.stringify(item)).not.toContain(key);
      return Number(item!.ttl);
    };
    const t0 = nowS();
    expect((await ttlOf(uid('key'))) - t0).toBeGreaterThanOrEqual(86400);
    expect((await ttlOf(uid('key'))) - nowS()).toBeLessThanOrEqual(86400);
    expect(await ttlOf(uid('key'), String(t0 + 600))).toBe(t0 + 600);
    const iso = new Date((t0 + 7 * 86400) * 1000).toISOString();
    expect(await ttlOf(uid('key'), iso)).toBe(t0 + 7 * 86400);
    const hours = await ttlOf(uid('key'), '2 Hours');
    expect(hours - t0).toBeGreaterThanOrEqual(7200);
    expect(hours - nowS()).toBeLessThanOrEqual(7200);
    const bad = await s.http('POST', '/send', sendBody(uid('trace')), withKey(uid('key'), { 'x-idempotency-expiration': 'next tuesday' }));
    expect([bad.status, bad.json.message]).toEqual([400, expect.stringContaining('x-idempotency-expiration')]);
  });

  it('treats an expired record that DynamoDB has not swept yet as gone', async () => {
    const key = uid('key'),
      trace = uid('trace');
    const first = await s.http('POST', '/send', sendBody(trace), withKey(key, { 'x-idempotency-expiration': String(nowS() + 60) }));
    const item = await store.getItem(store.recordKey('/send', key));
    await store.putRaw({ ...item!, ttl: nowS() - 1 });
    const after = await s.http('POST', '/send', sendBody(trace), withKey(key));
    expect([after.status, after.headers.get('idempotent-replayed')]).toEqual([202, null]);
    expect(after.json.requestId).not.toBe(first.json.requestId);
  });

  it('refuses an invalid key with 400 naming the header; GET ignores the header', async () => {
    const bad = await s.http('POST', '/send', sendBody(uid('trace')), withKey('k'.repeat(256)));
    expect([bad.status, bad.json.message]).toEqual([400, expect.stringContaining('idempotency-key')]);
    expect((await s.http('GET', '/brands', undefined, withKey('k'.repeat(256)))).status).toBe(200);
  });
});
