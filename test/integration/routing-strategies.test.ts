import { BadRequestError, ConflictError, NotFoundError } from '@trycourier/courier';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';
import { startRecorder, type Recorder } from './providers/recorder';

/**
 * Issue 14: routing strategies (the SDK's `routingStrategies`), stored per workspace, and used at
 * send time: a template's `routing.strategy_id` routes by the strategy's routing and orders the
 * channel's providers by the strategy's `channels`. CACHE_TTL_MS is 0, so a changed strategy
 * routes the very next send.
 */
let s: TestStack;
let ses: Recorder;
const providerIds: string[] = [];
beforeAll(async () => {
  ses = await startRecorder();
  ses.reply(() => ({ status: 200, body: { MessageId: 'ses-1' } }));
  s = await startTestStack({ env: { SES_ENDPOINT: ses.url, CACHE_TTL_MS: '0' } });
  // Two email providers: SMTP first by priority, so only the strategy's preference puts SES first.
  const smtp = new URL(process.env.LOCAL_SMTP_URL!);
  const configured = [
    { provider: 'smtp', priority: 1, settings: { host: smtp.hostname, port: Number(smtp.port), from: 'app@acme.test' } },
    { provider: 'ses', priority: 2, settings: { from: 'app@acme.test', region: 'us-east-1' } },
  ];
  for (const p of configured) providerIds.push((await s.client.providers.create(p as never)).id);
});
afterAll(async () => {
  for (const id of providerIds) await s.client.providers.delete(id);
  await ses?.close();
  await s?.stop();
});

const content = { version: '2022-01-01', elements: [{ type: 'text', content: 'Hello {{name}}' }] };

/** A published template whose routing names the strategy. */
async function aTemplateUsing(strategyId: string): Promise<string> {
  const created = await s.client.notifications.create({
    notification: { name: uid('uses-strategy'), tags: ['rs'], brand: null, subscription: null, routing: { strategy_id: strategyId }, content },
    state: 'PUBLISHED',
  } as never);
  return created.id;
}

describe('routing strategies through the SDK', () => {
  it('are created, retrieved, listed, replaced and archived', async () => {
    const created = await s.client.routingStrategies.create({
      name: 'Email via SES',
      routing: { method: 'single', channels: ['email', { method: 'all', channels: ['inbox', 'push'] }] },
      channels: { email: { providers: ['ses', 'smtp'], override: null, routing_method: null }, push: { providers: null } },
      description: 'SES first, SMTP on failure',
      providers: { ses: { override: {} } },
      tags: ['production', 'email'],
    });
    expect(created).toEqual({
      id: expect.stringMatching(/^rs_/),
      name: 'Email via SES',
      routing: { method: 'single', channels: ['email', { method: 'all', channels: ['inbox', 'push'] }] },
      channels: { email: { providers: ['ses', 'smtp'] }, push: {} },
      providers: { ses: { override: {} } },
      description: 'SES first, SMTP on failure',
      tags: ['production', 'email'],
      created: expect.any(Number),
      creator: 'api',
      updated: expect.any(Number),
      updater: 'api',
    });
    expect(await s.client.routingStrategies.retrieve(created.id)).toEqual(created);

    // The minimal body: channels and providers default to empty.
    const minimal = await s.client.routingStrategies.create({ name: 'Inbox only', routing: { method: 'single', channels: ['inbox'] }, tags: null });
    expect(minimal).toMatchObject({ channels: {}, providers: {}, description: null, tags: null });

    // The list is metadata only, in pages of `limit` with the classic cursor.
    const first = await s.client.routingStrategies.list({ limit: 1 });
    expect(first.paging).toEqual({ cursor: expect.any(String), more: true });
    expect(Object.keys(first.results[0]).sort()).toEqual(['created', 'creator', 'description', 'id', 'name', 'tags', 'updated', 'updater']);
    const second = await s.client.routingStrategies.list({ limit: 1, cursor: first.paging.cursor });
    expect(second.paging).toEqual({ cursor: null, more: false });
    expect([...first.results, ...second.results].map((r) => r.id).sort()).toEqual([created.id, minimal.id].sort());

    // Replace is whole: what it omits is cleared.
    const replaced = await s.client.routingStrategies.replace(created.id, { name: 'Email via SMTP', routing: { method: 'single', channels: ['email'] } });
    expect(replaced).toMatchObject({
      id: created.id,
      name: 'Email via SMTP',
      channels: {},
      providers: {},
      description: null,
      tags: null,
      created: created.created,
    });
    expect(replaced.updated).toBeGreaterThanOrEqual(created.updated!);
    expect(await s.client.routingStrategies.retrieve(created.id)).toEqual(replaced);

    await s.client.routingStrategies.archive(minimal.id);
    await expect(s.client.routingStrategies.retrieve(minimal.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.client.routingStrategies.archive(minimal.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.client.routingStrategies.replace(minimal.id, { name: 'x', routing: { method: 'single', channels: ['inbox'] } })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect((await s.client.routingStrategies.list()).results.map((r) => r.id)).toEqual([created.id]);
    await expect(s.client.routingStrategies.retrieve('rs_missing')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuse settings delivery does not honour, naming the field, and change nothing', async () => {
    const routing = { method: 'single' as const, channels: ['email'] };
    const refused: [string, Record<string, unknown>, string][] = [
      ['a channel override', { channels: { email: { override: { subject: 'x' } } } }, 'body.channels.email.override'],
      ['a channel brand', { channels: { email: { brand_id: 'b1' } } }, 'body.channels.email.brand_id'],
      ['a channel routing method', { channels: { email: { routing_method: 'all' } } }, 'body.channels.email.routing_method'],
      ['channel timeouts', { channels: { email: { timeouts: { provider: 1000 } } } }, 'body.channels.email.timeouts'],
      ['an unknown channel', { channels: { fax: { providers: ['x'] } } }, 'body.channels'],
      ['a provider override', { providers: { ses: { override: { region: 'eu-west-1' } } } }, 'body.providers.ses.override'],
      ['a provider condition that does not parse', { providers: { ses: { if: 'data.vip ===' } } }, 'body.providers.ses.if: does not parse'],
      ['a channel condition naming what is not in scope', { channels: { email: { if: 'user.vip' } } }, 'body.channels.email.if: unknown name "user"'],
      ['provider timeouts', { providers: { ses: { timeouts: 1000 } } }, 'body.providers.ses.timeouts'],
      ['a routing entry that is no key', { routing: { method: 'single', channels: ['fax machine!'] } }, 'body.routing.channels.0'],
      ['no name', { name: undefined }, 'body.name'],
    ];
    const before = (await s.client.routingStrategies.list()).results.length;
    for (const [what, extra, field] of refused) {
      const res = await s.http('POST', '/routing-strategies', { name: 'refused', routing, ...extra });
      expect([what, res.status, res.json.type]).toEqual([what, 400, 'invalid_request_error']);
      expect(res.json.message).toContain(field);
    }
    await expect(s.client.routingStrategies.create({ name: 'refused', routing, providers: { ses: { if: 'x' } } })).rejects.toBeInstanceOf(BadRequestError);
    expect((await s.client.routingStrategies.list()).results.length).toBe(before);
  });
});

describe('a template naming a routing strategy', () => {
  it('routes its sends by the strategy, and the next send by the strategy as changed', async () => {
    const strategy = await s.client.routingStrategies.create({ name: 'Inbox', routing: { method: 'single', channels: ['inbox'] } });
    const template = await aTemplateUsing(strategy.id);
    const user = uid('rs-user');
    await s.client.profiles.replace(user, { profile: { email: `${user}@example.test` } });
    const send = async () => {
      const { messages } = await sendAndWait(s, { to: { user_id: user }, template, data: { name: 'Ada' } }, 1);
      const m = messages[0] as unknown as { status: string; channel?: string; providers?: { provider: string }[] };
      return [m.status, m.channel, m.providers?.[0]?.provider];
    };

    // Without the strategy this user would get email (DEFAULT_ROUTING puts email first): the strategy says inbox.
    expect(await send()).toEqual(['DELIVERED', 'inbox', 'inbox']);

    await s.client.routingStrategies.replace(strategy.id, {
      name: 'Email, SES first',
      routing: { method: 'single', channels: ['email'] },
      channels: { email: { providers: ['ses', 'smtp'] } },
    });
    expect(await send()).toEqual(['SENT', 'email', 'ses']);
    expect(ses.requests.length).toBe(1);

    // No preference: the configured order (SMTP first).
    await s.client.routingStrategies.replace(strategy.id, { name: 'Email', routing: { method: 'single', channels: ['email'] } });
    expect(await send()).toEqual(['SENT', 'email', 'smtp']);
    expect(ses.requests.length).toBe(1);

    // A message's own channel settings win over the strategy's.
    await s.client.routingStrategies.replace(strategy.id, {
      name: 'Email, SES first',
      routing: { method: 'single', channels: ['email'] },
      channels: { email: { providers: ['ses'] } },
    });
    const { messages } = await sendAndWait(s, { to: { user_id: user }, template, channels: { email: { providers: ['smtp'] } } } as never, 1);
    expect((messages[0] as unknown as { providers: { provider: string }[] }).providers[0].provider).toBe('smtp');
  });

  it('is listed by the strategy, keeps it from being archived, and a send by a missing one is UNROUTABLE naming it', async () => {
    const strategy = await s.client.routingStrategies.create({ name: 'Used', routing: { method: 'single', channels: ['inbox'] } });
    const unused = await s.client.routingStrategies.create({ name: 'Unused', routing: { method: 'single', channels: ['inbox'] } });
    const templates = [await aTemplateUsing(strategy.id), await aTemplateUsing(strategy.id), await aTemplateUsing(strategy.id)];
    await aTemplateUsing(unused.id).then((id) => s.client.notifications.archive(id));

    const first = await s.client.routingStrategies.listNotifications(strategy.id, { limit: 2 });
    expect(first.paging).toEqual({ cursor: expect.any(String), more: true });
    expect(first.results[0]).toEqual({
      id: expect.any(String),
      name: expect.any(String),
      state: 'PUBLISHED',
      tags: ['rs'],
      created: expect.any(Number),
      creator: 'api',
      updated: expect.any(Number),
      updater: 'api',
    });
    const rest = await s.client.routingStrategies.listNotifications(strategy.id, { limit: 2, cursor: first.paging.cursor });
    expect(rest.paging.more).toBe(false);
    expect([...first.results, ...rest.results].map((t) => t.id).sort()).toEqual([...templates].sort());
    // An archived template is no longer associated.
    expect((await s.client.routingStrategies.listNotifications(unused.id)).results).toEqual([]);
    await expect(s.client.routingStrategies.listNotifications('rs_missing')).rejects.toBeInstanceOf(NotFoundError);

    // Courier: "The strategy must not have associated notification templates."
    const refused = s.client.routingStrategies.archive(strategy.id);
    await expect(refused).rejects.toBeInstanceOf(ConflictError);
    await expect(refused).rejects.toMatchObject({ message: expect.stringContaining(templates[0]) });
    expect(await s.client.routingStrategies.retrieve(strategy.id)).toMatchObject({ id: strategy.id });

    // Unlinked (a template's published version counts until it is replaced and republished): archivable.
    for (const id of templates) {
      await s.client.notifications.replace(id, {
        notification: { name: 'unlinked', tags: [], brand: null, subscription: null, routing: null, content },
        state: 'PUBLISHED',
      } as never);
    }
    expect((await s.client.routingStrategies.listNotifications(strategy.id)).results).toEqual([]);
    await s.client.routingStrategies.archive(strategy.id);

    // A template naming a strategy that does not exist (or no longer does) ends UNROUTABLE, naming it.
    const user = uid('rs-user');
    for (const [strategyId, why] of [
      ['rs_never_made', 'not found'],
      [unused.id, 'is archived'],
    ]) {
      if (strategyId === unused.id) await s.client.routingStrategies.archive(unused.id);
      const template = await aTemplateUsing(strategyId);
      const { messages } = await sendAndWait(s, { to: { user_id: user, email: `${user}@example.test` }, template }, 1);
      expect(messages[0]).toMatchObject({ status: 'UNROUTABLE', error: `Routing strategy ${strategyId} (routing.strategy_id of template ${template}) ${why}` });
    }
  });
});
