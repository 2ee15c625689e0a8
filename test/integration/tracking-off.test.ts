import { startTestStack, type TestStack } from '../helpers/stack';
import { details, inboxMessage, LINK, sendEmail } from '../helpers/tracking';

/** Tracking turned off (TRACKING_EMAIL=off, TRACKING_INBOX=off; docs/decisions.md D22): links untouched, no pixel, an inbox read moves nothing. */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ env: { TRACKING_EMAIL: 'off', TRACKING_INBOX: 'off' } });
});
afterAll(() => s?.stop());

it('leaves an email’s links and HTML alone', async () => {
  const { message, html } = await sendEmail(s);
  expect(html).toContain(`href="${LINK.replace(/&/g, '&amp;')}"`);
  expect(html).toContain('href="mailto:help@acme.test"');
  expect(html).not.toContain('/t/');
  expect(html).not.toContain('<img');
  expect((await details(s, message.id)).status).toBe('SENT');
});

it('leaves an inbox message’s links alone, and its read moves nothing', async () => {
  const { id, token, href } = await inboxMessage(s);
  expect(href).toBe(LINK);
  expect((await s.http('POST', `/inbox/messages/${id}/read`, undefined, { key: token })).status).toBe(204);
  expect((await s.http('POST', `/inbox/messages/${id}/opened`, undefined, { key: token })).status).toBe(204);
  const after = await details(s, id);
  expect([after.status, after.opened ?? undefined]).toEqual(['DELIVERED', undefined]);
});
