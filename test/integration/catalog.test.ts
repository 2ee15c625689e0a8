import { ConflictError, NotFoundError } from '@trycourier/courier';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

describe('brands', () => {
  it('creates, replaces, lists and deletes brands through the SDK', async () => {
    const id = uid('brand');
    const created = await s.client.brands.create({ id, name: 'Acme', settings: { colors: { primary: '#ff0000' } } });
    expect(created).toMatchObject({ id, name: 'Acme', settings: { colors: { primary: '#ff0000' } }, created: expect.any(Number), updated: expect.any(Number) });
    await expect(s.client.brands.create({ id, name: 'dup' })).rejects.toBeInstanceOf(ConflictError);
    await s.client.brands.update(id, { name: 'Acme 2' });
    expect((await s.client.brands.retrieve(id)).name).toBe('Acme 2');
    expect((await s.client.brands.list()).results.map((b) => b.id)).toContain(id);
    await s.client.brands.delete(id);
    await expect(s.client.brands.retrieve(id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('templates (notifications)', () => {
  const content = {
    version: '2022-01-01',
    elements: [
      { type: 'meta', title: 'Hi {{name}}' },
      { type: 'text', content: 'Order {{order_id}} shipped' },
      { type: 'action', content: 'Track', href: 'https://x.test' },
    ],
  };

  it('creates a draft, publishes it as a version, and archives it', async () => {
    const created = await s.http('POST', '/notifications', {
      notification: { name: 'Shipped', tags: ['orders'], brand: null, subscription: { topic_id: 'orders' }, routing: null, content },
      state: 'DRAFT',
    });
    expect(created.status).toBe(200);
    const id = created.json.id as string;
    expect(created.json).toMatchObject({ name: 'Shipped', state: 'DRAFT', subscription: { topic_id: 'orders' } });
    expect((await s.http('GET', `/notifications/${id}?version=published`)).status).toBe(404);
    expect((await s.http('POST', `/notifications/${id}/publish`, {})).status).toBe(204);
    const published = await s.http('GET', `/notifications/${id}?version=published`);
    expect(published.json).toMatchObject({ version: 'v1', content });
    const versions = await s.http('GET', `/notifications/${id}/versions`);
    expect(versions.json.versions.map((v: { version: string }) => v.version)).toEqual(['draft', 'published:v1']);
    expect((await s.http('GET', '/notifications')).json.results.map((n: { id: string }) => n.id)).toContain(id);
    expect((await s.http('DELETE', `/notifications/${id}`)).status).toBe(204);
    expect((await s.http('GET', `/notifications/${id}`)).status).toBe(404);
  });

  it('refuses unknown Elemental element types naming the index', async () => {
    const res = await s.http('POST', '/notifications', {
      notification: { name: 'x', content: { elements: [{ type: 'text', content: 'ok' }, { type: 'hologram' }] } },
    });
    expect([res.status, res.json.message]).toEqual([400, expect.stringContaining('elements.1')]);
  });
});

describe('tenant templates', () => {
  it('versions, publishes and lists templates of a tenant through the SDK', async () => {
    const t = uid('tt');
    await s.client.tenants.update(t, { name: 't' });
    const first = await s.client.tenants.templates.replace('welcome', {
      tenant_id: t,
      template: { content: { version: '2022-01-01', elements: [{ type: 'text', content: 'v1' } as never] } },
    });
    expect(first).toMatchObject({ id: 'welcome', version: 'v1' });
    const second = await s.http('PUT', `/tenants/${t}/templates/welcome`, {
      template: { content: { elements: [{ type: 'text', content: 'v2' }] }, routing: { method: 'single', channels: ['email'] } },
      published: true,
    });
    expect([second.status, second.json.version, typeof second.json.published_at]).toEqual([200, 'v2', 'string']);
    expect(await s.client.tenants.templates.retrieve('welcome', { tenant_id: t })).toMatchObject({
      id: 'welcome',
      version: 'v2',
      published_at: expect.any(String),
    });
    const v1 = await s.http('GET', `/tenants/${t}/templates/welcome/versions/v1`);
    expect(v1.json.data.content.elements[0].content).toBe('v1');
    const published = await s.client.tenants.templates.publish('welcome', { tenant_id: t, version: 'v1' });
    expect(published).toMatchObject({ id: 'welcome', version: 'v1' });
    const list = await s.client.tenants.templates.list(t);
    expect(list).toMatchObject({
      type: 'list',
      has_more: false,
      items: [{ id: 'welcome', version: 'v2', data: { routing: { method: 'single', channels: ['email'] } } }],
    });
    expect((await s.http('GET', `/tenants/${t}/templates/welcome/versions/v9`)).status).toBe(404);
  });
});

describe('providers', () => {
  it('validates settings per provider, and never echoes a secret in full', async () => {
    const created = await s.client.providers.create({
      provider: 'smtp',
      settings: { host: 'localhost', port: 2525, from: 'noreply@x.test', password: 'super-secret-password' },
    } as never);
    expect(created).toMatchObject({ provider: 'smtp', settings: { host: 'localhost', password: '********word' } });
    expect(JSON.stringify(await s.client.providers.retrieve(created.id))).not.toContain('super-secret');
    expect(JSON.stringify(await s.client.providers.list())).not.toContain('super-secret');
    const bad = await s.http('POST', '/providers', { provider: 'smtp', settings: { host: 'h' } });
    expect([bad.status, bad.json.message]).toEqual([400, expect.stringContaining('body.settings.from')]);
    const unknown = await s.http('POST', '/providers', { provider: 'carrier-pigeon', settings: {} });
    expect(unknown.json.message).toMatch(/body\.provider/);
    // A channel given must be the provider's own; a key the route does not take is named.
    const elsewhere = await s.http('POST', '/providers', { provider: 'smtp', channel: 'sms', settings: { host: 'h', from: 'a@x.test' } });
    expect([elsewhere.status, elsewhere.json.message]).toEqual([400, expect.stringContaining('body.channel: smtp sends on email, not sms')]);
    const own = await s.http('POST', '/providers', { provider: 'webhook', channel: 'webhook', settings: {} });
    expect(own.status).toBeLessThan(300);
    await s.client.providers.delete(own.json.id);
    const typo = await s.http('POST', '/providers', { provider: 'webhook', setings: {} });
    expect([typo.status, typo.json.message]).toEqual([400, expect.stringContaining('body: Unrecognized key: "setings"')]);
    const catalog = await s.http('GET', '/providers/catalog');
    expect(catalog.json.results.map((c: { provider: string }) => c.provider)).toEqual(
      expect.arrayContaining(['smtp', 'ses', 'sns', 'slack', 'msteams', 'webhook', 'inbox']),
    );
    await s.client.providers.delete(created.id);
    expect((await s.http('GET', `/providers/${created.id}`)).status).toBe(404);
  });
});
