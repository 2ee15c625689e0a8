import { createHash, createHmac } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { API_GROUPS } from '../../lambdas/shared/topology';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * Property-based fuzzing of every route (seeded, so a failure replays): random and mutated bodies,
 * odd and overlong path ids, garbage queries and headers. For every request: no 5xx; every refusal
 * is Courier's `{ message, type }`, a 400 names where the fault is (body, query, path or header);
 * and a refused write changes no stored item. FUZZ_RUNS sets the requests per route (default 12).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);

/** The inbound webhooks' secrets: their fuzzed requests are signed, so they reach the body's validation. */
const SEGMENT_SECRET = 'fuzz-segment-shared-secret';
const RUDDERSTACK_SECRET = 'fuzz-rudderstack-shared-secret';
/** The credential headers of a route's request for `body`. */
function credentials(group: string, path: string, body: string | undefined): Record<string, string> {
  if (path === '/inbound/segment')
    return {
      'x-signature': createHmac('sha1', SEGMENT_SECRET)
        .update(body ?? '')
        .digest('hex'),
    };
  if (path === '/inbound/rudderstack') return { authorization: `Basic ${Buffer.from(`fuzz:${RUDDERSTACK_SECRET}`).toString('base64')}` };
  return { authorization: `Bearer ${group === 'inbox' || group === 'client' ? token : s.apiKey}` };
}

let s: TestStack;
let token: string;
let raw: DynamoDBDocumentClient;
beforeAll(async () => {
  // No workers and no scheduled sweeper (it ticks every minute and this file runs longer than that):
  // a refused request must change nothing, so nothing else may change the table meanwhile.
  s = await startTestStack({
    concurrency: { fanout: 0, delivery: 0, webhooks: 0 },
    scheduleEveryMs: 0,
    env: { SEGMENT_SHARED_SECRET: SEGMENT_SECRET, RUDDERSTACK_SHARED_SECRET: RUDDERSTACK_SECRET },
  });
  raw = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: process.env.TEST_DYNAMODB_ENDPOINT, region: 'us-east-1' }));
  token = (
    await s.http('POST', '/auth/issue-token', {
      scope: 'user_id:fuzz inbox:read:messages inbox:write:events read:preferences write:preferences read:brands',
      expires_in: '1h',
    })
  ).json.token;
  // Something to find: a tenant, a profile, a list.
  await s.client.tenants.update('fuzz-tenant', { name: 'Fuzz' });
  await s.client.profiles.replace('fuzz', { profile: { email: 'fuzz@x.test' } });
  await s.client.lists.update('fuzz.list', { name: 'Fuzz' });
});
afterAll(async () => {
  raw?.destroy();
  await s?.stop();
});

/** A digest of every stored item but idempotency records (a refused POST may record its answer). */
async function snapshot(): Promise<string> {
  const hash = createHash('sha256');
  let start: Record<string, unknown> | undefined;
  const items: string[] = [];
  do {
    const page = await raw.send(new ScanCommand({ TableName: process.env.TABLE_NAME, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) if (!String(item.pk).startsWith('IDEMPOTENCY#')) items.push(JSON.stringify(item, Object.keys(item).sort()));
    start = page.LastEvaluatedKey;
  } while (start);
  for (const i of items.sort()) hash.update(i);
  return hash.digest('hex');
}

const FIELDS = [
  'message',
  'to',
  'user_id',
  'email',
  'phone_number',
  'tenant_id',
  'list_id',
  'list_pattern',
  'audience_id',
  'content',
  'title',
  'body',
  'template',
  'data',
  'routing',
  'method',
  'channels',
  'profile',
  'name',
  'parent_tenant_id',
  'recipients',
  'recipientId',
  'filter',
  'filters',
  'operator',
  'path',
  'value',
  'preferences',
  'status',
  'topic',
  'provider',
  'channel',
  'settings',
  'priority',
  'scope',
  'expires_in',
  'delay',
  'duration',
  'until',
  'expiry',
  'timeout',
  'brand_id',
  'tenants',
  'op',
];
const EXAMPLES: Record<string, unknown> = {
  'POST /send': { message: { to: { user_id: 'fuzz' }, content: { title: 'T', body: 'B' }, routing: { method: 'single', channels: ['inbox'] } } },
  'PUT /profiles/:user_id': { profile: { email: 'a@b.test' } },
  'POST /profiles/:user_id': { profile: { name: 'x' } },
  'PATCH /profiles/:user_id': { patch: [{ op: 'replace', path: '/email', value: 'c@d.test' }] },
  'PUT /tenants/:tenant_id': { name: 'T', parent_tenant_id: 'fuzz-tenant', properties: {}, user_profile: {} },
  'PUT /users/:user_id/tenants/:tenant_id': { profile: { a: 1 } },
  'PUT /users/:user_id/tenants': { tenants: [{ tenant_id: 'fuzz-tenant' }] },
  'PUT /lists/:list_id': { name: 'L' },
  'POST /lists/:list_id/subscriptions': { recipients: [{ recipientId: 'fuzz' }] },
  'PUT /audiences/:audience_id': { filter: { filters: [{ operator: 'EQ', path: 'plan', value: 'pro' }] } },
  'PUT /preferences/topics/:topic_id': { name: 'Topic', default_status: 'OPTED_IN' },
  'PUT /users/:user_id/preferences/:topic_id': { topic: { status: 'OPTED_OUT' } },
  'POST /brands': { name: 'B', settings: {} },
  'POST /notifications': { notification: { name: 'N', content: { title: 'T', body: 'B' } } },
  'POST /providers': { provider: 'webhook', settings: {} },
  'POST /bulk': { message: { event: 'e', content: { body: 'x' } } },
  'POST /client/q': { query: 'mutation { updatePreferenceV2(templateId: "fuzz-topic", preferences: { status: OPTED_OUT }) { status } }' },
  'POST /auth/issue-token': { scope: 'user_id:a inbox:read:messages', expires_in: '1h' },
  'POST /inbound/courier': { type: 'track', event: 'fuzz-event', messageId: 'fuzz-m', properties: { a: 1 }, userId: 'fuzz' },
  'POST /inbound/segment': { batch: [{ type: 'identify', messageId: 'fuzz-i', userId: 'fuzz', traits: { plan: 'pro' } }] },
  'POST /inbound/rudderstack': { type: 'group', messageId: 'fuzz-g', userId: 'fuzz', groupId: 'fuzz-tenant', traits: {} },
};

const oddId = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  fc.constantFrom('fuzz', 'fuzz-tenant', 'fuzz.list', '..', 'a/b', 'a%2Fb', '#', '%', ' ', 'x'.repeat(257), '\u0000', 'emoji-😀', 'ünïcödé'),
);
const json = fc.jsonValue({ maxDepth: 3 });
const randomObject = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 8 })), json, { maxKeys: 5 });

/** Sets or deletes one field (top level or one level down) of an example body. */
const mutated = (example: unknown) =>
  fc.tuple(fc.constantFrom(...FIELDS), fc.option(json, { nil: undefined }), fc.boolean()).map(([field, value, deep]) => {
    const copy = JSON.parse(JSON.stringify(example)) as Record<string, unknown>;
    const first = Object.keys(copy)[0];
    const target =
      deep && first && typeof copy[first] === 'object' && copy[first] !== null && !Array.isArray(copy[first]) ? (copy[first] as Record<string, unknown>) : copy;
    if (value === undefined) delete target[Object.keys(target)[0] ?? field];
    else target[field] = value;
    return copy;
  });

interface FuzzRequest {
  params: string[];
  query: Record<string, string>;
  body: { kind: 'json'; value: unknown } | { kind: 'raw'; text: string } | { kind: 'none' };
  headers: Record<string, string>;
}

function requestArb(method: string, path: string): fc.Arbitrary<FuzzRequest> {
  const names = [...path.matchAll(/:(\w+)/g)];
  const example = EXAMPLES[`${method} ${path}`];
  const bodies: fc.Arbitrary<FuzzRequest['body']>[] = [
    json.map((value) => ({ kind: 'json' as const, value })),
    randomObject.map((value) => ({ kind: 'json' as const, value })),
    fc.string({ maxLength: 40 }).map((text) => ({ kind: 'raw' as const, text })),
    fc.constant({ kind: 'none' as const }),
  ];
  if (example)
    bodies.push(
      mutated(example).map((value) => ({ kind: 'json' as const, value })),
      mutated(example).map((value) => ({ kind: 'json' as const, value })),
    );
  return fc.record({
    params: fc.tuple(...names.map(() => oddId)).map((t) => t as string[]),
    query: fc.dictionary(
      fc.constantFrom(
        'limit',
        'cursor',
        'tenant_id',
        'archived',
        'status',
        'pattern',
        'traceId',
        'recipient',
        'list',
        'messageId',
        'user_id',
        fc.sample(fc.string({ maxLength: 6 }), 1)[0] || 'q',
      ),
      fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('-1', '0', '101', '1e9', 'true', 'eyJ9', '%%')),
    ),
    body: fc.oneof(...bodies),
    headers: fc.record(
      {
        'content-type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
        'idempotency-key': fc.oneof(fc.string({ maxLength: 10 }), fc.string({ minLength: 256, maxLength: 300 })),
        'x-idempotency-expiration': fc.constantFrom('1 Day', 'yesterday', '-5', '99999999999999', '2020-01-01'),
      },
      { requiredKeys: [] },
    ),
  });
}

const routes = () =>
  API_GROUPS.filter((g) => !g.public).flatMap((g) =>
    (require(`../../lambdas/http/${g.module}`) as { routes: { method: string; path: string }[] }).routes.map((r) => ({
      group: g.module,
      method: r.method,
      path: r.path,
    })),
  );

const ERROR_TYPES = ['invalid_request_error', 'authentication_error', 'authorization_error'];

it('answers every fuzzed request of every route without a 5xx, with Courier errors, changing nothing when it refuses', async () => {
  const perRoute: Record<string, number> = {};
  const statuses: Record<number, number> = {};
  // The table's digest after the last request, kept only while it is known to be current: after a
  // refused write (whose digest was just taken and matched). Anything else (a GET, an accepted
  // write) may have written, so the next write takes its own. Nothing else writes meanwhile (no
  // workers, no sweeper), so the next write's "before" is this digest without scanning again.
  let current: string | undefined;
  let scans = 0;
  const digest = async () => {
    scans += 1;
    return snapshot();
  };
  for (const r of routes()) {
    const label = `${r.method} ${r.path}`;
    perRoute[label] = 0;
    await fc.assert(
      fc.asyncProperty(requestArb(r.method, r.path), async (req) => {
        perRoute[label] += 1;
        let i = 0;
        const path = r.path.replace(/:\w+/g, () => encodeURIComponent(req.params[i++]));
        const qs = new URLSearchParams(req.query).toString();
        const writes = r.method !== 'GET';
        const before = writes ? (current ?? (await digest())) : '';
        current = undefined;
        let body: string | undefined;
        if (req.body.kind === 'json') body = JSON.stringify(req.body.value) ?? 'null';
        if (req.body.kind === 'raw') body = req.body.text;
        const headers: Record<string, string> = { ...req.headers, ...credentials(r.group, r.path, r.method === 'GET' ? undefined : body) };
        const res = await fetch(`${s.url}${path}${qs ? `?${qs}` : ''}`, { method: r.method, headers, body: r.method === 'GET' ? undefined : body });
        const text = await res.text();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        const where = `${r.method} ${path}${qs ? `?${qs}` : ''} ${body ?? ''} -> ${res.status} ${text.slice(0, 300)}`;
        if (res.status >= 500) throw new Error(`5xx: ${where}`);
        if (res.status >= 400) {
          const err = JSON.parse(text) as { message?: unknown; type?: unknown };
          if (typeof err.message !== 'string' || !ERROR_TYPES.includes(String(err.type))) throw new Error(`not a Courier error: ${where}`);
          if (res.status === 400 && !/\b(body|query|path|header)\b/.test(err.message)) throw new Error(`400 naming no field: ${where}`);
          if (writes) {
            const after = await digest();
            if (after !== before) throw new Error(`a refused request changed stored data: ${where}`);
            current = after;
          }
        }
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  }
  const total = Object.values(perRoute).reduce((a, b) => a + b, 0);
  process.stdout.write(
    `fuzz: ${total} requests over ${Object.keys(perRoute).length} routes (${RUNS} per route, seed ${SEED}); statuses ${JSON.stringify(statuses)}; ${scans} table scans\n`,
  );
  expect(Object.values(perRoute).every((n) => n === RUNS)).toBe(true);
}, 600_000);
