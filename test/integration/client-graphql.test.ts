import { CourierClient } from '@trycourier/courier-js';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Courier's own browser client (`@trycourier/courier-js` 3.4.0, unmodified) against POST /client/q
 * and /client/lists: its preferences, preference page, brand and list calls, with a user token.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

const ALL = 'read:preferences write:preferences read:brands';

async function token(scope: string, expires = '1h'): Promise<string> {
  const res = await s.http('POST', '/auth/issue-token', { scope, expires_in: expires });
  expect(res.status).toBe(200);
  return res.json.token as string;
}

const clientFor = (userId: string, jwt: string, tenantId?: string) =>
  new CourierClient({
    userId,
    jwt,
    tenantId,
    apiUrls: { courier: { rest: s.url, graphql: `${s.url}/client/q` }, inbox: { graphql: `${s.url}/inbox/graphql`, webSocket: 'ws://127.0.0.1:1' } },
  });

/** A workspace of two topics (one REQUIRED), a tenant whose default opts out of the first, and a brand. */
async function workspace() {
  const news = uid('news');
  const sec = uid('sec');
  const acme = uid('acme');
  const brand = uid('brand');
  expect((await s.http('PUT', `/preferences/topics/${news}`, { name: 'News', default_status: 'OPTED_IN' })).status).toBe(200);
  expect((await s.http('PUT', `/preferences/topics/${sec}`, { name: 'Security', default_status: 'REQUIRED' })).status).toBe(200);
  const created = await s.http('POST', '/brands', {
    id: brand,
    name: 'Acme brand',
    settings: {
      colors: { primary: '#112233', secondary: '#445566', tertiary: '#778899' },
      email: { header: { barColor: '#000000', logo: { href: 'https://acme.test', image: 'https://acme.test/logo.png' } } },
      inapp: { borderRadius: '12px', disableCourierFooter: true },
    },
  });
  expect(created.status).toBe(200);
  await s.client.tenants.update(acme, { name: 'Acme', brand_id: brand, default_preferences: { items: [{ id: news, status: 'OPTED_OUT' }] } });
  return { news, sec, acme, brand };
}

describe('courier-js preferences against /client/q', () => {
  it('lists every topic with its layered status, reads one, and stores a toggle that the next send obeys', async () => {
    const { news, sec } = await workspace();
    const user = uid('user');
    const client = clientFor(user, await token(`user_id:${user} ${ALL}`));

    const all = await client.preferences.getUserPreferences();
    expect(all.paging.more).toBe(false);
    expect(all.items.find((t) => t.topicId === news)).toEqual({
      topicId: news,
      topicName: 'News',
      sectionId: '',
      sectionName: '',
      status: 'OPTED_IN',
      defaultStatus: 'OPTED_IN',
      hasCustomRouting: false,
      customRouting: [],
      digestSchedule: null,
    });
    expect(all.items.find((t) => t.topicId === sec)).toMatchObject({ status: 'REQUIRED', defaultStatus: 'REQUIRED' });
    await expect(client.preferences.getUserPreferenceTopic({ topicId: uid('missing') })).rejects.toThrow(/Preference topic not found/);

    const updated = await client.preferences.putUserPreferenceTopic({
      topicId: news,
      status: 'OPTED_OUT',
      hasCustomRouting: true,
      customRouting: ['email', 'push'],
    });
    expect(updated).toMatchObject({ topicId: news, status: 'OPTED_OUT', defaultStatus: 'OPTED_IN', hasCustomRouting: true, customRouting: ['email', 'push'] });
    expect(await client.preferences.getUserPreferenceTopic({ topicId: news })).toMatchObject({ status: 'OPTED_OUT', customRouting: ['email', 'push'] });
    // Stored where the admin API reads it.
    const rest = await s.client.users.preferences.retrieveTopic(news, { user_id: user });
    expect(rest.topic).toMatchObject({ status: 'OPTED_OUT', has_custom_routing: true, custom_routing: ['email', 'push'] });

    const sent = await sendAndWait(
      s,
      {
        to: { user_id: user },
        content: { title: 'News', body: 'x' },
        routing: { method: 'single', channels: ['inbox'] },
        preferences: { subscription_topic_id: news },
      },
      1,
    );
    expect(sent.messages[0].status).toBe('FILTERED');

    // Back in: the next send is delivered.
    await client.preferences.putUserPreferenceTopic({ topicId: news, status: 'OPTED_IN', hasCustomRouting: false, customRouting: [] });
    const again = await sendAndWait(
      s,
      {
        to: { user_id: user },
        content: { title: 'News', body: 'y' },
        routing: { method: 'single', channels: ['inbox'] },
        preferences: { subscription_topic_id: news },
      },
      1,
    );
    expect(again.messages[0].status).toBe('DELIVERED');
  });

  it('refuses to opt out of a REQUIRED topic, and digest schedules, as GraphQL errors that change nothing', async () => {
    const { sec, news } = await workspace();
    const user = uid('user');
    const jwt = await token(`user_id:${user} ${ALL}`);
    const post = (query: string) => s.http('POST', '/client/q', { query }, { key: jwt });
    const required = await post(`mutation { updatePreferenceV2(templateId: "${sec}", preferences: { status: OPTED_OUT }) { status } }`);
    expect(required.status).toBe(200);
    expect(required.json).toMatchObject({ data: { updatePreferenceV2: null }, errors: [{ message: `Topic ${sec} is REQUIRED: it cannot be opted out` }] });
    const digests = await post(`{ digestSchedulesForTopic(templateId: "${news}") { scheduleId } }`);
    expect(digests.json.errors[0]).toMatchObject({
      message: 'Not supported: digest schedules are not supported by this server',
      extensions: { code: 'NOT_SUPPORTED' },
    });
    const unknownField = await post('{ recipientPreferences { nodes { secret } } }');
    expect([unknownField.status, unknownField.json.data, unknownField.json.errors[0].message]).toEqual([
      200,
      undefined,
      'Cannot query field "secret" on type "RecipientPreference".',
    ]);
    expect((await s.client.users.preferences.retrieve(user)).items.find((i) => i.topic_id === sec)).toMatchObject({ status: 'REQUIRED' });
  });

  it('gives a tenant-scoped token the tenant default, stores its toggles for that tenant, and keeps it to its tenant', async () => {
    const { news, acme } = await workspace();
    const user = uid('user');
    const jwt = await token(`user_id:${user} tenant_id:${acme} ${ALL}`);
    const client = clientFor(user, jwt, acme);

    expect((await client.preferences.getUserPreferences()).items.find((t) => t.topicId === news)).toMatchObject({
      status: 'OPTED_OUT',
      defaultStatus: 'OPTED_OUT',
    });
    await client.preferences.putUserPreferenceTopic({ topicId: news, status: 'OPTED_IN', hasCustomRouting: false, customRouting: [] });
    expect((await s.client.users.preferences.retrieveTopic(news, { user_id: user, tenant_id: acme })).topic).toMatchObject({ status: 'OPTED_IN' });
    // The user's global layer is untouched.
    expect((await s.http('GET', `/users/${user}/preferences`)).json.items.find((i: { topic_id: string }) => i.topic_id === news)).toMatchObject({
      status: 'OPTED_IN',
      default_status: 'OPTED_IN',
    });
    const sent = await sendAndWait(
      s,
      {
        to: { user_id: user, tenant_id: acme },
        content: { title: 'News', body: 'x' },
        routing: { method: 'single', channels: ['inbox'] },
        preferences: { subscription_topic_id: news },
      },
      1,
    );
    expect(sent.messages[0]).toMatchObject({ status: 'DELIVERED', tenant_id: acme });

    // Another tenant through the client's own tenantId: a GraphQL error, no data.
    const other = clientFor(user, jwt, uid('other'));
    expect((await other.preferences.getUserPreferences()).items).toEqual([]);
    const raw = await s.http('POST', '/client/q', { query: '{ recipientPreferences(accountId: "elsewhere") { nodes { templateId } } }' }, { key: jwt });
    expect(raw.json).toEqual({
      data: null,
      errors: [expect.objectContaining({ message: 'Forbidden: the token is scoped to another tenant than elsewhere', extensions: { code: 'FORBIDDEN' } })],
    });
  });

  it("serves the preference page: the topics with the tenant's default status and the tenant's brand", async () => {
    const { news, sec, acme } = await workspace();
    const user = uid('user');
    const client = clientFor(user, await token(`user_id:${user} read:preferences`));
    const page = await client.preferences.getPreferencePage({ accountId: acme });
    expect(page).not.toBeNull();
    expect(page!.showCourierFooter).toBe(false);
    expect(page!.brand).toEqual({
      settings: { colors: { primary: '#112233' } },
      links: null,
      logo: { href: 'https://acme.test', image: 'https://acme.test/logo.png' },
    });
    expect(page!.channelConfigs).toBeNull();
    expect(page!.sections).toHaveLength(1);
    const topics = page!.sections[0].topics;
    expect(topics.find((t) => t.templateId === news)).toEqual({
      templateId: news,
      templateName: 'News',
      defaultStatus: 'OPTED_OUT',
      data: null,
      digestSchedules: undefined,
    });
    expect(topics.find((t) => t.templateId === sec)).toMatchObject({ defaultStatus: 'REQUIRED' });
    expect(page!.recipientPreferences.find((p) => p.templateId === news)).toMatchObject({ status: 'OPTED_OUT' });
  });
});

describe('courier-js brands against /client/q', () => {
  it('answers the fields the client selects from the stored brand, null where the brand sets nothing', async () => {
    const { brand } = await workspace();
    const user = uid('user');
    const client = clientFor(user, await token(`user_id:${user} read:brands:${brand}`));
    expect(await client.brands.getBrand({ brandId: brand })).toEqual({
      settings: {
        colors: { primary: '#112233', secondary: '#445566', tertiary: '#778899' },
        inapp: { borderRadius: '12px', disableCourierFooter: true },
      },
      logo: { href: 'https://acme.test', image: 'https://acme.test/logo.png' },
      links: null,
    });
    expect(await client.brands.getBrand({ brandId: uid('missing') })).toBeNull();
    // read:brands:<id> reaches that brand only.
    const other = await s.http(
      'POST',
      '/client/q',
      { query: '{ brand(brandId: "elsewhere") { links } }' },
      { key: await token(`user_id:${user} read:brands:${brand}`) },
    );
    expect(other.json.errors[0].message).toBe('Forbidden: the token lacks the read:brands scope');
  });
});

describe('courier-js lists against /client/lists', () => {
  it("subscribes and unsubscribes the token's user to an existing list only", async () => {
    const list = uid('list');
    await s.client.lists.update(list, { name: 'Updates' });
    const user = uid('user');
    const client = clientFor(user, await token(`user_id:${user} write:preferences`));
    await client.lists.putSubscription({ listId: list, clientKey: 'unused' });
    expect((await s.client.lists.subscriptions.list(list)).items.map((i) => i.recipientId)).toEqual([user]);
    await client.lists.deleteSubscription({ listId: list, clientKey: 'unused' });
    expect((await s.client.lists.subscriptions.list(list)).items).toEqual([]);
    await expect(client.lists.putSubscription({ listId: uid('nolist'), clientKey: 'unused' })).rejects.toMatchObject({ code: 404 });
    const jwt = await token(`user_id:${user} write:preferences`);
    expect((await s.http('PUT', `/client/lists/${list}/subscribe/someone-else`, undefined, { key: jwt })).status).toBe(403);
    const readOnly = clientFor(user, await token(`user_id:${user} read:preferences`));
    await expect(readOnly.lists.putSubscription({ listId: list, clientKey: 'unused' })).rejects.toMatchObject({ code: 403 });
  });
});

describe('tokens the endpoint refuses', () => {
  it('answers 401 for a missing, expired or forged token, 403 for a token of no one user', async () => {
    const user = uid('user');
    const query = { query: '{ recipientPreferences { nodes { templateId } } }' };
    expect((await s.http('POST', '/client/q', query, { key: null })).status).toBe(401);
    expect((await s.http('POST', '/client/q', query)).status).toBe(401); // the API key is not a user token
    const valid = await token(`user_id:${user} ${ALL}`);
    const [head, payload] = valid.split('.');
    const forged = `${head}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    const forgedRes = await s.http('POST', '/client/q', query, { key: forged });
    expect([forgedRes.status, forgedRes.json.type]).toEqual([401, 'authentication_error']);
    const expiring = await token(`user_id:${user} ${ALL}`, '1s');
    // Past its expiry on the stack's clock (lambdas/shared/clock.ts: tokens are issued and verified
    // by it), without waiting for it. The last test of the file: nothing after it minds the jump.
    (require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock')).advanceClock(2100);
    const expired = await s.http('POST', '/client/q', query, { key: expiring });
    expect([expired.status, expired.json.message]).toEqual([401, 'Unauthorized: the token has expired']);
    // courier-js surfaces the 401 as an error, never someone's data.
    await expect(clientFor(user, forged).preferences.getUserPreferences()).rejects.toMatchObject({ code: 401 });
    const noUser = await s.http('POST', '/client/q', query, { key: await token('read:preferences') });
    expect(noUser.status).toBe(403);
    const otherHeader = await s.http('POST', '/client/q', query, { key: valid, headers: { 'x-courier-user-id': 'someone-else' } });
    expect([otherHeader.status, otherHeader.json.message]).toEqual([403, `Forbidden: x-courier-user-id someone-else is not the token's user`]);
  });
});
