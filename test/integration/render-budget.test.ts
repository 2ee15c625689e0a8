/**
 * Issue 11, item 12: nested template sections grow exponentially. A send whose content goes over
 * the rendering budget ends UNDELIVERABLE with the reason, no provider is called, and the stack
 * keeps serving (six levels used to block the event loop for minutes).
 */
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

const items = Array.from({ length: 30 }, (_, i) => i);
const nested = (depth: number): string => Array.from({ length: depth }).reduce<string>((t) => `{{#items}}${t}{{/items}}`, 'x{{.}}');

describe('a send over the rendering budget', () => {
  it.each([4, 6])('ends UNDELIVERABLE with the reason for %i nested levels, calls no provider, and the stack keeps delivering', async (depth) => {
    const email = `${uid('nested')}@example.com`;
    const before = s.captures().length;
    const { requestId, messages } = await sendAndWait(
      s,
      {
        to: { email, phone_number: '+15550100' },
        content: { title: 'Nested', body: nested(depth) },
        data: { items },
        routing: { method: 'single', channels: ['email', 'sms'] },
      },
      1,
      40_000,
    );
    expect(messages[0]).toMatchObject({
      status: 'UNDELIVERABLE',
      reason: 'FAILED',
      error: expect.stringMatching(/^content too large: the email rendering stopped/),
    });
    const history = (await s.http('GET', `/messages/${requestId}/history`)).json.results as { type: string; channel?: string; error?: string }[];
    // Both channels of the routing were tried; each stopped at the budget, before any provider.
    expect(history.filter((e) => e.type === 'UNDELIVERABLE' && e.channel).map((e) => [e.channel, e.error?.slice(0, 40)])).toEqual([
      ['email', 'content too large: the email rendering s'],
      ['sms', 'content too large: the sms rendering sto'],
    ]);
    expect(history.map((e) => e.type)).not.toContain('SENT');
    expect(
      s
        .captures()
        .slice(before)
        .filter((c) => c.channel === 'email' && c.via === 'smtp' && c.to.includes(email)),
    ).toEqual([]);

    // The worker is still there: an ordinary send right after is delivered.
    const next = await sendAndWait(s, { to: { email }, content: { title: 'Fine', body: 'Hello' }, routing: { method: 'single', channels: ['email'] } }, 1);
    expect(next.messages[0].status).toBe('SENT');
  });
});
