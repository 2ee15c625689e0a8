import type { AddressOf } from '../domain/addresses';
import type { EmailEnvelope, ProviderOverride } from '../domain/overrides';
import type { RenderedOutput } from '../domain/render';
import type { Channel } from '../domain/routing';
import { wallNow } from '../shared/clock';

/**
 * What the delivery worker hands a provider adapter: one message on one channel `C`. `address` is
 * what `channelAddress` parsed from the merged profile with the channel's schema
 * (domain/addresses.ts): an email, a phone number, push tokens, the slack / ms_teams objects, the
 * webhook object, or `true` for the inbox.
 */
export interface ProviderSend<C extends Channel = Channel> {
  messageId: string;
  /** Stable across retries of the same message and channel: providers that accept one dedupe on it. */
  idempotencyKey: string;
  channel: C;
  recipient: { userId?: string; tenantId?: string };
  address: AddressOf<C>;
  content: RenderedOutput;
  /** The provider's validated settings (from /providers), secrets included: never log them. */
  settings: Record<string, unknown>;
  /** Give up on the call after this long (the provider timeout). */
  timeoutMs: number;
  metadata?: { tags?: string[]; traceId?: string; event?: string };
  /** Email only: what `channels.email.override` sets besides content (from, reply-to, cc, bcc, attachments, headers). */
  email?: EmailEnvelope;
  /** Push only: `channels.push.override.data`, the push's data payload. */
  data?: Record<string, string>;
  /** Webhook only: the recipient's merged profile, as routing read it; the body carries it when the address says `profile: 'expanded'`. */
  profile?: Record<string, unknown>;
  /**
   * The send's `providers.<key>.override` for this provider, checked against what the adapter
   * honours when the send was accepted (domain/overrides.ts PROVIDER_OVERRIDES).
   */
  override?: ProviderOverride;
}

export interface ProviderResult {
  /** The provider's id for the message, when it returns one. */
  providerMessageId?: string;
  /** DELIVERED when the provider confirms delivery (the inbox, a 2xx webhook), else SENT. */
  status: 'SENT' | 'DELIVERED';
  /** Device tokens the provider reported invalid (no longer registered): not to be used again. */
  invalidTokens?: string[];
  /** Push tickets whose outcome the provider reports later (Expo's push receipts): each ticket id with the token it went to. */
  tickets?: { id: string; token: string }[];
}

/**
 * A provider failure. `transient` failures (timeouts, 408, 429, 5xx, throttling) are retried on the
 * same provider with backoff; permanent ones (other 4xx, invalid address) fail over at once.
 */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
    readonly retryAfterMs?: number,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }

  /** Device tokens the provider reported invalid (no longer registered): not to be used again. */
  invalidTokens?: string[];
}

/**
 * The port every provider adapter implements, typed by the channel(s) it delivers on: a new
 * instance per call, vendor mapping inside. The registry hands adapters out by provider key (a
 * stored string), so the worker sees them as `ProviderAdapter<Channel>`; adapters that read a
 * structured address parse it with their channel's schema again before use.
 *
 * @example
 *   const result = await adapterFor('smtp').send({ ...message, settings });
 */
export interface ProviderAdapter<C extends Channel = Channel> {
  send(message: ProviderSend<C>): Promise<ProviderResult>;
}

/** Maps an HTTP status to a ProviderError (or nothing for 2xx), honouring `retry-after` (seconds or a date). */
export function httpFailure(status: number, retryAfter: string | null | undefined, what: string): ProviderError | undefined {
  if (status >= 200 && status < 300) return undefined;
  const transient = status === 408 || status === 429 || status >= 500;
  let retryAfterMs: number | undefined;
  if (retryAfter) {
    const seconds = Number(retryAfter);
    retryAfterMs = Number.isFinite(seconds) ? seconds * 1000 : Math.max(0, Date.parse(retryAfter) - wallNow()) || undefined;
  }
  return new ProviderError(`${what} answered ${status}`, transient, retryAfterMs, status);
}
