import { createHash, createHmac } from 'node:crypto';

/**
 * Outbound webhooks as Courier sends them (https://www.courier.com/docs/platform/workspaces/outbound-webhooks):
 * a POST whose JSON body is `{ type, data }`, signed in the `courier-signature` header as
 * `t=<timestamp>,signature=<hex>`, where the signature is the hex HMAC-SHA256, keyed by the
 * endpoint's secret, of `<timestamp>.<body>` (the timestamp, a dot, the raw body). Courier's
 * documented receiver splits the header on `,` then `=`, rebuilds `${timestamp}.${JSON.stringify(req.body)}`
 * and compares hex digests, so the body is compact JSON.stringify output (it re-serialises to the
 * same bytes) and the timestamp is epoch milliseconds as in the documented example header.
 */

/** The event types Courier documents; the ones this backend emits are EMITTED_EVENTS. */
export const COURIER_EVENT_TYPES = [
  'message:updated',
  'notification:submitted',
  'notification:submission_canceled',
  'notification:published',
  'audiences:updated',
  'audiences:user:matched',
  'audiences:user:unmatched',
  'audiences:calculated',
] as const;
/** The types this backend emits (docs/decisions.md D23): Courier's message and audience events. */
export const EMITTED_EVENTS = ['message:updated', 'audiences:updated', 'audiences:user:matched', 'audiences:user:unmatched', 'audiences:calculated'] as const;
export type WebhookEventType = (typeof EMITTED_EVENTS)[number];

export const SIGNATURE_HEADER = 'courier-signature';

/** The `courier-signature` value for `body` sent at `timestampMs`. */
export function signatureHeader(secret: string, timestampMs: number, body: string): string {
  const signature = createHmac('sha256', secret).update(`${timestampMs}.${body}`).digest('hex');
  return `t=${timestampMs},signature=${signature}`;
}

/**
 * A message's version: how many history events it has had (a compacted history keeps a
 * HISTORY_TRUNCATED event counting the ones it dropped), so every later write of the message that
 * records an event has a higher version. A receiver orders one message's `message:updated` events by it.
 */
export function messageVersion(history: readonly { type: string; dropped?: unknown }[]): number {
  return history.reduce((n, e) => n + 1 + (e.type === 'HISTORY_TRUNCATED' && typeof e.dropped === 'number' ? e.dropped : 0), 0);
}

/**
 * A message in its first status, ENQUEUED, with no other event yet: the delivery worker that starts it
 * announces it (its first save follows in the same batch). A single send stored DELAYED is announced
 * by the send itself, when it is stored; a message already moved on is past its creation.
 */
export const unannouncedCreation = (m: { status: string; history: readonly { type: string; dropped?: unknown }[] }): boolean =>
  m.status === 'ENQUEUED' && messageVersion(m.history) === 1;

/**
 * An event's id: the same for the same change of the same resource, so a receiver dedupes redeliveries by it.
 * `change` names the change within the resource (a message's version; a membership decision's basis).
 */
export const eventId = (type: string, resourceId: string, change: number | string): string =>
  `evt_${createHash('sha256').update(`${type}\n${resourceId}\n${change}`).digest('hex').slice(0, 32)}`;

/** The body sent: Courier's `{ type, data }` plus our `id` (dedupe) and `version` (ordering). */
export const eventBody = (e: { id: string; type: WebhookEventType; version: number; data: unknown }): string =>
  JSON.stringify({ id: e.id, type: e.type, version: e.version, data: e.data });

/**
 * Audience events, with the `data` Courier's own emitter sends (its audience, member and calculation
 * items' fields; `id` is the audience id in each). `audiences:updated` carries the audience's filter
 * (and, ours, its top-level `operator`, which Courier keeps inside its filter).
 */
export const audienceUpdatedData = (a: { id: string; version: number; operator?: string | null; filter?: unknown }) => ({
  id: a.id,
  audience_id: a.id,
  audience_version: a.version,
  filter: a.filter ?? null,
  operator: a.operator ?? 'AND',
});

export interface MembershipChange {
  type: 'audiences:user:matched' | 'audiences:user:unmatched';
  audienceId: string;
  userId: string;
  /** The generation that admitted the user (matched: the new one; unmatched: the one the member item had). */
  audienceVersion: number;
  reason: string;
  /** What the decision was made from (audience and profile revisions, the generation it replaced): its event id. */
  basis: string;
  /** When it was written (epoch ms): orders one user's events of one audience. */
  at: number;
}

export const membershipData = (c: MembershipChange) => ({
  id: c.audienceId,
  audience_id: c.audienceId,
  audience_version: c.audienceVersion,
  reason: c.reason,
  user_id: c.userId,
});

/**
 * What a membership write means to a receiver: a user who was not a member and is now starts matching
 * (`matched`), a member removed stops (`unmatched`). A member re-admitted under a new generation of
 * the audience (after its filter was saved again) still matches: no event.
 */
export function membershipChange(wasMember: boolean, isMember: boolean): MembershipChange['type'] | undefined {
  if (!wasMember && isMember) return 'audiences:user:matched';
  if (wasMember && !isMember) return 'audiences:user:unmatched';
  return undefined;
}

/** An audience generation's materialisation, counted by its scan: Courier's `audiences:calculated` data. */
export const audienceCalculatedData = (audienceId: string, counted: { total: number; matched: number }) => ({
  id: audienceId,
  audience_id: audienceId,
  user_count: counted.matched,
  total_users: counted.total,
  total_users_filtered: counted.total - counted.matched,
});

/** The endpoints that get an event: enabled and subscribed to its type. */
export const subscribed = <E extends { enabled: boolean; events: readonly string[] }>(endpoints: readonly E[], type: string): E[] =>
  endpoints.filter((e) => e.enabled && e.events.includes(type));

/** Seconds before retry `attempt` (1 = the first retry): doubling from `baseSeconds`, at most one SQS delay (900 s). */
export const retryDelaySeconds = (attempt: number, baseSeconds: number): number => Math.min(900, baseSeconds * 2 ** Math.max(0, attempt - 1));

/** After a failed delivery: the endpoint's new consecutive-failure count and whether it is now disabled. */
export function afterFailure(failures: number, disableAfter: number): { failures: number; disable: boolean } {
  const next = failures + 1;
  return { failures: next, disable: disableAfter > 0 && next >= disableAfter };
}

/** A 2xx answer is a delivery; anything else (or no answer) is a failure to retry. */
export const delivered = (status: number | undefined): boolean => status !== undefined && status >= 200 && status < 300;
