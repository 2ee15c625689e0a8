import type { Capture } from '../../lambdas/local/capture';
import { sendAndWait, type Msg } from './send';
import type { TestStack } from './stack';
import { eventually, uid } from './wait';

/** Sends and reads of the tracking tests (test/integration/tracking*.test.ts). */

export const LINK = 'https://acme.test/app?x=1&y=two%20words&z=%C3%A9#section-2';

/** Sends an email with a tracked link and a mailto link; its message and the email captured. */
export async function sendEmail(stack: TestStack, extra: Record<string, unknown> = {}): Promise<{ message: Msg; html: string }> {
  const { messages } = await sendAndWait(
    stack,
    {
      to: { email: `${uid('t')}@example.test` },
      content: {
        version: '2022-01-01',
        elements: [
          { type: 'text', content: 'Hello' },
          { type: 'action', content: 'Open', href: LINK },
          { type: 'action', content: 'Mail us', href: 'mailto:help@acme.test' },
        ],
      },
      routing: { method: 'single', channels: ['email'] },
      ...extra,
    },
    1,
  );
  const [message] = messages;
  const mail = await eventually(
    async () => (stack.captures() as Capture[]).find((c) => c.via === 'smtp' && c.messageId === message.id),
    (c) => c !== undefined,
  );
  return { message, html: (mail as Extract<Capture, { via: 'smtp' }>).html ?? '' };
}

/** A GET as a mail client makes it, redirects not followed. */
export const get = (url: string) => fetch(url, { redirect: 'manual' });
/** A message's details, through the SDK. */
export const details = (stack: TestStack, id: string) => stack.client.messages.retrieve(id);
const issue = async (stack: TestStack, userId: string) =>
  (await stack.http('POST', '/auth/issue-token', { scope: `user_id:${userId} inbox:read:messages inbox:write:events`, expires_in: '1h' })).json.token as string;

/** Sends an inbox message with an action link to a new user; its id, a token of its user, and the link as the inbox lists it. */
export async function inboxMessage(stack: TestStack) {
  const userId = uid('reader');
  const { messages } = await sendAndWait(
    stack,
    {
      to: { user_id: userId },
      content: {
        version: '2022-01-01',
        elements: [
          { type: 'text', content: 'Hi' },
          { type: 'action', content: 'Go', href: LINK },
        ],
      },
      routing: { method: 'single', channels: ['inbox'] },
    },
    1,
  );
  expect(messages[0].status).toBe('DELIVERED');
  const token = await issue(stack, userId);
  const listed = (await stack.http('GET', '/inbox/messages', undefined, { key: token })).json.results as { messageId: string; blocks: { href?: string }[] }[];
  return { id: messages[0].id, token, href: listed.find((m) => m.messageId === messages[0].id)!.blocks[0].href! };
}
