import { applyPatch, type Operation } from 'fast-json-patch';
import { z } from 'zod';
import { now } from '../shared/clock';
import { ValidationError } from '../shared/errors';
import { keys } from './keys';
import { everyPage } from './pages';
import { deleteItem, getItem, parseStored, queryPage, updateDoc, updateExistingDoc, type StoredItem } from './table';

/**
 * Device tokens of a user (Courier's `/users/:user_id/tokens`): one item each in the user's
 * partition. A token expires at `expiry_date` (two months after it was last put unless given;
 * `false`: never) through DynamoDB's TTL, and is not used after it even before TTL removes it. A
 * token a push provider reports invalid is marked `failed` and not used again.
 */

export const PUSH_PROVIDER_KEYS = ['firebase-fcm', 'apn', 'expo', 'onesignal'] as const;
export type PushProviderKey = (typeof PUSH_PROVIDER_KEYS)[number];

const nullableText = z.string().max(1024).nullish();
const device = z.object({
  ad_id: nullableText,
  app_id: nullableText,
  device_id: nullableText,
  manufacturer: nullableText,
  model: nullableText,
  platform: nullableText,
});
const tracking = z.object({ ip: nullableText, lat: nullableText, long: nullableText, os_version: nullableText });

/** What a client may set on a token (PUT's body; PATCH applies to the same fields). */
export const tokenFields = z.object({
  provider_key: z.enum(PUSH_PROVIDER_KEYS),
  device: device.nullish(),
  tracking: tracking.nullish(),
  /** ISO time, `false` for no expiry; absent, null or `true`: two months from now. */
  expiry_date: z.union([z.iso.datetime({ offset: true }), z.boolean()]).nullish(),
  properties: z.unknown().optional(),
  status: z.enum(['active', 'unknown', 'failed', 'revoked']).nullish(),
  status_reason: z.string().max(1024).nullish(),
});
export type TokenFields = z.infer<typeof tokenFields>;

const storedToken = tokenFields.extend({
  token: z.string(),
  status: z.enum(['active', 'unknown', 'failed', 'revoked']),
  created: z.string(),
  updated: z.string(),
});
export type DeviceToken = z.infer<typeof storedToken>;

/** How long a token lives without an `expiry_date`: Courier's two months. */
const DEFAULT_LIFETIME_MS = 61 * 86_400_000;

const expiryOf = (t: Pick<DeviceToken, 'expiry_date'>): number | undefined => (typeof t.expiry_date === 'string' ? Date.parse(t.expiry_date) : undefined);

/** The token as stored: its `expiry_date` made a time (two months from `at` unless given; `false` kept). */
const withExpiry = (t: DeviceToken, at: number): DeviceToken =>
  t.expiry_date === false || typeof t.expiry_date === 'string' ? t : { ...t, expiry_date: new Date(at + DEFAULT_LIFETIME_MS).toISOString() };

/** The item's attributes besides its document: TTL removes it once it expires. */
const attributes = (t: DeviceToken) => {
  const expiry = expiryOf(t);
  return { _t: 'DeviceToken', ...(expiry === undefined ? {} : { ttl: Math.floor(expiry / 1000) }) };
};

const toToken = (item: StoredItem): DeviceToken => parseStored(item.doc, storedToken, `${item.pk} / ${item.sk}`);

export async function getToken(userId: string, token: string): Promise<DeviceToken | undefined> {
  const item = await getItem(keys.deviceToken(userId, token));
  return item && toToken(item);
}

const tokensPage = async (userId: string, limit: number, cursor?: string) => {
  const page = await queryPage({ partition: keys.deviceToken(userId, '').pk, prefix: keys.deviceTokensPrefix, limit, cursor });
  return { items: page.items.map(toToken), cursor: page.cursor };
};

/** Every token of a user (a user has a handful: one per device). */
export async function listTokens(userId: string): Promise<DeviceToken[]> {
  const all: DeviceToken[] = [];
  for await (const items of everyPage((limit, cursor) => tokensPage(userId, limit, cursor))) all.push(...items);
  return all;
}

/** Puts a token (created, or replaced keeping when it was created); active unless the body says otherwise. */
export async function putToken(userId: string, token: string, fields: TokenFields): Promise<void> {
  const at = now();
  const t = new Date(at).toISOString();
  await updateDoc(
    keys.deviceToken(userId, token),
    storedToken,
    (current) => withExpiry({ ...fields, token, status: fields.status ?? 'active', created: current?.created ?? t, updated: t }, at),
    attributes,
  );
}

/** Applies a JSON Patch (RFC 6902) to a token's fields; false when there is no such token. */
export async function patchToken(userId: string, token: string, patch: Operation[]): Promise<boolean> {
  const at = now();
  const written = await updateExistingDoc(
    keys.deviceToken(userId, token),
    storedToken,
    ({ token: _t, created, updated: _u, ...fields }) => {
      let patched: unknown;
      try {
        patched = applyPatch(structuredClone(fields), patch, true, false).newDocument;
      } catch (e) {
        throw new ValidationError(`Invalid request: body.patch: ${(e as Error).message.split('\n')[0]}`);
      }
      const valid = tokenFields.safeParse(patched);
      if (!valid.success) throw ValidationError.fromZod('body.patch (the token after it)', valid.error);
      return withExpiry({ ...valid.data, token, status: valid.data.status ?? fields.status, created, updated: new Date(at).toISOString() }, at);
    },
    attributes,
  );
  return written !== undefined;
}

export async function deleteToken(userId: string, token: string): Promise<void> {
  await deleteItem(keys.deviceToken(userId, token));
}

/** The tokens each push provider may use now, by provider key: active (or of unknown status) and not expired. */
export async function usableTokens(userId: string): Promise<Partial<Record<PushProviderKey, string[]>>> {
  const at = now();
  const byProvider: Partial<Record<PushProviderKey, string[]>> = {};
  for (const t of await listTokens(userId))
    if ((t.status === 'active' || t.status === 'unknown') && (expiryOf(t) ?? Infinity) > at) (byProvider[t.provider_key] ??= []).push(t.token);
  return byProvider;
}

/** Why a token is marked failed when a provider reports it invalid for a message (at send time or in a later receipt). */
export const invalidTokenReason = (messageId: string): string => `the provider reported the token invalid (message ${messageId})`;

/** Marks tokens a provider reported invalid as `failed` (those of the user's that are stored; others are the profile's own). */
export async function markTokensFailed(userId: string, tokens: string[], reason: string): Promise<void> {
  const updated = new Date(now()).toISOString();
  await Promise.all(
    tokens.map((token) =>
      updateExistingDoc(keys.deviceToken(userId, token), storedToken, (t) => ({ ...t, status: 'failed' as const, status_reason: reason, updated }), attributes),
    ),
  );
}
