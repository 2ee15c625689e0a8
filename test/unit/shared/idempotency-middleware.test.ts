import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { z } from 'zod';
import { dispatcher } from '../../../lambdas/shared/api';
import { ConflictError, NotFoundError } from '../../../lambdas/shared/errors';
import { idempotency, idempotentOperation, LEASE_MS, markSideEffect } from '../../../lambdas/shared/idempotency';
import { errorResponder, jsonBody } from '../../../lambdas/shared/middleware';
import { created, ok, route } from '../../../lambdas/shared/router';
import type { ClaimInput, IdempotencyRecord, IdempotencyStore, StoredResponse } from '../../../lambdas/store/idempotency';
import { httpEvent } from '../../helpers/events';

/** The DynamoDB store's semantics in memory: a claim succeeds on no live record or a stale same-body lease. */
class FakeStore implements IdempotencyStore {
  records = new Map<string, IdempotencyRecord & { owner: string; leaseUntil: number; expiresAt: number; created: number }>();
  claims: ClaimInput[] = [];
  failComplete = false;
  private n = 0;

  async claim(scope: string, input: ClaimInput) {
    this.claims.push(input);
    const r = this.records.get(scope);
    const live = r && r.expiresAt > Math.floor(input.now / 1000);
    const stale = r && r.state === 'IN_FLIGHT' && r.leaseUntil < input.now && r.bodyHash === input.bodyHash;
    if (live && !stale) return { claimed: false as const, existing: { state: r.state, bodyHash: r.bodyHash, response: r.response } };
    const token = `t${++this.n}`;
    const created = live && stale ? r.created : input.now;
    this.records.set(scope, {
      state: 'IN_FLIGHT',
      bodyHash: input.bodyHash,
      owner: token,
      leaseUntil: input.now + input.leaseMs,
      expiresAt: input.expiresAt,
      created,
    });
    return { claimed: true as const, token, created };
  }

  async abandon(scope: string, token: string) {
    const r = this.records.get(scope);
    if (r?.owner === token) this.records.set(scope, { ...r, leaseUntil: 0 });
  }

  async complete(scope: string, token: string, response: StoredResponse) {
    if (this.failComplete) throw new Error('item too large');
    const r = this.records.get(scope);
    if (r?.owner === token) this.records.set(scope, { ...r, state: 'COMPLETED', response });
  }

  async release(scope: string, token: string) {
    if (this.records.get(scope)?.owner === token) this.records.delete(scope);
  }
}

const ctx = {} as Context;
let store: FakeStore;
let now: number;
let calls: Record<string, number>;
let gate: Promise<void> | undefined;
let operations: ({ created: number; scope: string } | undefined)[];

const routes = [
  route({
    method: 'POST',
    path: '/things',
    body: z.object({ name: z.string() }),
    handler: async ({ body }) => {
      calls.things = (calls.things ?? 0) + 1;
      await gate;
      return { ...created({ id: `thing-${calls.things}`, name: body.name }), headers: { location: `/things/${calls.things}` } };
    },
  }),
  route({
    method: 'POST',
    path: '/other',
    handler: async () => {
      calls.other = (calls.other ?? 0) + 1;
      return ok({ n: calls.other });
    },
  }),
  route({
    method: 'POST',
    path: '/missing',
    handler: async () => {
      calls.missing = (calls.missing ?? 0) + 1;
      throw new NotFoundError(`missing ${calls.missing}`);
    },
  }),
  route({
    method: 'POST',
    path: '/taken',
    handler: async () => {
      calls.taken = (calls.taken ?? 0) + 1;
      throw new ConflictError('already exists');
    },
  }),
  route({
    method: 'POST',
    path: '/boom',
    handler: async () => {
      calls.boom = (calls.boom ?? 0) + 1;
      throw new Error('database on fire');
    },
  }),
  route({
    method: 'POST',
    path: '/unavailable',
    handler: async () => {
      calls.unavailable = (calls.unavailable ?? 0) + 1;
      return { status: 503, body: { message: 'try later', type: 'api_error' } };
    },
  }),
  route({
    method: 'POST',
    path: '/effect',
    handler: async ({ event }) => {
      calls.effect = (calls.effect ?? 0) + 1;
      const op = idempotentOperation(event);
      operations.push(op ? { created: op.created, scope: op.scope } : undefined);
      markSideEffect(event);
      if (calls.effect === 1) throw new Error('failed after writing');
      return created({ made: op?.created });
    },
  }),
  route({
    method: 'GET',
    path: '/things',
    handler: async () => {
      calls.list = (calls.list ?? 0) + 1;
      return ok({ n: calls.list });
    },
  }),
];

/** The apiHandler chain with the fake store and clock (authentication is not this test's concern). */
const handler = () =>
  middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
    .use(errorResponder())
    .use(idempotency(store, () => now))
    .use(jsonBody(1000))
    .handler(dispatcher(routes));

interface Res {
  status: number;
  headers: Record<string, string>;
  body: string | undefined;
  json: any;
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Res> {
  const out = (await handler()(httpEvent(method, path, { body, headers }), ctx)) as APIGatewayProxyStructuredResultV2;
  const text = out.body;
  return { status: out.statusCode ?? 200, headers: (out.headers ?? {}) as Record<string, string>, body: text, json: text ? JSON.parse(text) : undefined };
}

const key = (k: string) => ({ 'idempotency-key': k });

beforeEach(() => {
  store = new FakeStore();
  now = Date.UTC(2026, 0, 15, 12);
  calls = {};
  gate = undefined;
  operations = [];
});

describe('idempotency middleware', () => {
  it('does nothing without the header', async () => {
    expect((await call('POST', '/things', { name: 'a' })).json.id).toBe('thing-1');
    expect((await call('POST', '/things', { name: 'a' })).json.id).toBe('thing-2');
    expect(store.claims).toHaveLength(0);
  });

  it('stores the first response and replays it exactly for the same key and body', async () => {
    const first = await call('POST', '/things', { name: 'a' }, key('k1'));
    const again = await call('POST', '/things', { name: 'a' }, key('k1'));
    expect(calls.things).toBe(1);
    expect(first).toMatchObject({ status: 201, json: { id: 'thing-1', name: 'a' } });
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect({ ...again, headers: { ...again.headers } }).toEqual({ ...first, headers: { ...first.headers, 'idempotent-replayed': 'true' } });
    expect(again.headers.location).toBe('/things/1');
  });

  it('answers 409 with x-should-retry false for the same key with a different body', async () => {
    await call('POST', '/things', { name: 'a' }, key('k1'));
    const res = await call('POST', '/things', { name: 'b' }, key('k1'));
    expect(res).toMatchObject({ status: 409, json: { type: 'invalid_request_error', message: expect.stringMatching(/different request body/) } });
    expect(res.headers['x-should-retry']).toBe('false');
    expect(calls.things).toBe(1);
  });

  it('compares the raw body: the same JSON written differently is a different body', async () => {
    await call('POST', '/things', '{"name":"a"}', key('k1'));
    expect((await call('POST', '/things', '{ "name": "a" }', key('k1'))).status).toBe(409);
  });

  it('answers 409 with x-should-retry false while the key is in flight, then replays', async () => {
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    const first = call('POST', '/things', { name: 'a' }, key('k1'));
    await new Promise((r) => setImmediate(r));
    const busy = await call('POST', '/things', { name: 'a' }, key('k1'));
    expect(busy).toMatchObject({ status: 409, json: { message: expect.stringMatching(/still in progress/) } });
    expect(busy.headers['x-should-retry']).toBe('false');
    open();
    expect((await first).status).toBe(201);
    expect(await call('POST', '/things', { name: 'a' }, key('k1'))).toMatchObject({ status: 201, headers: { 'idempotent-replayed': 'true' } });
    expect(calls.things).toBe(1);
  });

  it('lets a request take over an in-flight key whose lease ran out, with the same body only', async () => {
    gate = new Promise(() => {}); // the first request never finishes: its function died
    void call('POST', '/things', { name: 'a' }, key('k1'));
    await new Promise((r) => setImmediate(r));
    expect(store.claims[0].leaseMs).toBe(LEASE_MS);
    now += LEASE_MS + 1;
    expect((await call('POST', '/things', { name: 'b' }, key('k1'))).status).toBe(409);
    gate = undefined;
    expect(await call('POST', '/things', { name: 'a' }, key('k1'))).toMatchObject({ status: 201, json: { id: 'thing-2' } });
  });

  it('keeps the key after a 5xx once the handler changed something: the retry continues the same operation at once', async () => {
    expect((await call('POST', '/effect', { n: 1 }, key('k1'))).status).toBe(500);
    now += 1000; // well inside the lease: the failed attempt gave its lease up
    const retry = await call('POST', '/effect', { n: 1 }, key('k1'));
    expect(retry).toMatchObject({ status: 201, json: { made: operations[0]?.created } });
    expect(operations).toHaveLength(2);
    expect(operations[1]).toEqual(operations[0]);
    expect(await call('POST', '/effect', { n: 1 }, key('k1'))).toMatchObject({ status: 201, headers: { 'idempotent-replayed': 'true' } });
    expect(calls.effect).toBe(2);
  });

  it('tells a handler nothing without a key, and a new key is a new operation', async () => {
    await call('POST', '/effect', { n: 1 });
    now += 1;
    await call('POST', '/effect', { n: 1 }, key('k2'));
    expect(operations[0]).toBeUndefined();
    expect(operations[1]).toEqual({ created: now, scope: expect.any(String) });
  });

  it('replays stored error responses: a 404 and a 409 run once', async () => {
    const nf = await call('POST', '/missing', undefined, key('k1'));
    expect(await call('POST', '/missing', undefined, key('k1'))).toEqual({ ...nf, headers: { ...nf.headers, 'idempotent-replayed': 'true' } });
    expect(nf).toMatchObject({ status: 404, json: { message: 'missing 1' } });
    const taken = await call('POST', '/taken', undefined, key('k2'));
    const replayed = await call('POST', '/taken', undefined, key('k2'));
    expect([taken.status, replayed.status, replayed.headers['x-should-retry'], replayed.headers['idempotent-replayed']]).toEqual([409, 409, 'false', 'true']);
    expect([calls.missing, calls.taken]).toEqual([1, 1]);
  });

  it('stores nothing when the body failed validation: the fixed body may reuse the key', async () => {
    expect((await call('POST', '/things', { name: 1 }, key('k1'))).status).toBe(400);
    expect((await call('POST', '/things', '{not json', key('k1'))).status).toBe(400);
    expect((await call('POST', '/things', { name: 'x'.repeat(2000) }, key('k1'))).status).toBe(413);
    expect(store.records.size).toBe(0);
    expect(await call('POST', '/things', { name: 'a' }, key('k1'))).toMatchObject({ status: 201, json: { id: 'thing-1' } });
  });

  it('stores nothing on a 5xx, thrown or returned, so a retry runs again', async () => {
    expect((await call('POST', '/boom', undefined, key('k1'))).status).toBe(500);
    expect((await call('POST', '/boom', undefined, key('k1'))).status).toBe(500);
    expect((await call('POST', '/unavailable', undefined, key('k1'))).status).toBe(503);
    expect((await call('POST', '/unavailable', undefined, key('k1'))).status).toBe(503);
    expect([calls.boom, calls.unavailable, store.records.size]).toEqual([2, 2, 0]);
  });

  it('scopes a key per endpoint', async () => {
    expect((await call('POST', '/things', { name: 'a' }, key('k1'))).status).toBe(201);
    expect(await call('POST', '/other', undefined, key('k1'))).toMatchObject({ status: 200, json: { n: 1 } });
    expect(await call('POST', '/other', undefined, key('k1'))).toMatchObject({ status: 200, json: { n: 1 }, headers: { 'idempotent-replayed': 'true' } });
    expect(await call('POST', '/things', { name: 'a' }, key('k1'))).toMatchObject({ status: 201, headers: { 'idempotent-replayed': 'true' } });
    expect([calls.things, calls.other]).toEqual([1, 1]);
  });

  it('ignores the headers on other methods, even invalid ones', async () => {
    const headers = { 'idempotency-key': '', 'x-idempotency-expiration': 'whenever' };
    expect((await call('GET', '/things', undefined, headers)).json).toEqual({ n: 1 });
    expect((await call('GET', '/things', undefined, headers)).json).toEqual({ n: 2 });
    expect(store.claims).toHaveLength(0);
  });

  it('refuses a bad key or expiration with 400 naming the header, before claiming anything', async () => {
    const bad = await call('POST', '/things', { name: 'a' }, key('x'.repeat(256)));
    expect(bad).toMatchObject({ status: 400, json: { message: expect.stringMatching(/idempotency-key/) } });
    const late = await call('POST', '/things', { name: 'a' }, { ...key('k1'), 'x-idempotency-expiration': 'someday' });
    expect(late).toMatchObject({ status: 400, json: { message: expect.stringMatching(/x-idempotency-expiration/) } });
    expect([store.claims.length, calls.things]).toEqual([0, undefined]);
  });

  it('keeps the record until the requested expiry, 24 hours by default', async () => {
    const nowS = Math.floor(now / 1000);
    await call('POST', '/other', undefined, key('k1'));
    await call('POST', '/other', undefined, { ...key('k2'), 'x-idempotency-expiration': '2 Hours' });
    expect(store.claims.map((c) => c.expiresAt - nowS)).toEqual([86400, 7200]);
    now += 7200 * 1000;
    expect((await call('POST', '/other', undefined, key('k2'))).json).toEqual({ n: 3 });
    expect((await call('POST', '/other', undefined, key('k1'))).headers['idempotent-replayed']).toBe('true');
  });

  it('still answers when the response cannot be stored, and releases the key', async () => {
    store.failComplete = true;
    expect(await call('POST', '/things', { name: 'a' }, key('k1'))).toMatchObject({ status: 201, json: { id: 'thing-1' } });
    expect(store.records.size).toBe(0);
  });
});
