import { signTracking } from '../../lambdas/domain/tracking';
import type { Capture } from '../../lambdas/local/capture';
import { aUser, via } from '../helpers/builders';
import { startTestStack, type TestStack } from '../helpers/stack';
import { details, get, inboxMessage, LINK, sendEmail } from '../helpers/tracking';
import { eventually, uid } from '../helpers/wait';

/**
 * Our own open and click tracking (issue 16 item 3, docs/decisions.md D22), through the SDK and the
 * local SMTP capture: the email a recipient gets carries the open pixel and its links go through
 * signed click links, which move the message to OPENED and CLICKED and redirect to the exact URL
 * signed; an altered token is a 404 that changes nothing. The inbox's read and opened feed the same
 * status machine. With tracking off: tracking-off.test.ts.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

const pixelOf = (stack: TestStack, html: string) => new RegExp(`<img src="(${stack.url}/t/o/[A-Za-z0-9_.-]+)" width="1" height="1"`).exec(html)?.[1];
const clickLinks = (stack: TestStack, html: string) => [...html.matchAll(new RegExp(`href="(${stack.url}/t/c/[A-Za-z0-9_.-]+)"`, 'g'))].map((m) => m[1]);
/** The events our tracking applied, from the message's history. */
const tracked = async (stack: TestStack, id: string) =>
  ((await stack.http('GET', `/messages/${id}/history`)).json.results as { type: string; provider?: string }[]).filter((e) => e.provider === 'courier');

/** One character of `token` changed, in the middle of its payload. */
const altered = (link: string) => {
  const at = link.lastIndexOf('/') + 10;
  return link.slice(0, at) + (link[at] === 'A' ? 'B' : 'A') + link.slice(at + 1);
};

describe('email', () => {
  it('carries the open pixel and click links; the pixel moves the message to OPENED, the link to CLICKED and redirects to the exact URL', async () => {
    const { message, html } = await sendEmail(s);
    expect(message.status).toBe('SENT');
    const pixel = pixelOf(s, html);
    expect(pixel).toBeDefined();
    expect(html.indexOf(pixel!)).toBeLessThan(html.toLowerCase().lastIndexOf('</body>'));
    const [click, ...more] = clickLinks(s, html);
    expect(more).toEqual([]);
    expect(html).not.toContain('href="https://acme.test');
    expect(html).toContain('href="mailto:help@acme.test"');

    const gif = await get(pixel!);
    expect([gif.status, gif.headers.get('content-type'), gif.headers.get('cache-control')]).toEqual([200, 'image/gif', expect.stringContaining('no-store')]);
    const bytes = Buffer.from(await gif.arrayBuffer());
    expect(bytes.subarray(0, 6).toString()).toBe('GIF89a');
    expect(bytes.readUInt16LE(6)).toBe(1);
    const opened = await details(s, message.id);
    expect(opened).toMatchObject({ status: 'OPENED', opened: expect.any(Number) });
    expect(opened.clicked ?? undefined).toBeUndefined();

    const redirect = await get(click);
    expect([redirect.status, redirect.headers.get('location')]).toEqual([302, LINK]);
    const clicked = await details(s, message.id);
    expect(clicked).toMatchObject({ status: 'CLICKED', opened: opened.opened, clicked: expect.any(Number) });

    // Opening and clicking again: the first times stay, no new history event.
    expect((await get(pixel!)).status).toBe(200);
    expect((await get(click)).headers.get('location')).toBe(LINK);
    expect(await details(s, message.id)).toMatchObject({ status: 'CLICKED', opened: opened.opened, clicked: clicked.clicked });
    expect((await tracked(s, message.id)).map((e) => e.type)).toEqual(['OPENED', 'CLICKED']);
  });

  it('answers 404 for an altered, truncated or forged token and changes nothing', async () => {
    const { message, html } = await sendEmail(s);
    const [click] = clickLinks(s, html);
    const pixel = pixelOf(s, html)!;
    for (const url of [altered(click), altered(pixel), click.slice(0, -1), `${s.url}/t/c/not-a-token`, `${s.url}/t/o/${'A'.repeat(40)}.${'A'.repeat(22)}`]) {
      const res = await get(url);
      expect({ url, status: res.status, location: res.headers.get('location'), body: await res.json() }).toEqual({
        url,
        status: 404,
        location: null,
        body: { message: 'Tracking link not found', type: 'invalid_request_error' },
      });
    }
    // A click token is not an open token, nor the other way round.
    expect((await get(click.replace('/t/c/', '/t/o/'))).status).toBe(404);
    expect((await get(pixel.replace('/t/o/', '/t/c/'))).status).toBe(404);
    expect(await details(s, message.id)).toMatchObject({ status: 'SENT' });
    expect(await tracked(s, message.id)).toEqual([]);
  });

  it('redirects a signed link of an unknown message and changes nothing', async () => {
    const { trackingKey } = require('../../lambdas/shared/tokens') as typeof import('../../lambdas/shared/tokens');
    const key = (await trackingKey(false))!;
    const token = signTracking(key, { kind: 'click', messageId: '0zzzzzzzzzzzzzzzzzzzzz', url: 'https://acme.test/x?y=1' });
    const res = await get(`${s.url}/t/c/${token}`);
    expect([res.status, res.headers.get('location')]).toEqual([302, 'https://acme.test/x?y=1']);
  });

  it('signs the link with its UTM parameters, so the redirect lands with them', async () => {
    const { html } = await sendEmail(s, { metadata: { utm: { source: 'courier', campaign: 'spring' } } });
    const res = await get(clickLinks(s, html)[0]);
    expect(res.headers.get('location')).toBe('https://acme.test/app?x=1&y=two%20words&z=%C3%A9&utm_source=courier&utm_campaign=spring#section-2');
  });
  it('counts for an escalation watch on the email: opened in time, it does not escalate to the next channel', async () => {
    const userId = await aUser(s, { email: `${uid('esc')}@example.test` }, 'esc');
    const { requestId } = await s.client.send.message({
      message: {
        to: { user_id: userId },
        content: { title: 'Alert', body: 'x' },
        routing: via('email', 'inbox'),
        timeout: { escalation: 2500, criteria: 'viewed' },
      } as never,
    });
    const mail = (await eventually(
      async () => (s.captures() as Capture[]).find((c) => c.via === 'smtp' && c.messageId === requestId),
      (c) => c !== undefined,
    )) as Extract<Capture, { via: 'smtp' }>;
    expect((await details(s, requestId)).status).toBe('ROUTED');
    expect((await get(pixelOf(s, mail.html ?? '')!)).status).toBe(200);
    const done = await eventually(
      () => details(s, requestId),
      (m) => m.status !== 'ROUTED',
      20_000,
    );
    expect(done).toMatchObject({ opened: expect.any(Number) });
    const history = (await s.http('GET', `/messages/${requestId}/history`)).json.results as { type: string }[];
    expect(history.map((e) => e.type)).not.toContain('ESCALATED');
  });
});

describe('inbox', () => {
  it('moves the message to OPENED when the user reads it, and its action link to CLICKED', async () => {
    const { id, token, href } = await inboxMessage(s);
    expect(href.startsWith(`${s.url}/t/c/`)).toBe(true);
    expect((await s.http('POST', `/inbox/messages/${id}/read`, undefined, { key: token })).status).toBe(204);
    const read = await details(s, id);
    expect(read).toMatchObject({ status: 'OPENED', opened: expect.any(Number) });
    // Opened after read: nothing new.
    expect((await s.http('POST', `/inbox/messages/${id}/opened`, undefined, { key: token })).status).toBe(204);
    expect(await details(s, id)).toMatchObject({ status: 'OPENED', opened: read.opened });
    const res = await get(href);
    expect([res.status, res.headers.get('location')]).toEqual([302, LINK]);
    expect(await details(s, id)).toMatchObject({ status: 'CLICKED', opened: read.opened, clicked: expect.any(Number) });
  });

  it('moves the message to OPENED when the user opens it', async () => {
    const { id, token } = await inboxMessage(s);
    expect((await s.http('POST', `/inbox/messages/${id}/opened`, undefined, { key: token })).status).toBe(204);
    expect(await details(s, id)).toMatchObject({ status: 'OPENED', opened: expect.any(Number) });
  });
});
