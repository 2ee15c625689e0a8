import type { RenderedOutput } from '../domain/render';
import { ProviderError } from './port';
import { invalidAddress } from './transport';

/** The SMS text: the rendered `body` (domain/render.ts puts the title there when there is no text). */
export const smsText = (content: RenderedOutput): string => content.body ?? content.text ?? '';

/**
 * A status-callback URL that carries our message id: the setting's URL with
 * `courier_message_id=<id>` added to its query, so a delivery receipt maps back to the message
 * without a lookup.
 */
export function callbackWithMessageId(base: string | undefined, messageId: string): string | undefined {
  if (!base) return undefined;
  const url = new URL(base);
  url.searchParams.set('courier_message_id', messageId);
  return url.toString();
}

/** A phone number with its formatting (spaces, dots, dashes, brackets) dropped and its `+` kept: 6 to 15 digits, else not a number. */
export function phoneNumber(address: string, provider: string): string {
  const number = address.replace(/[\s().-]/g, '');
  if (!/^\+?\d{6,15}$/.test(number)) throw invalidAddress(provider, 'the address is not a phone number');
  return number;
}

/** A phone number as the vendors that want bare digits take it (Vonage, MessageBird): `phoneNumber` without its `+`. */
export const msisdn = (address: string, provider: string): string => phoneNumber(address, provider).replace(/^\+/, '');

/** A vendor's documented error code classified: its message names the vendor, the HTTP status and the code, never the number. */
export function vendorFailure(
  provider: string,
  status: number,
  code: string | number | undefined,
  classes: { transient: ReadonlySet<string>; invalidRecipient: ReadonlySet<string> },
  retryAfterMs?: number,
): ProviderError {
  const c = code === undefined ? undefined : String(code);
  const invalid = c !== undefined && classes.invalidRecipient.has(c);
  // An invalid recipient stays invalid whatever the status; a throttling code is retried whatever the status.
  const transient = !invalid && ((c !== undefined && classes.transient.has(c)) || status === 408 || status === 429 || status >= 500);
  const what = invalid ? ': invalid recipient' : '';
  return new ProviderError(`${provider} answered ${status}${c !== undefined ? ` (code ${c}${what})` : ''}`, transient, retryAfterMs, status);
}
