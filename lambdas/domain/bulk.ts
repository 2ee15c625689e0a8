import { z } from 'zod';
import type { DeliveryRecipient } from '../shared/jobs';
import { contentSchema } from './render';
import { messageIdFor, recipientKey, type SendMessage } from './send';
import { idSchema } from './ids';
import { inlinePreferencesSchema, recipientPreferencesSchema } from './preferences';

/** Users one `POST /bulk/:job_id` call may add (Courier's limit per call). */
export const MAX_USERS_PER_CALL = 1000;

const id = idSchema;
const obj = z.record(z.string(), z.unknown());

/**
 * Courier's `InboundBulkMessage`. `event` is required: an event or notification id, used as the
 * template unless `template` or `content` is given (Courier's "V2 format"). The SDK allows null on
 * every optional field. There is no `to`, `routing` or `channels`: each user is a recipient and the
 * template (or the default routing) decides the channels.
 */
export const bulkMessageSchema = z.strictObject({
  event: id,
  template: id.nullish(),
  content: contentSchema.nullish(),
  brand: id.nullish(),
  data: obj.nullish(),
  // Accepted by the SDK's types, undocumented, and not honoured here: refused rather than dropped.
  locale: z
    .record(z.string(), obj)
    .nullish()
    .refine(
      (v) => v === null || v === undefined,
      "is not supported: send per-locale content through the template's locales (PUT /notifications/:id/locales/:locale_id)",
    ),
  override: obj
    .nullish()
    .refine((v) => v === null || v === undefined, 'is not supported on bulk jobs: a send takes providers.<key>.override and channels.<channel>.override'),
});
export type BulkMessage = z.infer<typeof bulkMessageSchema>;

/** Courier's `UserRecipient` as a bulk user's `to`: known keys checked, inline profile keys kept. */
const userRecipientSchema = z.looseObject({
  user_id: id.nullish(),
  email: z.string().min(3).max(320).nullish(),
  phone_number: z.string().min(3).max(32).nullish(),
  locale: z.string().max(35).nullish(),
  data: obj.nullish(),
  tenant_id: id.nullish(),
  account_id: id.nullish(),
  list_id: id.nullish(),
  context: z.strictObject({ tenant_id: id.nullish() }).nullish(),
  preferences: inlinePreferencesSchema.nullish(),
});

/** Courier's `InboundBulkMessageUser`. `data` must be an object: it is merged over message.data. */
export const bulkUserSchema = z.strictObject({
  profile: obj.nullish(),
  to: userRecipientSchema.nullish(),
  data: obj.nullish(),
  preferences: recipientPreferencesSchema.nullish(),
  recipient: id.nullish(),
});
export type BulkUser = z.infer<typeof bulkUserSchema>;

export const bulkJobStatus = z.enum(['CREATED', 'PROCESSING', 'COMPLETED', 'ERROR']);
export type BulkJobStatus = z.infer<typeof bulkJobStatus>;
export type BulkUserStatus = 'PENDING' | 'ENQUEUED' | 'ERROR';

/** The run's send message: template = `template`, else `event` unless inline `content` is given. */
export function bulkSendMessage(m: BulkMessage): SendMessage {
  const template = m.template ?? (m.content ? undefined : m.event);
  return {
    // The recipients are the job's users (RequestRecord.bulkJobId); `to` names nobody.
    to: [],
    ...(template ? { template } : {}),
    ...(m.content ? { content: m.content } : {}),
    ...(m.data ? { data: m.data } : {}),
    ...(m.brand ? { brand_id: m.brand } : {}),
    metadata: { event: m.event },
  };
}

/** Keys of `to` that say who the user is or carry message data, not profile fields. */
const TO_TARGETING_KEYS = new Set(['user_id', 'data', 'tenant_id', 'account_id', 'context', 'list_id', 'preferences']);

const withoutNulls = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));

/**
 * The recipient a bulk user becomes: user id = `to.user_id`, else the legacy `recipient`; inline
 * profile = `profile` with the profile fields of `to` over it (Courier routes email jobs on
 * `profile.email`); data = `to.data` then the user's `data` (the delivery worker merges it over the
 * message data); tenant context from `to`. Undefined when the user names no user id and no address:
 * such a user cannot be sent to (status ERROR, counted in the job's failures).
 */
export function bulkRecipient(user: BulkUser): Omit<DeliveryRecipient, 'messageId'> | undefined {
  const to = user.to ?? {};
  const userId = to.user_id ?? user.recipient ?? undefined;
  const inline = {
    ...withoutNulls(user.profile ?? {}),
    ...withoutNulls(Object.fromEntries(Object.entries(to).filter(([k]) => !TO_TARGETING_KEYS.has(k)))),
  };
  const data = user.data || to.data ? { ...to.data, ...user.data } : undefined;
  const tenantId = to.context?.tenant_id ?? to.tenant_id ?? to.account_id ?? undefined;
  // The user's choices given with the job, as a send's to.preferences (docs/decisions.md D4, layer R): `to.preferences` over `preferences`.
  const preferences = to.preferences ?? user.preferences ?? undefined;
  const r = {
    ...(userId !== undefined ? { userId } : {}),
    ...(preferences ? { preferences } : {}),
    ...(Object.keys(inline).length ? { inline } : {}),
    ...(data ? { data } : {}),
    ...(tenantId ? { tenantId } : {}),
  };
  if (userId === undefined && recipientKey(r) === recipientKey({})) return undefined;
  return r;
}

/** A bulk user's message id in the run `requestId`: the fan-out's deterministic id, no lookup. */
export const bulkMessageId = (requestId: string, r: { userId?: string; inline?: Record<string, unknown> }): string => messageIdFor(requestId, recipientKey(r));
