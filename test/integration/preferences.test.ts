import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

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
  });

  it('refuses a bad preference body naming the field', async () => {
    const res = await s.http('PUT', '/users/u/preferences/t', { topic: { status: 'SOMETIMES' } });
    expect([res.status, res.json.message]).toEqual([400, expect.stringContaining('body.topic.status')]);
  });
});
