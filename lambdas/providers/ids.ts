import { createHash } from 'node:crypto';

/**
 * A UUID (version 4 layout) derived from a string by SHA-256: the same string always gives the
 * same UUID. For vendor fields that must be a UUID (APNs `apns-id`, OneSignal `idempotency_key`)
 * and carry our message id, so a retry reuses it and the vendor's reports map back to the message.
 */
export function uuidFrom(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
