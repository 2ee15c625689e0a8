import type { ProviderSend } from '../../../lambdas/providers/port';
import { sendOf } from './recorder';

/** One email with every envelope field the channel override sets, for the email HTTP adapters' tests. */
export const fullEmail = (settings: Record<string, unknown>, over: Partial<ProviderSend<'email'>> = {}): ProviderSend<'email'> =>
  sendOf({
    messageId: '1700000000000abc.x1y2z3',
    idempotencyKey: '1700000000000abc.x1y2z3:email',
    address: 'Ada Lovelace <ada@example.test>',
    content: { channel: 'email', subject: 'Your order', text: 'It shipped.', html: '<p>It shipped.</p>' },
    email: {
      from: 'Shop <shop@example.test>',
      replyTo: ['help@example.test'],
      cc: ['cc@example.test'],
      bcc: ['bcc@example.test'],
      attachments: [{ filename: 'a.txt', contentType: 'text/plain', data: Buffer.from('hello').toString('base64') }],
      headers: { 'X-Campaign': 'c1' },
    },
    settings,
    ...over,
  });

/** The same message as a vendor SDK call would carry it. */
export const SDK_MESSAGE = {
  from: { email: 'shop@example.test', name: 'Shop' },
  to: { email: 'ada@example.test', name: 'Ada Lovelace' },
  subject: 'Your order',
  text: 'It shipped.',
  html: '<p>It shipped.</p>',
  attachment: { filename: 'a.txt', type: 'text/plain', content: Buffer.from('hello').toString('base64') },
  messageId: '1700000000000abc.x1y2z3',
};
