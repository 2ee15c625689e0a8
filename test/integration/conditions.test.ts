import { aTemplateStoredWith } from '../helpers/builders';
import { BadRequestError } from '@trycourier/courier';
import { sendAndWait, type Msg } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Issue 15 items 4 and 9 through the SDK: conditions (`if`, `loop`, `ref`) on Elemental elements,
 * channels and providers, and the layout elements, asserted on what the capture targets received.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

type Capture = { via: string; channel: string; messageId: string; subject?: string; text?: string; html?: string; content?: { body?: string } };
const capturesOf = (m: Msg) => (s.captures() as unknown as Capture[]).filter((c) => c.messageId === m.id);
const emailOf = (m: Msg) => {
  const mails = capturesOf(m).filter((c) => c.via === 'smtp');
  expect(mails).toHaveLength(1);
  return mails[0];
};
const history = async (m: Msg) => (await s.client.messages.history(m.id)).results as unknown as Record<string, unknown>[];

const elements = (...els: unknown[]) => ({ version: '2022-01-01', elements: els });
const send = async (message: Record<string, unknown>) => (await sendAndWait(s, message, 1)).messages[0];

describe('Elemental conditions', () => {
  it('renders an element whose if holds, and leaves out one whose if does not, in the email received', async () => {
    const email = `${uid('if')}@example.test`;
    const m = await send({
      to: { email },
      data: { plan: 'premium' },
      content: elements(
        { type: 'meta', title: 'Your plan' },
        { type: 'text', content: 'Thanks for being premium', if: "data.plan === 'premium'" },
        { type: 'text', content: 'Upgrade today', if: "data.plan === 'basic'" },
        { type: 'group', if: "profile.email.includes('@example.test')", elements: [{ type: 'text', content: 'Grouped for {{profile.email}}' }] },
      ),
    });
    expect(m.status).toBe('SENT');
    const mail = emailOf(m);
    expect(mail.text).toBe(`Thanks for being premium\n\nGrouped for ${email}`);
    expect(mail.html).toContain('Thanks for being premium');
    expect(mail.html).not.toContain('Upgrade today');
  });

  it('repeats a looped element for each item, in a list and in columns', async () => {
    const m = await send({
      to: { email: `${uid('loop')}@example.test` },
      data: {
        products: [
          { name: 'Mouse', price: '$10' },
          { name: 'Keyboard', price: '$20' },
        ],
      },
      content: elements(
        { type: 'text', content: '{{$.index}}. {{$.item.name}} at {{$.item.price}}', loop: 'data.products' },
        {
          type: 'list',
          list_type: 'ordered',
          elements: [{ type: 'list-item', loop: 'data.products', elements: [{ type: 'string', content: '{{$.item.name}}' }] }],
        },
        { type: 'columns', elements: [{ type: 'column', loop: 'data.products', elements: [{ type: 'text', content: 'Col {{$.item.name}}' }] }] },
        { type: 'text', content: 'Two products', if: 'data.products.length === 2', ref: 'count' },
        { type: 'text', content: 'Counted', if: 'refs.count.visible' },
        { type: 'comment', content: 'never shown' },
      ),
    });
    const mail = emailOf(m);
    expect(mail.text).toBe('0. Mouse at $10\n\n1. Keyboard at $20\n\n1. Mouse\n2. Keyboard\n\nCol Mouse\n\nCol Keyboard\n\nTwo products\n\nCounted');
    expect(mail.html).toContain(
      '<ol style="margin:0 0 16px;padding-left:24px"><li style="margin:0 0 4px">Mouse</li><li style="margin:0 0 4px">Keyboard</li></ol>',
    );
    expect(mail.html).toMatch(
      /<table role="presentation"[^>]*><tr><td valign="top" style="width:50%;[^"]*"><p[^>]*>Col Mouse<\/p><\/td><td valign="top"[^>]*><p[^>]*>Col Keyboard/,
    );
    expect(mail.html).not.toContain('never shown');
  });
});

describe('channel and provider conditions', () => {
  const routing = { method: 'single' as const, channels: ['email', 'sms'] };
  const recipient = () => ({ email: `${uid('ch')}@example.test`, phone_number: '+15550001234' });

  it('passes over a channel whose if is false, as an unreachable one, and the history says why', async () => {
    const channels = { email: { if: "data.prefer === 'email'" } };
    const toSms = await send({ to: recipient(), routing, channels, data: { prefer: 'sms' }, content: { title: 'Hi', body: 'By {{prefer}}' } });
    expect(toSms).toMatchObject({ status: 'SENT', channel: 'sms' });
    expect(capturesOf(toSms).map((c) => [c.channel, c.content?.body])).toEqual([['sms', 'By sms']]);
    expect(await history(toSms)).toContainEqual(
      expect.objectContaining({ type: 'FILTERED', channel: 'email', reason: 'CONDITION', error: 'channels.email.if is false' }),
    );

    const toEmail = await send({ to: recipient(), routing, channels, data: { prefer: 'email' }, content: { title: 'Hi', body: 'By {{prefer}}' } });
    expect(toEmail).toMatchObject({ status: 'SENT', channel: 'email' });
    expect(emailOf(toEmail).text).toBe('By email');
    expect((await history(toEmail)).some((e) => e.type === 'FILTERED')).toBe(false);

    // Every channel's condition false: UNROUTABLE, as with no reachable channel.
    const none = await send({ to: recipient(), routing, channels: { email: { if: 'false' }, sms: { if: 'data.nope.x' } }, content: { body: 'x' } });
    expect(none.status).toBe('UNROUTABLE');
    expect(capturesOf(none)).toEqual([]);
  });

  it('does not use a provider whose if is false', async () => {
    const providers = { smtp: { if: "!profile.email.startsWith('blocked')" } };
    const blocked = await send({
      to: { email: `blocked-${uid('p')}@example.test`, phone_number: '+15550001235' },
      routing,
      providers: { smtp: { if: "!profile.email.includes('blocked')" } },
      content: { body: 'Provider test' },
    });
    expect(blocked).toMatchObject({ status: 'SENT', channel: 'sms' });
    expect(capturesOf(blocked).map((c) => c.channel)).toEqual(['sms']);
    expect(await history(blocked)).toContainEqual(expect.objectContaining({ type: 'UNDELIVERABLE', channel: 'email', reason: 'NO_PROVIDERS' }));

    const allowed = await send({
      to: recipient(),
      routing,
      providers: { smtp: { if: "!profile.email.includes('blocked')" } },
      content: { body: 'Provider test' },
    });
    expect(allowed).toMatchObject({ status: 'SENT', channel: 'email' });
    expect(emailOf(allowed).text).toBe('Provider test');
    // A method call other than includes does not parse.
    await expect(s.client.send.message({ message: { to: recipient(), providers, content: { body: 'x' } } } as never)).rejects.toThrow(
      /message\.providers\.smtp\.if: calls are not supported/,
    );
  });

  it("honours a routing strategy's channel condition", async () => {
    const strategy = await s.client.routingStrategies.create({ name: uid('cond'), routing, channels: { email: { if: 'data.email_ok === true' } } });
    const template = await s.client.notifications.create({
      notification: {
        name: uid('t'),
        tags: [],
        brand: null,
        subscription: null,
        routing: { strategy_id: strategy.id },
        content: { title: 'T', body: 'Via strategy' },
      },
      state: 'PUBLISHED',
    } as never);
    const m = await send({ to: recipient(), template: template.id, data: { email_ok: false } });
    expect(m).toMatchObject({ status: 'SENT', channel: 'sms' });
    expect((await s.client.routingStrategies.retrieve(strategy.id)).channels).toEqual({ email: { if: 'data.email_ok === true' } });
  });
});

describe('conditions that do not parse', () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      'an element if',
      { content: elements({ type: 'text', content: 'a' }, { type: 'text', content: 'b' }, { type: 'text', content: 'c', if: "data.plan === 'x" }) },
      'message.content.elements.2.if: does not parse',
    ],
    [
      'a nested loop',
      { content: elements({ type: 'group', elements: [{ type: 'text', content: 'x', loop: 'data.items.map(f)' }] }) },
      'message.content.elements.0.elements.0.loop: calls are not supported',
    ],
    ['a channel if', { channels: { email: { if: 'user.vip' } }, content: { body: 'x' } }, 'message.channels.email.if: unknown name "user"'],
    ['a jsonnet element', { content: elements({ type: 'jsonnet', template: '{}' }) }, 'message.content.elements.0.type: jsonnet elements are not supported'],
  ])('refuse a send with %s: 400 naming the field', async (_, message, expected) => {
    const res = await s.http('POST', '/send', { message: { to: { email: 'x@example.test' }, ...message } });
    expect([res.status, res.json.type]).toEqual([400, 'invalid_request_error']);
    expect(res.json.message).toContain(expected);
    await expect(s.client.send.message({ message: { to: { email: 'x@example.test' }, ...message } } as never)).rejects.toBeInstanceOf(BadRequestError);
  });

  it('refuse a template with one (400), and a stored template with one ends the message UNROUTABLE naming it', async () => {
    const bad = elements({ type: 'text', content: 'a' }, { type: 'text', content: 'b', if: 'data.plan ===' });
    await expect(
      s.client.notifications.create({ notification: { name: uid('bad'), tags: [], brand: null, subscription: null, routing: null, content: bad } } as never),
    ).rejects.toThrow(/content\.elements\.1\.if: does not parse/);

    // A template stored before the check (written straight to the store): its sends end UNROUTABLE, naming the condition.
    const created = { id: await aTemplateStoredWith(s, bad) };
    const m = await send({ to: { email: `${uid('old')}@example.test` }, template: created.id });
    expect(m).toMatchObject({
      status: 'UNROUTABLE',
      error: `Template ${created.id}: content.elements.1.if: does not parse: Expected expression after === at character 13`,
    });
    expect(capturesOf(m)).toEqual([]);
  });
});
