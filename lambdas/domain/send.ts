import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  discordAddress,
  pagerdutyAddress,
  teamsAddress,
  webhookAddress,
  type DiscordAddress,
  type PagerdutyAddress,
  type TeamsAddress,
  type WebhookAddress,
} from './addresses';
import { compileListPattern, listIdSchema } from './lists';
import { conditionSchema, MESSAGE_SCOPE } from './conditions';
import { contentSchema } from './render';
import { CHANNELS, routingSchema } from './routing';
import { idSchema } from './ids';
import { inlinePreferencesSchema } from './preferences';
import { ISO_DURATION, isoDurationMs } from './durations';
import { CRITERIA } from './escalation';
import { isoInstant, isTimeZone, looksIso, nextOpening, parseWindow, WindowSyntaxError, type DeliveryWindow } from './delivery-window';
import { checkChannelOverrides, checkProviderOverrides, checkProviderKeys, metadataSchema } from './overrides';
import { utmSchema } from './utm';

/** Targets one request may name (an array `to`); larger audiences belong in lists, audiences or bulk jobs. */
export const MAX_TO_ENTRIES = 1000;

const id = idSchema;
const obj = z.record(z.string(), z.unknown());
const memberOfFilter = z.object({ operator: z.literal('MEMBER_OF'), path: z.literal('account_id').default('account_id'), value: id });

/**
 * One `to` entry. Courier's recipient variants share one loose object (inline profile keys such as
 * `slack` or `firebaseToken` ride along), so the kind is decided by which keys are present.
 */
const recipientSchema = z.looseObject({
  user_id: id.optional(),
  email: z.string().min(3).max(320).optional(),
  phone_number: z.string().min(3).max(32).optional(),
  locale: z.string().max(35).optional(),
  data: obj.optional(),
  tenant_id: id.optional(),
  account_id: id.optional(),
  context: z.strictObject({ tenant_id: id.optional() }).optional(),
  list_id: listIdSchema.optional(),
  list_pattern: z.string().min(1).max(256).optional(),
  audience_id: id.optional(),
  include_children: z.boolean().optional(),
  include_parent: z.boolean().optional(),
  filters: z.array(memberOfFilter).max(10).optional(),
  // Courier's UserRecipient.Preferences: the recipient's own choices given inline (docs/decisions.md#d4).
  preferences: inlinePreferencesSchema.nullish(),
  // Inline chat addresses are checked here, so one that fits none of its forms is a 400 naming
  // the missing field, not a recipient that silently reaches nothing.
  ms_teams: teamsAddress.optional(),
  discord: discordAddress.optional(),
  pagerduty: pagerdutyAddress.optional(),
  // Checked as a refinement (its issues are custom, so the union of `to` forms still names the field), kept as sent: routing parses it at delivery.
  webhook: z
    .unknown()
    .superRefine((value, ctx) => {
      const parsed = webhookAddress.safeParse(value);
      if (!parsed.success)
        for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as (string | number)[] });
    })
    .optional(),
});

const duration = z.union([z.number().int().min(0), z.string().regex(ISO_DURATION, 'must be milliseconds or an ISO-8601 duration')]);
const isoTime = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time');

/** Why a `delay.until` cannot be read: an ISO-8601 time, or a window in the opening hours subset (domain/delivery-window.ts) that opens at some time. */
function untilIssue(until: string): string | undefined {
  if (looksIso(until)) return Number.isNaN(isoInstant(until, 'UTC')) ? 'must be an ISO-8601 time or opening hours (e.g. "Mo-Fr 09:00-17:00")' : undefined;
  try {
    return parseWindow(until).days.some((d) => d.length) ? undefined : `"${until}" is never open`;
  } catch (e) {
    if (e instanceof WindowSyntaxError) return e.message;
    throw e;
  }
}

const delaySchema = z.strictObject({
  duration: z.number().int().min(0).optional(),
  until: z
    .string()
    .max(500)
    .superRefine((s, ctx) => {
      const issue = untilIssue(s);
      if (issue) ctx.addIssue({ code: 'custom', message: issue });
    })
    .optional(),
  timezone: z.string().max(64).refine(isTimeZone, 'is not a known IANA time zone (e.g. "Europe/Berlin")').optional(),
});

// Strict, as every object of the message below: a key Courier's Message does not have (a typo such
// as `chanels`) is a 400 naming it, never accepted and dropped.
export const messageSchema = z
  .strictObject({
    to: z.union([recipientSchema, z.array(recipientSchema).min(1, 'must name at least one recipient').max(MAX_TO_ENTRIES)]),
    template: id.optional(),
    content: contentSchema.optional(),
    data: obj.optional(),
    brand_id: id.optional(),
    context: z.strictObject({ tenant_id: id.optional() }).optional(),
    routing: routingSchema.optional(),
    // A partial record: zod 4's record over an enum requires every key, which refused `{ email: {...} }`.
    channels: z
      .partialRecord(
        z.enum(CHANNELS),
        // Strict: every key of Courier's Channel does something here; any other is a 400 naming it, not dropped.
        z.strictObject({
          brand_id: id.nullish(),
          providers: z.array(z.string().min(1).max(64)).max(10).nullish(),
          routing_method: z.enum(['all', 'single']).nullish(),
          override: obj.nullish(),
          metadata: metadataSchema.nullish(),
          timeouts: z.object({ channel: z.number().int().positive().nullish(), provider: z.number().int().positive().nullish() }).nullish(),
          if: conditionSchema(MESSAGE_SCOPE),
        }),
      )
      .superRefine(checkChannelOverrides)
      .nullish(),
    providers: z
      .record(
        z.string().min(1).max(64),
        z.strictObject({
          override: obj.nullish(),
          metadata: metadataSchema.nullish(),
          timeouts: z.number().int().positive().nullish(),
          if: conditionSchema(MESSAGE_SCOPE),
        }),
      )
      .superRefine(checkProviderOverrides)
      .nullish(),
    timeout: z
      .strictObject({
        message: z.number().int().positive().optional(),
        provider: z.record(z.string(), z.number().int().positive()).superRefine(checkProviderKeys).optional(),
        channel: z.partialRecord(z.enum(CHANNELS), z.number().int().positive()).optional(),
        escalation: z.number().int().positive().optional(),
        criteria: z.enum(CRITERIA).optional(),
      })
      .refine((t) => t.criteria === undefined || t.criteria === 'no-escalation' || t.escalation !== undefined, {
        message: 'needs timeout.escalation: how long to wait for the criteria before escalating',
        path: ['criteria'],
      })
      .optional(),
    delay: delaySchema.optional(),
    expiry: z.strictObject({ expires_in: duration.optional(), expires_at: z.union([z.number().int().positive(), isoTime]).optional() }).optional(),
    metadata: z
      .strictObject({
        event: z.string().max(256).optional(),
        tags: z.array(z.string().max(128)).max(20).optional(),
        trace_id: z.string().max(256).optional(),
        utm: utmSchema.nullish(),
      })
      .optional(),
    preferences: z.strictObject({ subscription_topic_id: id }).optional(),
  })
  .refine((m) => m.content !== undefined || m.template !== undefined, { message: "Either 'content' or 'template' must be defined.", path: ['content'] });

export type SendMessage = z.infer<typeof messageSchema>;

/** A message as a request stores it: a send's, or a bulk run's, whose `to` names nobody (its users are the job's). */
/**
 * A stored `to` entry: its chat addresses are not checked again, so a request stored before their
 * forms were checked (an undeliverable `ms_teams`, say) still reads back; routing parses them at delivery.
 */
const storedRecipientSchema = recipientSchema.safeExtend({
  ms_teams: z.custom<TeamsAddress>().optional(),
  discord: z.custom<DiscordAddress>().optional(),
  pagerduty: z.custom<PagerdutyAddress>().optional(),
  webhook: z.custom<WebhookAddress>().optional(),
});
export const storedMessageSchema: z.ZodType<SendMessage> = messageSchema
  .safeExtend({
    to: z.union([storedRecipientSchema, z.array(storedRecipientSchema).max(MAX_TO_ENTRIES)]),
  })
  // A stored message is read back as it is: strictness is for what a sender sends.
  .loose();
export type RecipientEntry = z.infer<typeof recipientSchema>;

/** Keys of a `to` entry that say who or what it targets, not what the recipient's profile holds. */
const TARGETING_KEYS = new Set([
  'user_id',
  'data',
  'tenant_id',
  'account_id',
  'context',
  'list_id',
  'list_pattern',
  'audience_id',
  'include_children',
  'include_parent',
  'filters',
  'preferences',
]);
/** Keys through which an inline recipient (no user_id) can be reached. */
const ADDRESS_KEYS = ['email', 'phone_number', 'slack', 'ms_teams', 'discord', 'pagerduty', 'webhook', 'firebaseToken', 'apn', 'expo', 'target_arn'];

/**
 * Where one `to` entry sends: a user, an inline address, a list or pattern, an audience, a tenant
 * (tree), or a bulk job's users. Not routing's `Target` (a channel and provider).
 */
export type Destination =
  | { kind: 'user'; userId: string; inline: Record<string, unknown>; data?: Record<string, unknown>; tenantId?: string }
  | { kind: 'inline'; inline: Record<string, unknown>; data?: Record<string, unknown>; tenantId?: string }
  | { kind: 'list'; listId: string; data?: Record<string, unknown>; memberOf: string[] }
  | { kind: 'pattern'; pattern: string; data?: Record<string, unknown>; memberOf: string[] }
  | { kind: 'audience'; audienceId: string; data?: Record<string, unknown>; memberOf: string[] }
  | { kind: 'tenant'; tenantId: string; includeChildren: boolean; includeParent: boolean; data?: Record<string, unknown> }
  | { kind: 'bulk'; jobId: string };

export class TargetError extends Error {}

const inlineProfile = (entry: RecipientEntry): Record<string, unknown> =>
  Object.fromEntries(Object.entries(entry).filter(([k, v]) => !TARGETING_KEYS.has(k) && v !== undefined));

/**
 * Decides what a `to` entry targets. Order: audience, list pattern, list, user, tenant, inline.
 * `{ tenant_id }` alone is a tenant fan-out; with a user_id it is that user's tenant context.
 * Throws TargetError (the caller names the field) for an entry that reaches nobody.
 */
export function toDestination(entry: RecipientEntry): Destination {
  const memberOf = (entry.filters ?? []).map((f) => f.value);
  if (entry.audience_id) return { kind: 'audience', audienceId: entry.audience_id, data: entry.data, memberOf };
  if (entry.list_pattern) {
    try {
      compileListPattern(entry.list_pattern);
    } catch (e) {
      throw new TargetError(`list_pattern: ${(e as Error).message}`);
    }
    return { kind: 'pattern', pattern: entry.list_pattern, data: entry.data, memberOf };
  }
  if (entry.list_id && !entry.user_id) return { kind: 'list', listId: entry.list_id, data: entry.data, memberOf };
  const tenantId = entry.context?.tenant_id ?? entry.tenant_id ?? entry.account_id;
  if (entry.user_id) return { kind: 'user', userId: entry.user_id, inline: inlineProfile(entry), data: entry.data, tenantId };
  const inline = inlineProfile(entry);
  const reachable = ADDRESS_KEYS.some((k) => inline[k] !== undefined);
  if (!reachable && (entry.tenant_id || entry.account_id)) {
    return {
      kind: 'tenant',
      tenantId: (entry.tenant_id ?? entry.account_id)!,
      includeChildren: entry.include_children === true,
      includeParent: entry.include_parent === true,
      data: entry.data,
    };
  }
  if (!reachable) throw new TargetError(`names no user_id, list, audience, tenant or address (one of ${ADDRESS_KEYS.join(', ')})`);
  return { kind: 'inline', inline, data: entry.data, tenantId: entry.context?.tenant_id };
}

export const targetsOf = (to: SendMessage['to']): RecipientEntry[] => (Array.isArray(to) ? to : [to]);

/** A single user or inline recipient (not an array): its message id is the request id. */
export const isSingleRecipient = (to: SendMessage['to']): boolean => !Array.isArray(to) && ['user', 'inline'].includes(toDestination(to).kind);

/**
 * Can one user be reached twice? Then the fan-out records a user's message as it first reaches
 * them, so the first (nearest) reach wins and later ones are skipped. `members`: one tenant
 * hierarchy, where only a user with several memberships can be reached twice, so only those
 * (their memberships are flagged `shared`) are recorded; `all`: several targets or a list pattern, where anyone can.
 */
export type DedupeMode = 'none' | 'members' | 'all';
export function dedupeMode(targets: Destination[]): DedupeMode {
  const [first] = targets;
  if (targets.length === 1 && first.kind === 'tenant') return first.includeChildren || first.includeParent ? 'members' : 'none';
  return targets.length > 1 || targets.some((t) => t.kind === 'pattern') ? 'all' : 'none';
}

/** The dedupe key of a recipient: its user id, or a digest of its inline addresses. */
export function recipientKey(r: { userId?: string; inline?: Record<string, unknown> }): string {
  if (r.userId !== undefined) return `u:${r.userId}`;
  const addresses = Object.fromEntries(ADDRESS_KEYS.filter((k) => r.inline?.[k] !== undefined).map((k) => [k, r.inline![k]]));
  return `i:${JSON.stringify(addresses)}`;
}

/**
 * Message ids: a single-recipient request's message id is the request id; a fan-out recipient's
 * names its slot in a delivery job (slotMessageId), except where the id must follow from the
 * recipient: `<requestId>.<12 base64url chars of SHA-256(recipient key)>`, for a user a fan-out may
 * reach twice (a second reach maps to the same message) and for bulk runs.
 */
export function messageIdFor(requestId: string, key: string | undefined): string {
  if (key === undefined) return requestId;
  return `${requestId}.${createHash('sha256').update(key).digest('base64url').slice(0, 12)}`;
}

/**
 * The message id of a fan-out recipient in a delivery job written to the request's outbox first
 * (fanout-send.ts): `<requestId>.<outbox>.<job>.<slot>`, each base36 — the outbox is the number of
 * recipients the fan-out emitted before it, the job its index in the outbox, the slot the
 * recipient's index in the job. The outbox fixes the job's recipients before the job is sent, so a
 * replayed fan-out re-sends the same recipients under the same ids.
 */
export function slotMessageId(requestId: string, at: JobSlot): string {
  return `${requestId}.${slotSuffix(at)}`;
}

/** Where a slot message id points: its outbox, job and slot. */
export interface JobSlot {
  outbox: number;
  job: number;
  slot: number;
}

/** The part of a slot message id after its request id. */
export const slotSuffix = (at: JobSlot): string => `${at.outbox.toString(36)}.${at.job.toString(36)}.${at.slot.toString(36)}`;

/** The slot a message id's suffix names, if it is a slot's. */
export function slotOf(suffix: string): JobSlot | undefined {
  const m = /^([0-9a-z]{1,10})\.([0-9a-z]{1,4})\.([0-9a-z]{1,4})$/.exec(suffix);
  return m ? { outbox: Number.parseInt(m[1], 36), job: Number.parseInt(m[2], 36), slot: Number.parseInt(m[3], 36) } : undefined;
}

export function parseMessageId(messageId: string): { requestId: string; suffix: string; slot?: JobSlot } | undefined {
  const m = /^([0-9a-z]{10,40})(?:\.([A-Za-z0-9_.-]{5,20}))?$/.exec(messageId);
  if (!m) return undefined;
  if (m[2] === undefined) return { requestId: m[1], suffix: '-' };
  const slot = slotOf(m[2]);
  if (slot) return { requestId: m[1], suffix: m[2], slot };
  return /^[A-Za-z0-9_-]{12}$/.test(m[2]) ? { requestId: m[1], suffix: m[2] } : undefined;
}

/**
 * When a message id made here was made: its request id starts with 9 base36 chars of epoch ms
 * (`newRequestId`, `requestIdFor`). Undefined for an id that is not one of ours.
 */
export function messageIdTime(messageId: string): number | undefined {
  const id = parseMessageId(messageId);
  return id ? Number.parseInt(id.requestId.slice(0, 9), 36) : undefined;
}

/**
 * The request id of an idempotent operation: time-sortable like `newRequestId` (its first claim's
 * time), then 13 base36 chars of the key's hash instead of random ones, so every attempt under
 * one Idempotency-Key names the same request.
 */
export function requestIdFor(created: number, scope: string): string {
  const digest = createHash('sha256').update(`request:${scope}`).digest();
  return created.toString(36).padStart(9, '0') + Array.from(digest.subarray(0, 13), (b) => (b % 36).toString(36)).join('');
}

/** Time-sortable request ids: 9 base36 chars of epoch ms, then 13 random base36 chars. */
export function newRequestId(now: number): string {
  const random = Array.from(crypto.getRandomValues(new Uint8Array(13)), (b) => (b % 36).toString(36)).join('');
  return now.toString(36).padStart(9, '0') + random;
}

/** The display recipient of MessageDetails: the user id, else the first inline address. */
export function displayRecipient(r: { userId?: string; inline?: Record<string, unknown> }): string {
  if (r.userId) return r.userId;
  for (const k of ADDRESS_KEYS) {
    const v = r.inline?.[k];
    if (typeof v === 'string') return v;
    if (v !== undefined) return k;
  }
  return 'unknown';
}

/**
 * When a delayed request is due (epoch ms), or undefined when it is due at once: no delay, an
 * `until` in the past, a window open now, or a window whose time zone is each recipient's
 * (recipientWindow: the delivery worker works it out per recipient). An ISO `until` without an
 * offset is a wall time in `delay.timezone` (else UTC); a window is read in `delay.timezone`.
 */
export function dueTime(delay: SendMessage['delay'], now: number): number | undefined {
  if (!delay) return undefined;
  if (delay.until) {
    if (!looksIso(delay.until)) {
      if (!delay.timezone) return undefined;
      const opens = nextOpening(parseWindow(delay.until), now, delay.timezone);
      return opens !== undefined && opens > now ? opens : undefined;
    }
    const at = isoInstant(delay.until, delay.timezone ?? 'UTC');
    return at > now ? at : undefined;
  }
  if (delay.duration) return now + delay.duration;
  return undefined;
}

/**
 * The window of a send whose `delay.until` is opening hours without `delay.timezone`: each
 * recipient waits for it in their profile's time zone, so the delivery worker works out each due
 * time once it has the profile. Undefined for any other delay.
 */
export function recipientWindow(delay: SendMessage['delay']): DeliveryWindow | undefined {
  return delay?.until && !delay.timezone && !looksIso(delay.until) ? parseWindow(delay.until) : undefined;
}

/**
 * Why a delay is refused: it ends more than `maxDays` days after `now` (a far-future delay would
 * hop through the queue every 15 minutes until then). The message names the field that set it.
 */
export function delayLimitIssue(delay: SendMessage['delay'], now: number, maxDays: number): string | undefined {
  const due = dueTime(delay, now);
  if (due === undefined || due - now <= maxDays * 86_400_000) return undefined;
  return `Invalid request: body.message.delay.${delay?.until ? 'until' : 'duration'}: a delay may end at most ${maxDays} days ahead (MAX_DELAY_DAYS)`;
}

/** `expires_in` as milliseconds: a number, or an ISO-8601 duration (`P1DT4H`; months are 30 days). */
export function durationMs(value: number | string): number {
  return typeof value === 'number' ? value : isoDurationMs(value)!;
}

/** When an undelivered message expires (epoch ms), or undefined. */
export function expiryTime(expiry: SendMessage['expiry'], enqueued: number): number | undefined {
  if (!expiry) return undefined;
  if (expiry.expires_at !== undefined) return typeof expiry.expires_at === 'number' ? expiry.expires_at : Date.parse(expiry.expires_at);
  if (expiry.expires_in !== undefined) return enqueued + durationMs(expiry.expires_in);
  return undefined;
}
