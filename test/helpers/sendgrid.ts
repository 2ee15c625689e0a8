import { sign, type KeyObject } from 'node:crypto';
import type { HttpResult, TestStack } from './stack';

/** A SendGrid Event Webhook request, signed as SendGrid signs it (ECDSA over the timestamp and the body) with `key`. */
export function sendgridWebhook(stack: TestStack, key: KeyObject, events: unknown[]): Promise<HttpResult> {
  const body = JSON.stringify(events);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign('sha256', Buffer.from(timestamp + body), key).toString('base64');
  return stack.http('POST', '/inbound/providers/sendgrid', body, {
    key: null,
    headers: { 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp },
  });
}
