import { now } from '../../lambdas/shared/clock';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';
import { INBOX_READ, issueToken } from '../helpers/tokens';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

describe('subscription topics and user preferences', () => {
  it('stores topics and lists them', async () => {
    const topic = uid('news');
    const put = await s.http('PUT', `/preferences/topics/${topic}`, { name: 'News', default_status: 'OPTED_OUT' });
    expect(put.json).toMatchObject({ id: topic, name: 'News', default_status: 'OPTED_OUT' });
    expect((await s.http('GET', `/preferences/topics/${topic}`)).json.default_status).toBe('OPTED_OUT');
    expect((await s.http('GET', '/preferences/topics')).json.results.map((t: { id: string }) => t.id)).toContain(topic);
    expect((await s.http('PUT', `/preferences/topics/${topic}`, { name: 'x', default_status: 'MAYBE' })).json.message).toMatch(/body\.default_status/);
  });

  it('keeps global and per-tenant preferences apart and reports default_status per layer', async () => {
    const topic = uid('alerts');
    const t = uid('tenant');
    const u = uid('user');
    await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Alerts', default_status: 'OPTED_IN' });
    await s.client.tenants.update(t, { name: 't', default_preferences: { items: [{ id: topic, status: 'OPTED_OUT' }] } });

    expect((await s.client.users.preferences.retrieveTopic(topic, { user_id: u })).topic).toEqual({
      topic_id: topic,
      topic_name: 'Alerts',
      status: 'OPTED_IN',
      default_status: 'OPTED_IN',
      has_custom_routing: false,
      custom_routing: [],
    });
    expect((await s.client.users.preferences.retrieveTopic(topic, { user_id: u, tenant_id: t })).topic).toMatchObject({
      status: 'OPTED_OUT',
      default_status: 'OPTED_OUT',
    });

    await s.client.users.preferences.updateOrCreateTopic(topic, { user_id: u, topic: { status: 'OPTED_OUT' } });
    await s.client.users.preferences.updateOrCreateTopic(topic, {
      user_id: u,
      tenant_id: t,
      topic: { status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email', 'sms'] },
    });
    const global = await s.client.users.preferences.retrieveTopic(topic, { user_id: u });
    const perTenant = await s.client.users.preferences.retrieveTopic(topic, { user_id: u, tenant_id: t });
    expect([global.topic.status, perTenant.topic.status, perTenant.topic.custom_routing]).toEqual(['OPTED_OUT', 'OPTED_IN', ['email', 'sms']]);

    const all = await s.client.users.preferences.retrieve(u, { tenant_id: t });
    expect(all.paging).toEqual({ cursor: null, more: false });
    expect(all.items.find((i) => i.topic_id === topic)).toMatchObject({ status: 'OPTED_IN', default_status: 'OPTED_OUT' });
  });

  it('explains every layer and the deciding one', async () => {
    const topic = uid('security');
    const parent = uid('parent');
    const child = uid('child');
    const u = uid('user');
    await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Security', default_status: 'REQUIRED' });
    await s.client.tenants.update(parent, {
      name: 'p',
      default_preferences: { items: [{ id: topic, status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email'] }] },
    });
    await s.client.tenants.update(child, { name: 'c', parent_tenant_id: parent });
    await s.client.users.preferences.updateOrCreateTopic(topic, { user_id: u, topic: { status: 'OPTED_OUT' } });
    await s.client.users.preferences.updateOrCreateTopic(topic, { user_id: u, tenant_id: child, topic: { status: 'OPTED_OUT' } });

    const res = await s.http('GET', `/users/${u}/preferences/${topic}/explain?tenant_id=${child}`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      user_id: u,
      topic_id: topic,
      tenant_id: child,
      loaded_tenants: [parent, child],
      deliver: true,
      customRouting: ['email'],
    });
    // In the order they apply with a tenant context (SPEC section 5, revised): the user's global choice before the tenants'.
    expect(res.json.layers.map((l: { layer: string; applied: boolean; reason?: string }) => [l.layer, l.applied, l.reason])).toEqual([
      ['workspace', true, undefined],
      ['user', false, 'REQUIRED cannot be opted out: the workspace topic is REQUIRED'],
      ['ancestor_tenant', true, undefined],
      ['tenant', false, 'sets neither status nor custom routing'],
      ['user_tenant', false, 'REQUIRED cannot be opted out: the workspace topic is REQUIRED'],
    ]);
    const noContext = await s.http('GET', `/users/${u}/preferences/${topic}/explain`);
    expect(noContext.json).toMatchObject({ tenant_id: null, loaded_tenants: [], status: 'REQUIRED', deliver: true });
    expect((await s.http('GET', `/users/${u}/preferences/${topic}/explain?tenant_id=${uid('missing')}`)).status).toBe(404);
  });

  it('keeps a global opt-out in the tenant context of a single-tenant user when the tenant sets nothing for the topic (SPEC 5, revised)', async () => {
    const topic = uid('digest');
    const tenant = uid('acme');
    const [quiet, other] = [uid('quiet'), uid('other')];
    await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Digest', default_status: 'OPTED_IN' });
    await s.client.tenants.update(tenant, { name: 'Acme' });
    for (const u of [quiet, other]) await s.client.users.tenants.addSingle(tenant, { user_id: u } as never);
    await s.client.users.preferences.updateOrCreateTopic(topic, { user_id: quiet, topic: { status: 'OPTED_OUT' } });
    const send = (u: string) =>
      sendAndWait(
        s,
        {
          to: { user_id: u },
          content: { title: 'Digest', body: 'x' },
          routing: { method: 'single', channels: ['inbox'] },
          preferences: { subscription_topic_id: topic },
        },
        1,
      );
    // The context is inferred from the one membership; before the revision the global opt-out was ignored there.
    expect((await send(quiet)).messages[0]).toMatchObject({ status: 'FILTERED', tenant_id: tenant });
    expect((await send(other)).messages[0]).toMatchObject({ status: 'DELIVERED', tenant_id: tenant });
    // A tenant default that sets the topic still beats the global choice for that tenant's messages.
    const opting = uid('opting');
    const quiet2 = uid('quiet');
    await s.client.tenants.update(opting, { name: 'Opting', default_preferences: { items: [{ id: topic, status: 'OPTED_IN' }] } });
    await s.client.users.tenants.addSingle(opting, { user_id: quiet2 } as never);
    await s.client.users.preferences.updateOrCreateTopic(topic, { user_id: quiet2, topic: { status: 'OPTED_OUT' } });
    expect((await send(quiet2)).messages[0]).toMatchObject({ status: 'DELIVERED', tenant_id: opting });
    // What the users' inboxes hold: the opted-out user's is empty, the others' have the message.
    const inboxOf = async (u: string) => {
      const token = await issueToken(s, `user_id:${u} ${INBOX_READ}`);
      return ((await s.http('GET', '/inbox/messages', undefined, { key: token })).json.results as { title: string }[]).map((m) => m.title);
    };
    expect(await inboxOf(quiet)).toEqual([]);
    expect(await inboxOf(other)).toEqual(['Digest']);
    expect(await inboxOf(quiet2)).toEqual(['Digest']);
  });

  it('refuses a bad preference body naming the field', async () => {
    const res = await s.http('PUT', '/users/u/preferences/t', { topic: { status: 'SOMETIMES' } });
    expect([res.status, res.json.message]).toEqual([400, expect.stringContaining('body.topic.status')]);
  });
});

/** Issue 15 item 2: RecipientPreferences (to.preferences, list and subscription preferences) at send time, asserted on what the captures received. */
describe('recipient, list and subscription preferences at send time', () => {
  /** A published template (mapped to `topic` when given) with one text element. */
  async function aTemplate(topic?: string): Promise<string> {
    const created = await s.client.notifications.create({
      notification: {
        name: uid('prefs'),
        tags: [],
        brand: null,
        subscription: topic ? { topic_id: topic } : null,
        routing: null,
        content: { version: '2022-01-01', elements: [{ type: 'text', content: 'hello {{name}}' }] },
      },
      state: 'PUBLISHED',
    } as never);
    return created.id;
  }
  async function aUser(prefix: string): Promise<string> {
    const u = uid(prefix);
    await s.client.profiles.replace(u, { profile: { email: `${u}@x.test`, phone_number: '+15550142' } });
    return u;
  }
  const channelsReceived = (messageId: string) =>
    s
      .captures()
      .filter((c) => c.messageId === messageId)
      .map((c) => c.channel)
      .sort();
  const filteredEvent = async (messageId: string) => (await s.client.messages.history(messageId)).results?.find((e) => e.type === 'FILTERED');
  const both = { method: 'all', channels: ['email', 'sms'] };

  it("limits delivery to the channels of the user's channel_preferences (to.preferences keyed by the topic)", async () => {
    const topic = uid('ship');
    await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Shipping', default_status: 'OPTED_IN' });
    const u = await aUser('chan');
    const send = (preferences?: unknown) =>
      sendAndWait(
        s,
        {
          to: { user_id: u, ...(preferences ? { preferences } : {}) },
          content: { body: 'shipped' },
          routing: both,
          preferences: { subscription_topic_id: topic },
        },
        1,
      );
    const plain = await send();
    expect(channelsReceived(plain.messages[0].id)).toEqual(['email', 'sms']);
    const chosen = await send({ notifications: { [topic]: { status: 'OPTED_IN', channel_preferences: [{ channel: 'sms' }] } } });
    expect(chosen.messages[0]).toMatchObject({ status: 'SENT', channel: 'sms' });
    expect(channelsReceived(chosen.messages[0].id)).toEqual(['sms']);
    // The user's stored custom routing limits it the same way; the inline choice, given later, replaces it.
    await s.client.users.preferences.updateOrCreateTopic(topic, {
      user_id: u,
      topic: { status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email'] },
    });
    expect(channelsReceived((await send()).messages[0].id)).toEqual(['email']);
    const smsOnly = { notifications: { [topic]: { status: 'OPTED_IN', channel_preferences: [{ channel: 'sms' }] } } };
    expect(channelsReceived((await send(smsOnly)).messages[0].id)).toEqual(['sms']);
    // Explain with the same to.preferences shows the channel choice as the recipient layer's routing.
    const explained = await s.http('POST', `/users/${u}/preferences/${topic}/explain`, { preferences: smsOnly });
    expect(explained.json.layers.at(-1)).toMatchObject({ layer: 'recipient', applied: true });
    expect(JSON.stringify(explained.json)).toContain('"sms"');
  });

  it('filters a recipient inside a snooze window (nothing delivered) and delivers once the window is over', async () => {
    const template = await aTemplate();
    const u = await aUser('snooze');
    const t = now();
    const window = { start: new Date(t - 60_000).toISOString(), until: new Date(t + 3_600_000).toISOString() };
    const send = (rules: unknown[]) =>
      sendAndWait(s, { to: { user_id: u, preferences: { notifications: { [template]: { status: 'OPTED_IN', rules } } } }, template, routing: both }, 1);
    const snoozed = await send([window]);
    expect([snoozed.messages[0].status, snoozed.messages[0].reason]).toEqual(['FILTERED', 'FILTERED']);
    expect(await filteredEvent(snoozed.messages[0].id)).toMatchObject({ deciding_layer: 'recipient', key: template, snoozed_until: window.until });
    expect(channelsReceived(snoozed.messages[0].id)).toEqual([]);
    const over = await send([{ start: new Date(t - 7_200_000).toISOString(), until: new Date(t - 3_600_000).toISOString() }]);
    expect(over.messages[0].status).toBe('SENT');
    expect(channelsReceived(over.messages[0].id)).toEqual(['email', 'sms']);

    // Explain shows the window at the time asked (?at=): inside it no delivery, naming its end and layer; after it, delivery.
    const topic = uid('snoozed');
    await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Snoozed', default_status: 'OPTED_IN' });
    const preferences = { notifications: { [template]: { status: 'OPTED_IN', rules: [window] } } };
    const at = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
    const inside = await s.http('POST', `/users/${u}/preferences/${topic}/explain?template=${template}&at=${at(t)}`, { preferences });
    expect(inside.json).toMatchObject({ status: 'OPTED_IN', deliver: false, snooze: { until: window.until, layer: 'recipient' } });
    const after = await s.http('POST', `/users/${u}/preferences/${topic}/explain?template=${template}&at=${at(t + 2 * 3_600_000)}`, { preferences });
    expect(after.json).toMatchObject({ status: 'OPTED_IN', deliver: true });
    expect(after.json.snooze).toBeUndefined();
  });

  it('ends a recipient whose to.preferences opt out of the template FILTERED with the deciding layer, and explain shows that layer', async () => {
    const topic = uid('promo');
    await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Promo', default_status: 'OPTED_IN' });
    const template = await aTemplate(topic);
    const [u, v] = [await aUser('inline'), await aUser('other')];
    const preferences = { notifications: { [template]: { status: 'OPTED_OUT', source: 'recipient' } } };
    const { messages } = await sendAndWait(s, { to: [{ user_id: u, preferences }, { user_id: v }], template, routing: both }, 2);
    const byUser = Object.fromEntries(messages.map((m) => [m.recipient, m]));
    expect([byUser[u].status, byUser[u].reason]).toEqual(['FILTERED', 'UNSUBSCRIBED']);
    expect(await filteredEvent(byUser[u].id)).toMatchObject({ deciding_layer: 'recipient', key: template, topic_id: topic });
    expect(channelsReceived(byUser[u].id)).toEqual([]);
    expect(channelsReceived(byUser[v].id)).toEqual(['email', 'sms']);
    // templateId limits them to that template: another template's send is not affected.
    const elsewhere = await sendAndWait(s, { to: { user_id: u, preferences: { ...preferences, templateId: uid('else') } }, template, routing: both }, 1);
    expect(elsewhere.messages[0].status).toBe('SENT');

    const explained = await s.http('POST', `/users/${u}/preferences/${topic}/explain?template=${template}`, { preferences });
    expect(explained.json).toMatchObject({ status: 'OPTED_OUT', deliver: false, decidingLayer: 'recipient' });
    expect(explained.json.layers.at(-1)).toMatchObject({ layer: 'recipient', key: template, applied: true, set: { status: 'OPTED_OUT' } });
    // Nothing can match a category: refused, never ignored.
    const categories = await s.http('POST', '/send', {
      message: { to: { user_id: u, preferences: { notifications: {}, categories: { c: { status: 'OPTED_OUT' } } } }, template },
    });
    expect([categories.status, categories.json.message]).toEqual([
      400,
      expect.stringMatching(/body\.message\.to\.preferences\.categories: categories are not supported/),
    ]);
  });

  it('filters a list subscriber who opted out of the template and delivers to the rest; the list preferences are a default for its subscribers', async () => {
    const template = await aTemplate();
    const list = uid('list');
    const [quiet, smsOnly, plain] = [await aUser('quiet'), await aUser('smsonly'), await aUser('plain')];
    await s.client.lists.subscriptions.add(list, {
      recipients: [{ recipientId: quiet, preferences: { notifications: { [template]: { status: 'OPTED_OUT' } } } }, { recipientId: plain }],
    });
    await s.client.lists.subscriptions.subscribeUser(smsOnly, {
      list_id: list,
      preferences: { notifications: { [template]: { status: 'OPTED_IN', channel_preferences: [{ channel: 'sms' }] } } },
    });
    const first = await sendAndWait(s, { to: { list_id: list }, template, routing: both }, 3);
    const byUser = Object.fromEntries(first.messages.map((m) => [m.recipient, m]));
    expect([byUser[quiet].status, byUser[quiet].reason]).toEqual(['FILTERED', 'UNSUBSCRIBED']);
    expect(await filteredEvent(byUser[quiet].id)).toMatchObject({ deciding_layer: 'list_subscription', key: template });
    expect(channelsReceived(byUser[quiet].id)).toEqual([]);
    expect(channelsReceived(byUser[smsOnly].id)).toEqual(['sms']);
    expect(channelsReceived(byUser[plain].id)).toEqual(['email', 'sms']);
    // A send to the user directly is not a send through the list: the subscription's preferences do not apply.
    expect((await sendAndWait(s, { to: { user_id: quiet }, template, routing: both }, 1)).messages[0].status).toBe('SENT');

    // `to.preferences` on the list entry reach every recipient of that entry, after their subscriptions' choices.
    const inline = { notifications: { [template]: { status: 'OPTED_OUT' } } };
    const viaEntry = await sendAndWait(s, { to: { list_id: list, preferences: inline }, template, routing: both }, 3);
    expect(viaEntry.messages.map((m) => m.status)).toEqual(['FILTERED', 'FILTERED', 'FILTERED']);
    expect(await filteredEvent(viaEntry.messages.find((m) => m.recipient === smsOnly)!.id)).toMatchObject({ deciding_layer: 'recipient' });

    // A list that opts its subscribers out by default (set before any send: workers cache list preferences for CACHE_TTL_MS); a subscriber's own choice still beats it.
    const optOut = uid('list');
    await s.client.lists.update(optOut, { name: 'L', preferences: { notifications: { [template]: { status: 'OPTED_OUT' } } } });
    await s.client.lists.subscriptions.add(optOut, {
      recipients: [{ recipientId: plain }, { recipientId: smsOnly, preferences: { notifications: { [template]: { status: 'OPTED_IN' } } } }],
    });
    const second = await sendAndWait(s, { to: { list_id: optOut }, template, routing: both }, 2);
    const after = Object.fromEntries(second.messages.map((m) => [m.recipient, m]));
    expect([after[plain].status, after[smsOnly].status]).toEqual(['FILTERED', 'SENT']);
    expect(await filteredEvent(after[plain].id)).toMatchObject({ deciding_layer: 'list', key: template });
    expect(channelsReceived(after[plain].id)).toEqual([]);

    const topic = uid('topic');
    const explain = async (l: string) => (await s.http('GET', `/users/${smsOnly}/preferences/${topic}/explain?list_id=${l}&template=${template}`)).json;
    const fromFirst = await explain(list);
    expect(fromFirst).toMatchObject({ list_id: list, subscribed: true, deliver: true, decidingLayer: 'list_subscription', customRouting: ['sms'] });
    expect(fromFirst.layers.map((l: { layer: string }) => l.layer)).toEqual(['workspace', 'tenant', 'user', 'user_tenant', 'list_subscription']);
    const fromOptOut = await explain(optOut);
    expect(fromOptOut).toMatchObject({ list_id: optOut, deliver: true, decidingLayer: 'list_subscription' });
    expect(fromOptOut.layers.map((l: { layer: string; applied: boolean }) => [l.layer, l.applied])).toEqual([
      ['workspace', false],
      ['list', true],
      ['tenant', false],
      ['user', false],
      ['user_tenant', false],
      ['list_subscription', true],
    ]);
  });

  it('refuses preference bodies that are not RecipientPreferences, naming the field, and changes nothing', async () => {
    const list = uid('list');
    const bad = await s.http('PUT', `/lists/${list}/subscriptions/u1`, { preferences: { notifications: { t: { status: 'SOMETIMES' } } } });
    expect([bad.status, bad.json.message]).toEqual([400, expect.stringContaining('body.preferences.notifications.t.status')]);
    const rule = await s.http('POST', `/lists/${list}/subscriptions`, {
      recipients: [{ recipientId: 'u1', preferences: { notifications: { t: { status: 'OPTED_IN', rules: [{ start: '2026-01-01T00:00:00Z' }] } } } }],
    });
    expect([rule.status, rule.json.message]).toEqual([400, expect.stringContaining('body.recipients.0.preferences.notifications.t.rules.0.until')]);
    const categories = await s.http('PUT', `/lists/${list}`, { name: 'x', preferences: { categories: { c: { status: 'OPTED_OUT' } } } });
    expect([categories.status, categories.json.message]).toEqual([400, expect.stringContaining('body.preferences.categories: categories are not supported')]);
    const viaProfile = await s.http('POST', '/profiles/u1/lists', {
      lists: [{ listId: list, preferences: { notifications: { t: { status: 'OPTED_IN', channel_preferences: [{ channel: 'fax' }] } } } }],
    });
    expect([viaProfile.status, viaProfile.json.message]).toEqual([
      400,
      expect.stringContaining('body.lists.0.preferences.notifications.t.channel_preferences.0.channel'),
    ]);
    expect((await s.http('GET', `/lists/${list}`)).status).toBe(404);
  });
});
