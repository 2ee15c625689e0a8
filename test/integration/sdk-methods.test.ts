import { NotFoundError } from '@trycourier/courier';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';

/**
 * Issue 14: methods of the official SDK that had a route but no test driving them through the SDK
 * (sdk-coverage.test.ts lists what is left). Each is called as a team migrating from Courier calls
 * it, and its answer is checked against the SDK's types.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

describe('providers', () => {
  it('updates a provider (settings replaced whole) and lists the catalog in the SDK shape, filtered', async () => {
    const created = await s.client.providers.create({
      provider: 'smtp',
      alias: uid('smtp'),
      settings: { host: '127.0.0.1', port: 2525, from: 'a@example.test' },
    } as never);
    const updated = await s.client.providers.update(created.id, {
      provider: 'smtp',
      alias: 'renamed',
      settings: { host: 'mail.example.test', port: 587, from: 'b@example.test' },
    } as never);
    expect(updated).toMatchObject({ id: created.id, provider: 'smtp', alias: 'renamed', settings: { host: 'mail.example.test', port: 587 } });
    expect(await s.client.providers.retrieve(created.id)).toMatchObject({ alias: 'renamed' });
    await s.client.providers.delete(created.id);

    const catalog = await s.client.providers.catalog.list();
    expect(catalog.paging).toMatchObject({ more: false });
    const smtp = catalog.results.find((p) => p.provider === 'smtp')!;
    expect(smtp).toMatchObject({ provider: 'smtp', channel: 'email', name: expect.any(String), description: expect.any(String) });
    expect(
      Object.values(smtp.settings).every(
        (f) => typeof (f as { required: unknown }).required === 'boolean' && typeof (f as { type: unknown }).type === 'string',
      ),
    ).toBe(true);
    expect((await s.client.providers.catalog.list({ channel: 'EMAIL' })).results.every((p) => p.channel === 'email')).toBe(true);
    expect((await s.client.providers.catalog.list({ keys: 'smtp,ses' })).results.map((p) => p.provider).sort()).toEqual(['ses', 'smtp']);
    expect((await s.client.providers.catalog.list({ name: smtp.name.slice(1, 4).toLowerCase() })).results.map((p) => p.provider)).toContain('smtp');
  });
});

describe('auth', () => {
  it('issues a user token through the SDK', async () => {
    const { token } = await s.client.auth.issueToken({ scope: 'user_id:sdk-user inbox:read:messages', expires_in: '1h' });
    expect(token.split('.')).toHaveLength(3);
  });
});

describe('lists', () => {
  it('subscribes one user to a list through the SDK', async () => {
    const list = uid('sdk.list');
    const user = uid('sdk-user');
    await s.client.lists.subscriptions.subscribeUser(user, { list_id: list });
    const subs = await s.client.lists.subscriptions.list(list);
    expect(subs.items.map((i) => i.recipientId)).toEqual([user]);
  });
});

describe('notifications (templates)', () => {
  const content = {
    version: '2022-01-01',
    elements: [
      { type: 'meta', title: 'Hi' },
      { type: 'text', content: 'Order {{order_id}} shipped' },
    ],
  };

  it('creates, replaces, publishes, lists, retrieves, lists versions of and archives a template', async () => {
    const name = uid('Shipped');
    const created = await s.client.notifications.create({
      notification: { name, tags: ['orders'], brand: null, subscription: null, routing: null, content },
      state: 'DRAFT',
    } as never);
    expect(created).toMatchObject({ id: expect.any(String), name, state: 'DRAFT', created: expect.any(Number) });
    const replaced = await s.client.notifications.replace(created.id, {
      notification: { name: `${name} 2`, tags: ['orders'], brand: null, subscription: null, routing: null, content },
    } as never);
    expect(replaced).toMatchObject({ id: created.id, name: `${name} 2` });
    await s.client.notifications.publish(created.id);
    expect(await s.client.notifications.retrieve(created.id, { version: 'published' })).toMatchObject({ id: created.id, state: 'PUBLISHED' });
    const versions = await s.client.notifications.listVersions(created.id);
    expect(JSON.stringify(versions)).toContain('v1');
    const listed = await s.client.notifications.list();
    expect(JSON.stringify(listed)).toContain(created.id);
    await s.client.notifications.archive(created.id);
    await expect(s.client.notifications.retrieve(created.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('tenant templates', () => {
  it('retrieves a published version of a tenant template through the SDK', async () => {
    const tenant = uid('sdk-tenant');
    await s.client.tenants.update(tenant, { name: tenant });
    const template = uid('tpl');
    await s.client.tenants.templates.replace(template, {
      tenant_id: tenant,
      template: { content: { version: '2022-01-01', elements: [{ type: 'text', content: 'x' }] } },
      published: true,
    } as never);
    const published = await s.client.tenants.templates.retrieve(template, { tenant_id: tenant });
    const version = (published as { version?: string }).version!;
    expect(await s.client.tenants.templates.versions.retrieve(version, { tenant_id: tenant, template_id: template })).toMatchObject({ id: template, version });
  });
});

describe('profiles', () => {
  it('retrieves a profile with the user’s own preferences, as Courier’s ProfileRetrieveResponse carries them', async () => {
    const user = uid('sdk-prefs');
    const [quiet, picky] = [uid('topic'), uid('topic')];
    await s.client.profiles.replace(user, { profile: { email: 'ada@example.test' } });
    expect(await s.client.profiles.retrieve(user)).toEqual({ profile: { email: 'ada@example.test' }, preferences: { notifications: {} } });
    await s.client.users.preferences.updateOrCreateTopic(quiet, { user_id: user, topic: { status: 'OPTED_OUT' } });
    await s.client.users.preferences.updateOrCreateTopic(picky, {
      user_id: user,
      topic: { status: 'OPTED_IN', has_custom_routing: true, custom_routing: ['email', 'sms'] },
    });
    // A preference for one tenant is not the user's own: it stays out.
    const tenant = uid('t');
    await s.client.tenants.update(tenant, { name: tenant });
    await s.client.users.preferences.updateOrCreateTopic(uid('topic'), { user_id: user, tenant_id: tenant, topic: { status: 'OPTED_OUT' } });
    expect((await s.client.profiles.retrieve(user)).preferences).toEqual({
      notifications: {
        [quiet]: { status: 'OPTED_OUT' },
        [picky]: { status: 'OPTED_IN', channel_preferences: [{ channel: 'email' }, { channel: 'sms' }] },
      },
    });
  });
});

describe('brands', () => {
  it('accepts settings and snippets as the SDK sends them, nulls included, and uses them: snippets in templates, the template override as the layout', async () => {
    const brand = await s.client.brands.create({
      name: 'Acme',
      settings: {
        colors: { primary: '#ff6600', secondary: null as never },
        email: {
          footer: { content: null, inheritDefault: null },
          head: null,
          header: null,
          templateOverride: {
            enabled: true,
            header: '<div class="acme-header">Acme for {{profile.name}}</div>',
            footer: '<p class="acme-footer">{{>legal}}</p>',
            head: null,
            width: null,
            backgroundColor: '#000000',
            blocksBackgroundColor: null,
            mjml: { enabled: false },
            footerBackgroundColor: null,
            footerFullWidth: null,
          },
        },
        inapp: null,
      },
      snippets: { items: [{ name: 'legal', value: 'Acme Inc., {{city}}' }] },
    });
    expect(await s.client.brands.retrieve(brand.id)).toMatchObject({ id: brand.id, snippets: { items: [{ name: 'legal' }] } });

    const { messages } = await sendAndWait(
      s,
      {
        to: { email: 'ada@example.test' },
        brand_id: brand.id,
        data: { city: 'Lyon', name: 'Ada' },
        content: { title: 'Hi', body: 'Signed: {{>legal}}' },
        routing: { method: 'single', channels: ['email'] },
      },
      1,
    );
    const out = await s.client.messages.content(messages[0].id);
    const email = (out.results ?? []).find((r) => r.channel === 'email')!.content as unknown as { html: string; text: string };
    expect(email.text).toContain('Signed: Acme Inc., Lyon');
    expect(email.html).toContain('<p class="acme-footer">Acme Inc., Lyon</p>');
    expect(email.html).toContain('<div class="acme-header">Acme for </div>');
    expect(email.html).toContain('background:#000000');

    // An MJML layout is not something this renderer does: refused, naming the field, nothing stored.
    const mjml = await s.http('POST', '/brands', { name: 'M', settings: { email: { templateOverride: { enabled: true, mjml: { enabled: true } } } } });
    expect([mjml.status, mjml.json.message]).toEqual([400, expect.stringContaining('body.settings.email.templateOverride.mjml.enabled')]);
  });
});

describe('brand precedence (issue 15, seed 004)', () => {
  it('uses the send’s brand, else the tenant’s, else the template’s, else none', async () => {
    const [templateBrand, tenantBrand, sendBrand] = ['#111111', '#222222', '#333333'];
    const brandOf = async (color: string) => (await s.client.brands.create({ name: color, settings: { colors: { primary: color } } })).id;
    const [tb, nb, sb] = [await brandOf(templateBrand), await brandOf(tenantBrand), await brandOf(sendBrand)];
    const template = await s.client.notifications.create({
      notification: {
        name: 'Branded',
        tags: [],
        brand: { id: tb },
        content: { version: '2022-01-01', elements: [{ type: 'action', content: 'Go', href: 'https://x.test' }] },
      },
      state: 'PUBLISHED',
    } as never);
    const tenant = uid('branded');
    await s.client.tenants.update(tenant, { name: 'Branded', brand_id: nb });
    const html = async (to: Record<string, unknown>, brand_id?: string) => {
      const { messages } = await sendAndWait(
        s,
        { to, template: (template as { id: string }).id, ...(brand_id ? { brand_id } : {}), routing: { method: 'single', channels: ['email'] } },
        1,
      );
      const out = JSON.stringify(await s.client.messages.content(messages[0].id));
      // What the SMTP server received carries the same brand as the stored output.
      const mail = await eventually(
        async () => s.captures().find((c) => c.messageId === messages[0].id) as { html?: string } | undefined,
        (c) => c !== undefined,
      );
      for (const color of [templateBrand, tenantBrand, sendBrand]) expect(mail!.html?.includes(color)).toBe(out.includes(color));
      return out;
    };
    // The tenant's default brand beats the template's (it used to be the other way round); the send's beats both.
    expect(await html({ email: 'a@x.test', context: { tenant_id: tenant } })).toContain(tenantBrand);
    expect(await html({ email: 'a@x.test', context: { tenant_id: tenant } }, sb)).toContain(sendBrand);
    expect(await html({ email: 'a@x.test' })).toContain(templateBrand);
  });
});

describe('routing naming providers this stack does not have (issue 15)', () => {
  it('accepts the send; a recipient that reaches nothing else ends UNROUTABLE naming them, another goes on by its other channels', async () => {
    const only = await sendAndWait(
      s,
      { to: { email: 'a@x.test' }, content: { title: 'T', body: 'B' }, routing: { method: 'single', channels: ['carrier-pigeon'] } },
      1,
    );
    expect(only.messages[0]).toMatchObject({ status: 'UNROUTABLE', reason: 'NO_CHANNELS', error: expect.stringContaining('"carrier-pigeon"') });
    const fallback = await sendAndWait(
      s,
      { to: { email: 'a@x.test' }, content: { title: 'T', body: 'B' }, routing: { method: 'single', channels: ['carrier-pigeon', 'email'] } },
      1,
    );
    expect(fallback.messages[0]).toMatchObject({ status: expect.stringMatching(/^(SENT|DELIVERED)$/), channel: 'email' });
  });
});
