import { startTestStack, type TestStack } from '../helpers/stack';
import { rendered, sendAndWait } from '../helpers/send';
import { eventually, uid } from '../helpers/wait';
import { aList, aTenant, via } from '../helpers/builders';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

const delivered = (m: { status: string }) => ['SENT', 'DELIVERED'].includes(m.status);
const inbox = { content: { title: 'Hello', body: 'Hi {{profile.name}}' }, routing: via('inbox') };

/** The seeds' tree: tenant0 > tenantQ > tenantP > {tenantR1 > tenantR1D1, tenantR2 > {tenantR2D1, tenantR2D2}}, one member each. */
const TREE: [string, string | null][] = [
  ['tenant0', null],
  ['tenantQ', 'tenant0'],
  ['tenantP', 'tenantQ'],
  ['tenantR1', 'tenantP'],
  ['tenantR1D1', 'tenantR1'],
  ['tenantR2', 'tenantP'],
  ['tenantR2D1', 'tenantR2'],
  ['tenantR2D2', 'tenantR2'],
];

async function seedTree() {
  const run = uid('seed');
  const id = (t: string) => `${run}-${t}`;
  for (const [t, parent] of TREE) {
    await s.client.tenants.update(id(t), { name: t, user_profile: { [`from_${t}`]: 'yes', level: t }, ...(parent ? { parent_tenant_id: id(parent) } : {}) });
    await s.client.profiles.replace(id(`user-${t}`), { profile: { name: t } });
    await s.client.users.tenants.addSingle(id(t), { user_id: id(`user-${t}`) });
  }
  return { id, user: (t: string) => id(`user-${t}`) };
}

describe('POST /send', () => {
  it('answers 202 with a requestId and refuses bad bodies with 400 naming the field', async () => {
    const res = await s.http('POST', '/send', { message: { to: { email: 'a@x.test' }, content: { body: 'hi' } } });
    expect(res.status).toBe(202);
    expect(res.json.requestId).toMatch(/^[0-9a-z]{22}$/);
    for (const [body, field] of [
      [{ message: {} }, 'body.message.to'],
      [{ message: { to: { user_id: 'x' } } }, "Either 'content' or 'template'"],
      [{ message: { to: 'x', content: { body: 1 } } }, 'body.message.to'],
      [{ message: { to: { user_id: 'x' }, content: { body: 1 } } }, 'body.message.content'],
      [{ message: { to: { nobody: true }, content: { body: 'x' } } }, 'body.message.to'],
      [{ message: { to: [{ user_id: 'a' }, { list_pattern: 'a.**.b' }], content: { body: 'x' } } }, 'body.message.to.1'],
      [{ message: { to: { user_id: 'x' }, content: { body: 'x' }, routing: { method: 'single', channels: ['fax machine!'] } } }, 'body.message.routing'],
      [{ message: { to: Array.from({ length: 1001 }, (_, i) => ({ user_id: `u${i}` })), content: { body: 'x' } } }, 'body.message.to'],
      [{ message: { to: { tenant_id: 't'.repeat(257) }, content: { body: 'x' } } }, 'body.message.to'],
      // A key Courier's Message does not have is named, never accepted and dropped.
      [{ message: { to: { user_id: 'x' }, content: { body: 'x' }, chanels: { email: {} } } }, 'body.message: Unrecognized key: "chanels"'],
      [{ message: { to: { user_id: 'x' }, content: { body: 'x' }, delay: { duraton: 5 } } }, 'body.message.delay: Unrecognized key: "duraton"'],
      [{ message: { to: { user_id: 'x' }, content: { body: 'x' }, metadata: { trace: 'a' } } }, 'body.message.metadata: Unrecognized key: "trace"'],
      [{ message: { to: { user_id: 'x' }, content: { body: 'x' }, timeout: { escalate: 5 } } }, 'body.message.timeout: Unrecognized key: "escalate"'],
      [{ message: { to: { user_id: 'x' }, content: { body: 'x' }, expiry: { expires: '1d' } } }, 'body.message.expiry: Unrecognized key: "expires"'],
      [{ message: { to: { user_id: 'x' }, content: { body: 'x' }, preferences: { subscription_topic_id: 't', x: 1 } } }, 'body.message.preferences'],
      [{ message: { to: { user_id: 'x' }, content: { body: 'x' }, context: { tenant: 'a' } } }, 'body.message.context: Unrecognized key: "tenant"'],
      [{ message: { to: { user_id: 'x' }, content: { body: 'x' }, routing: { method: 'all', channels: ['email'], retry: 3 } } }, 'body.message.routing'],
      [{ message: { to: { user_id: 'x' }, content: { body: 'x' } }, idempotency_key: 'k' }, 'body: Unrecognized key: "idempotency_key"'],
    ] as const) {
      const r = await s.http('POST', '/send', body);
      expect({ body, status: r.status, message: r.json.message }).toEqual({ body, status: 400, message: expect.stringContaining(field) });
    }
    const longId = await s.http('GET', `/tenants/${'t'.repeat(257)}`);
    expect([longId.status, longId.json.message]).toEqual([400, expect.stringContaining('path.tenant_id')]);
  });
});

describe('targeting', () => {
  let tree: Awaited<ReturnType<typeof seedTree>>;
  beforeAll(async () => {
    tree = await seedTree();
  });

  it('a tenant reaches its own members only', async () => {
    const { messages } = await sendAndWait(s, { ...inbox, to: { tenant_id: tree.id('tenantR2') } }, 1);
    expect(messages.map((m) => [m.recipient, m.status])).toEqual([[tree.user('tenantR2'), 'DELIVERED']]);
  });

  it('include_children reaches members of every descendant, each with its own tenant as context', async () => {
    const { messages } = await sendAndWait(s, { ...inbox, to: { tenant_id: tree.id('tenantP'), include_children: true } }, 6);
    const want = ['tenantP', 'tenantR1', 'tenantR1D1', 'tenantR2', 'tenantR2D1', 'tenantR2D2'];
    expect(messages.map((m) => m.recipient).sort()).toEqual(want.map(tree.user).sort());
    expect(messages.every(delivered)).toBe(true);
    expect(messages.find((m) => m.recipient === tree.user('tenantR1D1'))?.tenant_id).toBe(tree.id('tenantR1D1'));
  });

  it('include_parent reaches only the chain upwards (no siblings, no children)', async () => {
    const { messages } = await sendAndWait(s, { ...inbox, to: { tenant_id: tree.id('tenantR2'), include_parent: true } }, 4);
    expect(messages.map((m) => m.recipient).sort()).toEqual(['tenant0', 'tenantQ', 'tenantP', 'tenantR2'].map(tree.user).sort());
  });

  it('a user in two tenants of the tree gets one message, in the context of the nearer one', async () => {
    const u = tree.user('tenantR2D1');
    await s.client.users.tenants.addSingle(tree.id('tenantR2'), { user_id: u });
    const { messages } = await sendAndWait(s, { ...inbox, to: { tenant_id: tree.id('tenantR2'), include_children: true } }, 3);
    expect(messages.map((m) => m.recipient).sort()).toEqual(['tenantR2', 'tenantR2D1', 'tenantR2D2'].map(tree.user).sort());
    expect(messages.find((m) => m.recipient === u)?.tenant_id).toBe(tree.id('tenantR2'));
    await s.client.users.tenants.removeSingle(tree.id('tenantR2'), { user_id: u });
  });

  it('lists, list patterns, audiences and a mixed array each reach a user once', async () => {
    const p = uid('mix');
    const users = [`${p}-a`, `${p}-b`, `${p}-c`];
    for (const u of users) await s.client.profiles.replace(u, { profile: { name: u, cohort: p } });
    await s.client.lists.subscriptions.add(`${p}.eng.alerts`, { recipients: [{ recipientId: users[0] }, { recipientId: users[1] }] });
    await s.client.lists.subscriptions.add(`${p}.ops.alerts`, { recipients: [{ recipientId: users[2] }] });
    await s.client.audiences.update(`${p}-aud`, { filter: { filters: [{ operator: 'EQ', path: 'cohort', value: p }] } });
    await eventually(
      () => s.client.audiences.listMembers(`${p}-aud`),
      (page) => page.items.length === 3,
    );

    const list = await sendAndWait(s, { ...inbox, to: { list_id: `${p}.eng.alerts` } }, 2);
    expect(list.messages.map((m) => m.recipient).sort()).toEqual([users[0], users[1]]);
    const pattern = await sendAndWait(s, { ...inbox, to: { list_pattern: `${p}.*.alerts` } }, 3);
    expect(pattern.messages.map((m) => m.recipient).sort()).toEqual(users);
    const audience = await sendAndWait(s, { ...inbox, to: { audience_id: `${p}-aud` } }, 3);
    expect(audience.messages.map((m) => m.recipient).sort()).toEqual(users);
    const mixed = await sendAndWait(s, { ...inbox, to: [{ list_id: `${p}.eng.alerts` }, { audience_id: `${p}-aud` }, { user_id: users[0] }] }, 3);
    expect(mixed.messages.map((m) => m.recipient).sort()).toEqual(users);
    expect([list, pattern, audience, mixed].flatMap((x) => x.messages).every(delivered)).toBe(true);
  });

  it('MEMBER_OF filters keep only members of the tenant', async () => {
    const p = uid('filter');
    const t = await aTenant(s, {}, 'acct');
    const list = await aList(s, [`${p}-in`, `${p}-out`]);
    await s.client.users.tenants.addSingle(t, { user_id: `${p}-in` });
    const { messages } = await sendAndWait(s, { ...inbox, to: { list_id: list, filters: [{ operator: 'MEMBER_OF', path: 'account_id', value: t }] } }, 1);
    expect(messages.map((m) => m.recipient)).toEqual([`${p}-in`]);
    // The fan-out has finished, and made nothing for the subscriber outside the tenant.
    await s.quiesce();
    expect((await s.client.messages.list({ recipient: `${p}-out` })).results).toEqual([]);
  });
});

describe('delivery', () => {
  it('delivers an inline email-only recipient with no profile', async () => {
    const email = `${uid('inline')}@example.test`;
    const { messages } = await sendAndWait(s, { to: { email }, content: { title: 'T', body: 'B' }, routing: via('email') }, 1);
    expect(messages.map((m) => [m.recipient, m.status])).toEqual([[email, 'SENT']]);
  });

  it('creates a missing profile from the inline fields, and never changes an existing one', async () => {
    const u = uid('implicit');
    await sendAndWait(s, { ...inbox, to: { user_id: u, email: `${u}@x.test`, plan: 'trial' } }, 1);
    expect((await s.client.profiles.retrieve(u)).profile).toEqual({ email: `${u}@x.test`, plan: 'trial' });
    await sendAndWait(s, { ...inbox, to: { user_id: u, email: 'other@x.test' } }, 1);
    expect((await s.client.profiles.retrieve(u)).profile?.email).toBe(`${u}@x.test`);
  });

  it("renders data, profile and tenant variables; a single send's requestId is its message id", async () => {
    const u = uid('render');
    const t = uid('brandco');
    await s.client.brands.create({ id: `${t}-brand`, name: 'BrandCo', settings: { colors: { primary: '#123456' } } });
    await s.client.tenants.update(t, { name: 'BrandCo', brand_id: `${t}-brand`, properties: { plan: 'gold' }, user_profile: { company: 'BrandCo Inc' } });
    await s.client.profiles.replace(u, { profile: { email: `${u}@x.test`, name: 'Ada' } });
    await s.client.users.tenants.addSingle(t, { user_id: u });
    const { requestId, messages } = await sendAndWait(
      s,
      {
        to: { user_id: u },
        content: { title: 'Order {{order_id}}', body: 'Hi {{profile.name}} of {{profile.company}} ({{tenant.properties.plan}}, {{tenant.name}}) {{missing}}!' },
        data: { order_id: 42 },
        routing: { method: 'single', channels: ['email'] },
      },
      1,
    );
    const [m] = messages;
    expect(m.id).toBe(requestId);
    const text = await rendered(s, m.id);
    expect(text).toContain('Order 42');
    expect(text).toContain('Hi Ada of BrandCo Inc (gold, BrandCo) !');
    expect(m.tenant_id).toBe(t);
    const out = await s.client.messages.content(m.id);
    expect(JSON.stringify(out)).toContain('#123456');
    const history = await s.client.messages.history(m.id);
    expect((history.results ?? []).map((e) => e.type)).toEqual(expect.arrayContaining(['ENQUEUED', 'ROUTED', 'RENDERED', 'SENT']));
  });

  it('renders the seed merge example exactly (tenant < stored profile < inline)', async () => {
    const t = uid('merge');
    const u = uid('merge-user');
    await s.client.tenants.update(t, { name: 'm', user_profile: { key1: 'value1', key2: 'valueA', key3: 'X', foo: 'bar' } });
    await s.client.profiles.replace(u, { profile: { key2: 'valueB', key4: 'Y', foo: 'baz' } });
    const { messages } = await sendAndWait(
      s,
      {
        to: { user_id: u, key2: 'valueC', key5: true },
        context: { tenant_id: t },
        content: { body: '{{profile.foo}}|{{profile.key1}}|{{profile.key2}}|{{profile.key3}}|{{profile.key4}}|{{profile.key5}}' },
        routing: { method: 'single', channels: ['inbox'] },
      },
      1,
    );
    expect(await rendered(s, messages[0].id, 'inbox')).toContain('baz|value1|valueC|X|Y|true');
  });

  it('a two-membership user with a tenant/<id> template ends UNROUTABLE: Tenant Context Not Found', async () => {
    const u = uid('two');
    const [a, b] = [await aTenant(s, {}, 'ta'), await aTenant(s, {}, 'tb')];
    for (const t of [a, b]) {
      await s.client.users.tenants.addSingle(t, { user_id: u });
      await s.client.tenants.templates.replace('welcome', {
        tenant_id: t,
        template: { content: { version: '2022-01-01', elements: [{ type: 'text', content: `welcome from ${t}` } as never] } },
        published: true,
      });
    }
    await s.client.profiles.replace(u, { profile: { name: 'two' } });
    const ambiguous = await sendAndWait(s, { to: { user_id: u }, template: 'tenant/welcome', routing: via('inbox') }, 1);
    expect(ambiguous.messages[0]).toMatchObject({ status: 'UNROUTABLE', reason: 'TENANT_CONTEXT_NOT_FOUND', error: 'Tenant Context Not Found' });
    const named = await sendAndWait(s, { to: { user_id: u }, template: 'tenant/welcome', context: { tenant_id: b }, routing: via('inbox') }, 1);
    expect(await rendered(s, named.messages[0].id, 'inbox')).toContain(`welcome from ${b}`);
  });

  it('ends UNMAPPED for an unknown template, UNROUTABLE when no channel is reachable, and falls back from email to sms', async () => {
    const u = uid('routes');
    await s.client.profiles.replace(u, { profile: { phone_number: '+15550123' } });
    const unmapped = await sendAndWait(s, { to: { user_id: u }, template: uid('nope') }, 1);
    expect(unmapped.messages[0].status).toBe('UNMAPPED');
    const none = await sendAndWait(s, { to: { user_id: u }, content: { body: 'x' }, routing: via('email', 'push') }, 1);
    expect([none.messages[0].status, none.messages[0].reason]).toEqual(['UNROUTABLE', 'NO_CHANNELS']);
    const fallback = await sendAndWait(s, { to: { user_id: u }, content: { body: 'sms body' }, routing: via('email', 'sms') }, 1);
    expect(fallback.messages[0]).toMatchObject({ status: 'SENT', channel: 'sms' });
    expect(await rendered(s, fallback.messages[0].id, 'sms')).toContain('sms body');
  });

  it('filters opted-out users (no provider called) and sends on exactly the custom-routing channels', async () => {
    const topic = uid('alerts');
    const parent = uid('parent');
    const child = uid('child');
    await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Alerts', default_status: 'OPTED_IN' });
    await s.client.tenants.update(parent, {
      name: 'p',
      default_preferences: { items: [{ id: topic, status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email'] }] },
    });
    await s.client.tenants.update(child, {
      name: 'c',
      parent_tenant_id: parent,
      default_preferences: { items: [{ id: topic, status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email', 'sms'] }] },
    });
    const [u, v] = [uid('in'), uid('out')];
    for (const x of [u, v]) await s.client.profiles.replace(x, { profile: { email: `${x}@x.test`, phone_number: '+15550199' } });
    await s.client.users.preferences.updateOrCreateTopic(topic, { user_id: v, tenant_id: child, topic: { status: 'OPTED_OUT' } });
    const extra = {
      content: { body: 'alert' },
      routing: { method: 'single', channels: ['inbox'] },
      context: { tenant_id: child },
      preferences: { subscription_topic_id: topic },
    };

    const ok = await sendAndWait(s, { ...extra, to: { user_id: u } }, 1);
    const out = await s.client.messages.content(ok.messages[0].id);
    expect((out.results ?? []).map((r) => r.channel).sort()).toEqual(['email', 'sms']);

    const filtered = await sendAndWait(s, { ...extra, to: { user_id: v } }, 1);
    expect([filtered.messages[0].status, filtered.messages[0].reason]).toEqual(['FILTERED', 'UNSUBSCRIBED']);
    const history = await s.client.messages.history(filtered.messages[0].id);
    expect(history.results?.find((e) => e.type === 'FILTERED')).toMatchObject({ deciding_layer: 'user_tenant', topic_id: topic });
    expect((await s.client.messages.content(filtered.messages[0].id)).results).toEqual([]);
    expect(s.captures().filter((c) => c.messageId === filtered.messages[0].id)).toEqual([]);
  });

  it('refuses unknown message ids with 404', async () => {
    expect((await s.http('GET', '/messages/nope')).status).toBe(404);
    expect((await s.http('GET', '/messages/0000000000000000000000/history')).status).toBe(404);
  });
});
