/**
 * The suppression list (docs/decisions.md D21): addresses a hard bounce or a complaint made us stop
 * sending to, per channel (email, sms), and the rules that read and fill it. Pure.
 */
import type { EngagementEvent } from './status';

export const SUPPRESSIBLE_CHANNELS = ['email', 'sms'] as const;
export type SuppressibleChannel = (typeof SUPPRESSIBLE_CHANNELS)[number];

/** Why an address is suppressed: a provider's hard bounce or complaint, or an API call. */
export const SUPPRESSION_REASONS = ['hard_bounce', 'complaint', 'manual'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

/** The reasons a provider event can suppress an address for (SUPPRESS_ON chooses among them). */
export type EventSuppression = Exclude<SuppressionReason, 'manual'>;

export const isSuppressible = (channel: string): channel is SuppressibleChannel => (SUPPRESSIBLE_CHANNELS as readonly string[]).includes(channel);

/** Longest address kept: an email address is at most 254 characters (RFC 5321), a phone number far fewer. */
export const MAX_ADDRESS_LENGTH = 254;

/**
 * An address as the list keys it, or undefined when it cannot be one: an email address trimmed and
 * lower-cased (`Name <a@b.example>` keyed by its `a@b.example`), with one `@` between a local part
 * and a domain and no white space; a phone number as given (E.164: `+` and 8 to 15 digits), trimmed
 * and without the spaces, dashes, dots and brackets people write in it.
 */
export function normalizeAddress(channel: SuppressibleChannel, raw: string): string | undefined {
  if (channel === 'email') {
    const trimmed = raw.trim();
    const angle = /<([^<>]*)>\s*$/.exec(trimmed);
    const email = (angle ? angle[1] : trimmed).trim().toLowerCase();
    return email.length <= MAX_ADDRESS_LENGTH && /^[^\s@]+@[^\s@]+$/.test(email) ? email : undefined;
  }
  const phone = raw.trim().replace(/[\s\-.()]/g, '');
  return /^\+[1-9]\d{7,14}$/.test(phone) ? phone : undefined;
}

/** What the address of a channel must be, for a 400 naming it. */
export const ADDRESS_RULE: Record<SuppressibleChannel, string> = {
  email: 'must be an email address (local@domain, at most 254 characters)',
  sms: 'must be a phone number in E.164 form (+ and 8 to 15 digits)',
};

/** SUPPRESS_ON: which provider events suppress the address (comma-separated; empty: none). */
export function parseSuppressOn(text: string): EventSuppression[] | string {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const wrong = entries.find((e) => e !== 'hard_bounce' && e !== 'complaint');
  if (wrong !== undefined) return `${JSON.stringify(wrong)} is not hard_bounce or complaint`;
  return [...new Set(entries as EventSuppression[])];
}

/** The suppression a provider event asks for, if SUPPRESS_ON allows it (the event's mapper says whether it is a hard bounce or a complaint). */
export function suppressionFor(event: Pick<EngagementEvent, 'kind' | 'suppress'>, suppressOn: readonly EventSuppression[]): EventSuppression | undefined {
  return event.kind === 'UNDELIVERABLE' && event.suppress !== undefined && suppressOn.includes(event.suppress) ? event.suppress : undefined;
}

/** The channel each provider that reports bounces and complaints sends on. */
const PROVIDER_CHANNEL: Record<string, SuppressibleChannel> = {
  ses: 'email',
  sendgrid: 'email',
  mailgun: 'email',
  postmark: 'email',
  twilio: 'sms',
  vonage: 'sms',
};

/** A message's delivery state per target, as much as this reads of it. */
interface TargetState {
  state: string;
  provider?: string;
  address?: string;
}

/**
 * The address a provider's event is about: the one the message was sent to on that provider's
 * channel (kept with the target's state when it was sent), preferring the target that provider
 * sent; undefined when the message kept none (sent before addresses were kept, or on no such channel).
 */
export function eventAddress(channels: Record<string, TargetState>, provider: string): { channel: SuppressibleChannel; address: string } | undefined {
  const channel = PROVIDER_CHANNEL[provider];
  if (!channel) return undefined;
  const sent = Object.entries(channels).filter(
    ([key, c]) => key.split(':')[0] === channel && (c.state === 'sent' || c.state === 'delivered') && c.address !== undefined,
  );
  const [, chosen] = sent.find(([, c]) => c.provider === provider) ?? sent[0] ?? [];
  return chosen?.address === undefined ? undefined : { channel, address: chosen.address };
}
