import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QueryCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import WebSocket from 'ws';
import { buildApp } from '../../lib/app';
import type { CfnTemplate, StackDescription } from '../../lambdas/local/template';
import { OPEN_SHARDS } from '../../lambdas/store/keys';
import { bindLocal } from '../../lambdas/local/template';
import { LOCAL_ACCOUNT } from '../../lambdas/local/stack';
import { describeStack, functionRoles, grantedActions } from '../helpers/iam';
import { messagesOf, sendAndWait, TERMINAL } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';
import { startWebhookServer } from '../helpers/webhook-server';

/**
 * What `cdk deploy` ships, run: the app is synthesized with bundling (the esbuild bundles of the
 * asset folders, exactly as deployed), and every function runs *its bundle*, in its own process,
 * with exactly the environment its template gives it, wired as the template wires it (API routes,
 * SQS event sources, the schedule). Their AWS calls are checked against their template roles when
 * the stack stops (test/helpers/stack.ts); here, also which granted actions were never used.
 */
let s: TestStack;
let description: StackDescription;
let assemblyDir: string;
const tableName = `t-bundles-${Date.now()}`;
const t0 = Date.now();

beforeAll(async () => {
  assemblyDir = mkdtempSync(path.join(os.tmpdir(), 'cdk-assembly-'));
  // A short sweep grace, as a workspace setting, so the sweeper's re-drive is seen within the test;
  // private egress allowed, as the local stack allows it, for the webhook server on 127.0.0.1.
  const { app, stack } = buildApp({ outdir: assemblyDir, context: { settings: '{"SWEEP_GRACE_MS":"1000","CACHE_TTL_MS":"0","ALLOW_PRIVATE_EGRESS":"true"}' } });
  const assembly = app.synth();
  description = describeStack(stack, assembly.getStackByName(stack.stackName).template as CfnTemplate);
  s = await startTestStack({ tableName, bundles: { assemblyDir: assembly.directory, description }, scheduleEveryMs: 0 });
}, 120_000);

afterAll(async () => {
  await s?.stop();
  rmSync(assemblyDir, { recursive: true, force: true });
  rmSync(path.resolve(__dirname, '../../.local/bundles', tableName), { recursive: true, force: true });
});

/** A raw connection to the realtime inbox socket, subscribed to `user`'s events, with what it received. */
async function subscribed(token: string, user: string) {
  const ws = new WebSocket(`${s.wsUrl}?auth=${token}&userId=${encodeURIComponent(user)}`);
  const pushed: { event?: string; messageId?: string; response?: string; data?: { messageId?: string } }[] = [];
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  ws.on('message', (d) => pushed.push(JSON.parse(String(d)) as (typeof pushed)[number]));
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  ws.send(JSON.stringify({ tid: 'sub', action: 'subscribe', data: { channel: user, event: '*' } }));
  await eventually(
    async () => pushed[0],
    (p) => p?.response === 'ack',
  );
  return { ws, pushed, closed };
}

function ok<R extends { status: number; text: string }>(res: R, ...expected: number[]): R {
  const want = expected.length ? expected : [200];
  if (!want.includes(res.status)) throw new Error(`expected ${want.join(' or ')}, got ${res.status}: ${res.text.slice(0, 300)}`);
  return res;
}

describe('the shipped bundles', () => {
  it('serve the routes of every API group: create, read, list, change, delete', async () => {
    const user = uid('b-user');
    const tenant = uid('b-tenant');
    const list = uid('b.list');
    const idem = (method: string, path: string, body?: unknown) => s.http(method, path, body, { headers: { 'Idempotency-Key': uid('idem') } });
    ok(await s.http('GET', '/health', undefined, { key: null }));

    // An audience first, so the profile changes below add and remove a member (the fan-out worker).
    const audience = uid('b-aud');
    ok(await s.http('PUT', `/audiences/${audience}`, { filter: { filters: [{ operator: 'EQ', path: 'plan', value: 'pro' }] } }));
    ok(await s.http('PUT', `/profiles/${user}`, { profile: { email: `${user}@example.test`, plan: 'pro' } }));
    await eventually(
      async () => ok(await s.http('GET', `/audiences/${audience}/members`)).json.items.length,
      (n) => n === 1,
    );
    ok(await s.http('PUT', `/profiles/${user}`, { profile: { email: `${user}@example.test`, plan: 'free' } }));
    await eventually(
      async () => ok(await s.http('GET', `/audiences/${audience}/members`)).json.items.length,
      (n) => n === 0,
    );
    ok(await s.http('PUT', `/profiles/${user}`, { profile: { email: `${user}@example.test`, plan: 'pro' } }));
    const gone = uid('b-gone-user');
    ok(await s.http('PUT', `/profiles/${gone}`, { profile: { plan: 'x' } }));
    ok(await s.http('DELETE', `/profiles/${gone}`), 200, 204);
    ok(await idem('POST', `/profiles/${user}`, { profile: { locale: 'en' } }));
    ok(await s.http('PUT', `/lists/${list}/subscriptions/${user}`, {}), 200, 204);
    expect(ok(await s.http('GET', `/profiles/${user}/lists`)).json.results).toHaveLength(1);
    ok(await s.http('DELETE', `/lists/${list}/subscriptions/${user}`), 200, 204);
    ok(await s.http('GET', `/lists?pattern=${encodeURIComponent('b.*')}`));
    ok(await idem('POST', `/lists/${list}/subscriptions`, { recipients: [{ recipientId: user }] }), 200, 204);
    ok(await s.http('DELETE', `/lists/${list}`), 200, 204);

    ok(await s.http('PUT', `/tenants/${tenant}`, { name: 'Bundled' }));
    ok(await s.http('PUT', `/users/${user}/tenants/${tenant}`, {}), 200, 204);
    expect(ok(await s.http('GET', `/users/${user}/tenants`)).json.items).toHaveLength(1);
    ok(await s.http('GET', `/tenants/${tenant}/users`));
    ok(await s.http('GET', `/tenants?parent_tenant_id=${tenant}`));
    ok(await idem('POST', `/tenants/${tenant}/templates/welcome/publish`, {}), 200, 204, 404);
    const other = uid('b-gone');
    ok(await s.http('PUT', `/tenants/${other}`, { name: 'gone' }));
    ok(await s.http('PUT', `/users/${user}/tenants/${other}`, {}), 200, 204);
    ok(await s.http('DELETE', `/users/${user}/tenants/${other}`), 200, 204);
    ok(await idem('POST', `/users/${user}/tenants`, {}), 405);
    ok(await s.http('DELETE', `/tenants/${other}`), 200, 204);

    ok(await s.http('GET', '/audiences'));
    ok(await idem('POST', `/audiences/${audience}`, {}), 405);
    ok(await s.http('DELETE', `/audiences/${audience}`), 200, 204);

    const topic = uid('b-topic');
    ok(await s.http('PUT', `/preferences/topics/${topic}`, { name: 'News', default_status: 'OPTED_IN' }), 200, 204);
    ok(await s.http('GET', '/preferences/topics'));
    ok(await idem('POST', `/preferences/topics/${topic}`, {}), 405);
    ok(await s.http('DELETE', `/preferences/topics/${topic}`), 200, 204);

    const brand = ok(await idem('POST', '/brands', { name: 'Bundled brand' })).json.id as string;
    ok(await s.http('GET', '/brands'));
    ok(await s.http('DELETE', `/brands/${brand}`), 200, 204);

    const template = ok(
      await idem('POST', '/notifications', { notification: { name: 'Bundled', content: { elements: [{ type: 'text', content: 'hi' }] } } }),
      200,
      201,
    ).json;
    ok(await s.http('GET', '/notifications'));
    ok(await s.http('DELETE', `/notifications/${template.id ?? template.notification?.id}`), 200, 204);

    ok(await s.http('GET', '/providers/catalog'));
    const provider = ok(await idem('POST', '/providers', { provider: 'webhook', priority: 9, settings: { url: 'https://example.test/hook' } }), 200, 201).json
      .id as string;
    ok(await s.http('PUT', `/providers/${provider}`, { provider: 'webhook', priority: 8, settings: { url: 'https://example.test/hook' } }));
    ok(await s.http('GET', '/providers'));
    ok(await s.http('DELETE', `/providers/${provider}`), 200, 204);

    // Issue 14: routing strategies, translations, inbound events (a mapped one is sent), audit events, archived requests.
    const strategy = ok(await idem('POST', '/routing-strategies', { name: 'Bundled', routing: { method: 'single', channels: ['inbox'] } }), 201).json
      .id as string;
    ok(await s.http('PUT', `/routing-strategies/${strategy}`, { name: 'Bundled 2', routing: { method: 'single', channels: ['inbox'] } }));
    ok(await s.http('GET', '/routing-strategies'));
    ok(await s.http('GET', `/routing-strategies/${strategy}/notifications`));
    ok(await s.http('DELETE', `/routing-strategies/${strategy}`), 204);
    ok(await s.http('PUT', '/translations/default/fr', JSON.stringify('msgid "Hello"\nmsgstr "Bonjour"\n')), 204);
    ok(await s.http('GET', '/translations/default/fr'));
    const event = uid('b-event');
    ok(
      await idem('POST', '/notifications', {
        notification: { name: 'Mapped', event_ids: [event], content: { elements: [{ type: 'text', content: 'hi' }] } },
        state: 'PUBLISHED',
      }),
    );
    const tracked = uid('b-track');
    ok(await idem('POST', '/inbound/courier', { type: 'track', event, messageId: tracked, userId: user, properties: {} }), 202);
    const inbound = ok(await s.http('GET', `/inbound/events/${tracked}?source=courier`)).json as { status: string; requestId: string };
    expect(inbound.status).toBe('SENT');
    ok(await s.http('GET', '/audit-events'));
    ok(await s.http('PUT', `/requests/${inbound.requestId}/archive`), 204);

    const { jobId } = ok(await idem('POST', '/bulk', { message: { event: 'e', content: { title: 'T', body: 'hi' } } }), 200, 201).json as { jobId: string };
    ok(await idem('POST', `/bulk/${jobId}`, { users: [{ to: { user_id: user } }] }), 200, 204);
    ok(await s.http('GET', `/bulk/${jobId}/users`));
    ok(await idem('POST', `/bulk/${jobId}/run`, {}), 200, 202, 204);

    ok(await idem('POST', '/auth/revoke-tokens', { user_id: uid('b-revoked') }), 204);
    const token = ok(await idem('POST', '/auth/issue-token', { scope: `user_id:${user} inbox:read:messages inbox:write:events`, expires_in: '1h' })).json
      .token as string;
    const socket = await subscribed(token, user);
    // A user with no stored profile and inline fields: the delivery worker creates the profile.
    const inline = uid('b-inline');
    const created = ok(
      await s.http('POST', '/send', {
        message: {
          to: { user_id: inline, email: `${inline}@example.test` },
          content: { title: 'Hi', body: 'x' },
          routing: { method: 'single', channels: ['inbox'] },
        },
      }),
      202,
    );
    await eventually(
      () => s.client.messages.retrieve(created.json.requestId),
      (m) => TERMINAL.includes(m.status),
    );
    expect(ok(await s.http('GET', `/profiles/${inline}`)).json.profile).toMatchObject({ email: `${inline}@example.test` });
    const sent = ok(
      await idem('POST', '/send', {
        message: {
          to: { user_id: user },
          content: {
            version: '2022-01-01',
            elements: [
              { type: 'meta', title: 'Hi' },
              { type: 'action', content: 'Go', href: 'https://acme.test/go' },
            ],
          },
          routing: { method: 'single', channels: ['inbox'] },
        },
      }),
      202,
    );
    const message = await eventually(
      () => s.client.messages.retrieve(sent.json.requestId),
      (m) => TERMINAL.includes(m.status),
    );
    expect(message.status).toBe('DELIVERED');
    const inbox = ok(await s.http('GET', '/inbox/messages', undefined, { key: token })).json.results as { messageId: string; blocks: { href: string }[] }[];
    ok(await s.http('POST', `/inbox/messages/${inbox[0].messageId}/read`, undefined, { key: token }), 200, 204);
    // The realtime socket (issue 17): the send function pushed the new message, the inbox function its read.
    await eventually(
      async () => socket.pushed.filter((p) => p.data?.messageId === sent.json.requestId || p.messageId === sent.json.requestId).map((p) => p.event),
      (events) => events.join() === 'message,read',
    );
    // A client message past the socket's limit closes its connection (the socket function's own management call).
    const big = await subscribed(token, user);
    big.ws.send('x'.repeat(5000));
    expect(await big.closed).toBe(1000);
    socket.ws.close();
    // Its action link is a tracking link to this stack (API_URL), answered by the tracking function, which moves the message.
    expect(inbox[0].blocks[0].href.startsWith(`${s.url}/t/c/`)).toBe(true);
    const click = await fetch(inbox[0].blocks[0].href, { redirect: 'manual' });
    expect([click.status, click.headers.get('location')]).toEqual([302, 'https://acme.test/go']);
    expect((await s.client.messages.retrieve(sent.json.requestId)).status).toBe('CLICKED');
    ok(await s.http('GET', '/messages?limit=5'));
    expect(ok(await s.http('GET', `/messages?recipient=${user}`)).json.results.map((m: { id: string }) => m.id)).toContain(sent.json.requestId);
    ok(await s.http('GET', `/messages/${sent.json.requestId}/history`));
    ok(await idem('POST', `/messages/${sent.json.requestId}/cancel`, {}), 200, 409);
  });

  it('deliver through providers: a webhook that fails once (a retry through the queue), SES and SNS, inline and from the queue', async () => {
    const hook = await startWebhookServer({ failFirst: 1 });
    try {
      const users = [uid('b-prov'), uid('b-prov'), uid('b-prov')];
      const profileOf = (user: string) => ({ email: `${user}@acme.test`, phone_number: '+15555550100', webhook: { url: hook.url } });
      for (const user of users.slice(0, 2)) ok(await s.http('PUT', `/profiles/${user}`, { profile: profileOf(user) }));
      ok(await s.http('POST', '/providers', { provider: 'ses', priority: 1, settings: { from: 'hello@acme.test', region: 'eu-west-1' } }), 200, 201);
      ok(await s.http('POST', '/providers', { provider: 'sns', priority: 1, settings: {} }), 200, 201);
      const routing = { method: 'all', channels: ['webhook', 'email', 'sms'] };
      // A single send is delivered by the send function (D14); two users go through the fan-out and
      // the delivery worker, one of them new, with the fields its profile is created from.
      const single = await sendAndWait(s, { to: { user_id: users[0] }, content: { title: 'Hi', body: 'x' }, routing }, 1, 60_000);
      const to = [{ user_id: users[1] }, { user_id: users[2], ...profileOf(users[2]) }];
      const fanout = await sendAndWait(s, { to, content: { title: 'Hi', body: 'x' }, routing }, 2, 60_000);
      for (const m of [...single.messages, ...fanout.messages]) {
        expect(m.status).toMatch(/^(SENT|DELIVERED)$/);
        expect((await hook.callsFor(m.id)).length).toBe(2);
      }
      expect(s.awsCalls().map((c) => `${c.fn} ${c.action} ${c.resource}`)).toEqual(
        expect.arrayContaining(
          ['Api-send', 'Worker-deliver'].flatMap((fn) => [
            `${fn} ses:SendEmail arn:aws:ses:eu-west-1:${LOCAL_ACCOUNT}:identity/acme.test`,
            `${fn} sns:Publish *`,
          ]),
        ),
      );
    } finally {
      await hook.close();
    }
  });

  it('keep a suppression list: a suppressed email is skipped by the send, listed, removed', async () => {
    const email = `${uid('b-supp')}@example.com`;
    ok(await s.http('PUT', `/suppressions/email/${email}`, { reason: 'manual' }));
    ok(await s.http('GET', `/suppressions/email/${email}`));
    expect((ok(await s.http('GET', '/suppressions?channel=email')).json as { results: { address: string }[] }).results.map((r) => r.address)).toContain(email);
    const { messages } = await sendAndWait(s, { to: { email }, content: { title: 'Hi', body: 'x' } }, 1, 60_000);
    expect([messages[0].status, messages[0].reason]).toEqual(['UNDELIVERABLE', 'SUPPRESSED']);
    ok(await s.http('DELETE', `/suppressions/email/${email}`), 204);
  });

  it("serve Courier's browser client: preferences read and updated, a list joined and left (client GraphQL), the inbox listed (inbox GraphQL)", async () => {
    const user = uid('b-client');
    const topic = uid('b-client-topic');
    const list = uid('b-client-list');
    ok(await s.http('PUT', `/preferences/topics/${topic}`, { name: 'News', default_status: 'OPTED_IN' }), 200, 204);
    ok(await s.http('PUT', `/lists/${list}`, { name: 'Client list' }), 200, 204);
    const token = ok(
      await s.http('POST', '/auth/issue-token', {
        scope: `user_id:${user} read:preferences write:preferences inbox:read:messages inbox:write:events`,
        expires_in: '1h',
      }),
    ).json.token as string;
    const graphql = async (path: string, query: string) => {
      const res = ok(await s.http('POST', path, { query }, { key: token }));
      expect(res.json.errors).toBeUndefined();
      return res.json.data as Record<string, unknown>;
    };
    await graphql('/client/q', '{ recipientPreferences { nodes { templateId status } } }');
    await graphql('/client/q', `mutation { updatePreferenceV2(templateId: "${topic}", preferences: { status: OPTED_OUT }) { templateId status } }`);
    ok(await s.http('PUT', `/client/lists/${list}/subscribe/${user}`, undefined, { key: token }), 204);
    ok(await s.http('DELETE', `/client/lists/${list}/unsubscribe/${user}`, undefined, { key: token }), 204);
    await graphql('/inbox/graphql', '{ count(params: {}) messages(params: {}, limit: 5) { totalCount nodes { messageId } } }');
  });

  it('announce status changes to a registered webhook endpoint: one refused first (a retry through its queue), and a cancel', async () => {
    const hook = await startWebhookServer({ failFirst: 1 });
    try {
      const endpoint = ok(await s.http('POST', '/webhooks', { url: hook.url, events: ['message:updated'] }), 200, 201).json as { id: string };
      ok(await s.http('GET', '/webhooks'));
      ok(await s.http('GET', `/webhooks/${endpoint.id}`));
      ok(await s.http('PUT', `/webhooks/${endpoint.id}`, { url: hook.url, events: ['message:updated'] }));
      ok(await s.http('POST', `/webhooks/${endpoint.id}/rotate-secret`, {}), 200, 201);
      const held = await s.client.send.message({
        message: {
          to: { user_id: uid('b-hook') },
          content: { title: 'Held', body: 'x' },
          routing: { method: 'single', channels: ['inbox'] },
          delay: { duration: 5000 },
        } as never,
      });
      expect((await s.client.messages.cancel(held.requestId)).status).toBe('CANCELED');
      // The endpoint list is cached briefly: the send after it is announced once the cache sees the endpoint.
      await sendAndWait(
        s,
        { to: { user_id: uid('b-hook') }, content: { title: 'Now', body: 'x' }, routing: { method: 'single', channels: ['inbox'] } },
        1,
        60_000,
      );
      await eventually(
        () => hook.calls(),
        (calls) => calls.length >= 2,
        60_000,
      );
      // An inbox open (the inbox function) and a tracked click (the tracking function) announce their moves too.
      const reader = uid('b-hook-reader');
      const token = ok(await s.http('POST', '/auth/issue-token', { scope: `user_id:${reader} inbox:read:messages inbox:write:events`, expires_in: '1h' })).json
        .token as string;
      const content = { version: '2022-01-01', elements: [{ type: 'action', content: 'Go', href: 'https://acme.test/go' }] };
      const { requestId } = await sendAndWait(s, { to: { user_id: reader }, content, routing: { method: 'single', channels: ['inbox'] } }, 1, 60_000);
      const inbox = ok(await s.http('GET', '/inbox/messages', undefined, { key: token })).json.results as { messageId: string; blocks: { href: string }[] }[];
      ok(await s.http('POST', `/inbox/messages/${inbox[0].messageId}/opened`, undefined, { key: token }), 200, 204);
      expect((await fetch(inbox[0].blocks[0].href, { redirect: 'manual' })).status).toBe(302);
      await eventually(
        async () => (await hook.calls()).flatMap((c) => (c.event?.id === requestId ? [c.event.status] : [])),
        (statuses) => statuses.includes('OPENED') && statuses.includes('CLICKED'),
        60_000,
      );
      ok(await s.http('DELETE', `/webhooks/${endpoint.id}`), 204);
    } finally {
      await hook.close();
    }
  });

  it('deliver a tenant-tree send to every member once, each in a terminal status', async () => {
    const root = uid('b-root');
    const members: string[] = [];
    ok(await s.http('PUT', `/tenants/${root}`, { name: 'root' }));
    for (const child of ['a', 'b']) {
      const id = `${root}-${child}`;
      ok(await s.http('PUT', `/tenants/${id}`, { name: child, parent_tenant_id: root }));
      for (let i = 0; i < 15; i++) {
        const user = `${id}-u${i}`;
        members.push(user);
        ok(await s.http('PUT', `/users/${user}/tenants/${id}`, {}), 200, 204);
      }
    }
    // A member of both children is reached twice and gets one message (the fan-out records the first reach).
    ok(await s.http('PUT', `/users/${members[0]}/tenants/${root}-b`, {}), 200, 204);
    const { messages } = await sendAndWait(
      s,
      { to: { tenant_id: root, include_children: true }, content: { title: 'All', body: 'hands' }, routing: { method: 'single', channels: ['inbox'] } },
      members.length,
      60_000,
    );
    expect(messages.map((m) => m.recipient).sort()).toEqual(members.sort());
    expect(new Set(messages.map((m) => m.status))).toEqual(new Set(['DELIVERED']));
  });

  it('hold a delayed send, then deliver it', async () => {
    const trace = uid('b-delay');
    const { requestId } = await s.client.send.message({
      message: {
        to: { user_id: uid('b-late') },
        content: { title: 'Later', body: 'x' },
        routing: { method: 'single', channels: ['inbox'] },
        delay: { duration: 2500 },
        metadata: { trace_id: trace },
      } as never,
    });
    expect((await s.client.messages.retrieve(requestId)).status).toBe('DELAYED');
    const [message] = await messagesOf(s, trace, 1, 30_000);
    expect(message.status).toBe('DELIVERED');
  });

  it('run the sweeper from its schedule, which closes every finished request', async () => {
    const client = new DynamoDBClient({
      endpoint: process.env.TEST_DYNAMODB_ENDPOINT,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    const open = async () => {
      let n = 0;
      for (let shard = 0; shard < OPEN_SHARDS; shard++)
        n +=
          (
            await client.send(
              new QueryCommand({
                TableName: tableName,
                KeyConditionExpression: 'pk = :pk',
                ExpressionAttributeValues: { ':pk': { S: `OPEN#${shard}` } },
                Select: 'COUNT',
              }),
            )
          ).Count ?? 0;
      return n;
    };
    expect(await open()).toBeGreaterThan(0);
    await eventually(
      async () => {
        await s.runScheduled();
        return open();
      },
      (n) => n === 0,
      30_000,
    );
    client.destroy();
  });

  it('log no error, and every granted action is used by its function or listed with its reason', () => {
    for (const fn of Object.keys(description.functions)) {
      const errors = s.functionLogs(fn).filter((l) => /"level":"(ERROR|CRITICAL)"/.test(l));
      expect({ fn, errors }).toEqual({ fn, errors: [] });
    }
    const bindings = bindLocal(description, { region: 'us-east-1', account: LOCAL_ACCOUNT, tableName, queues: s.queues });
    const used = new Set(s.awsCalls().map((c) => `${c.fn} ${c.action}`));
    const unused = grantedActions(functionRoles(description, bindings))
      .map((g) => `${g.fn} ${g.action}`)
      .filter((g) => !used.has(g));
    expect(unused.sort()).toEqual(Object.keys(UNEXERCISED).sort());
    console.log(
      `bundle suite: ${Date.now() - t0} ms, ${s.awsCalls().length} distinct (function, action, resource) calls, ${used.size} (function, action) pairs`,
    );
  });
});

/**
 * Granted actions this suite does not exercise, each with why the grant stays. Every other granted
 * action was called by its function above.
 */
const EVENT_SOURCE =
  "Lambda's SQS event source polls the queue with the function's role; the function's code never calls it (the local pollers stand in for the event source).";
const RELEASE =
  'Releases an Idempotency-Key record when the request fails with a 5xx (lambdas/shared/idempotency.ts); no request fails here, and the group deletes nothing itself (DELETE /notifications/:id archives).';
const WEBHOOKS =
  "Used by the Segment and RudderStack webhooks (a group reads the user's memberships), which need a shared secret a deployed stack reads from SSM; test/integration/inbound.test.ts exercises them.";
const GONE =
  'Deletes a socket connection API Gateway reports gone (410) when an inbox event is pushed to it; no connection vanishes here without its $disconnect (test/integration/socket.test.ts exercises it).';
const AUTOMATIONS =
  'The automations group (issue 18: templates, runs, journeys) is not among these scenarios; test/integration/automations.test.ts exercises every route of it.';
const UNEXERCISED: Record<string, string> = {
  ...Object.fromEntries(
    ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'sqs:SendMessage'].map((a) => [
      `Api-automations ${a}`,
      AUTOMATIONS,
    ]),
  ),
  'Api-inbound dynamodb:Query': WEBHOOKS,
  'Api-inbox dynamodb:DeleteItem': GONE,
  'Worker-deliver dynamodb:DeleteItem': GONE,
  'Worker-deliver execute-api:ManageConnections':
    "Pushes a new inbox message to the user's sockets, as the send function does for the single sends it delivers inline (exercised here); no inbox message of a user with an open socket goes through the delivery queue in this suite.",
  ...Object.fromEntries(
    ['Worker-fanout', 'Worker-deliver', 'Worker-webhooks-out'].flatMap((fn) =>
      ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'].map((a) => [`${fn} ${a}`, EVENT_SOURCE]),
    ),
  ),
  ...Object.fromEntries(
    ['Api-bulk', 'Api-inbound', 'Api-messages', 'Api-notifications', 'Api-routing-strategies', 'Api-send', 'Api-translations'].map((fn) => [
      `${fn} dynamodb:DeleteItem`,
      RELEASE,
    ]),
  ),
};
