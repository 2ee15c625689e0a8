import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { applyPatch, type Operation } from 'fast-json-patch';
import { z } from 'zod';
import { now } from '../shared/clock';
import { ValidationError } from '../shared/errors';
import { conditional, expectation, newRev, retryOnConflict, changed } from './conditional';
import { keys } from './keys';
import { everyPage } from './pages';
import { deleteItem, getItem, parseStored, queryPage, TABLE, type StoredItem } from './table';

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

const expiryOf = (t: Pick<DeviceToken, 'expiry_date'>, at: number): number | undefined =>
  t.expiry_date === false ? undefined : typeof t.expiry_date === 'string' ? Date.parse(t.expiry_date) : at + DEFAULT_LIFETIME_MS;

const toToken = (item: StoredItem): DeviceToken => parseStored(item.doc, storedToken, `${item.pk} / ${item.sk}`);

function itemOf(userId: string, token: DeviceToken, rev: string) {
  const at = Date.parse(token.updated);
  const expiry = expiryOf(token, at);
  const expiry_date = token.expiry_date === false ? false : new Date(expiry!).toISOString();
  return {
    ...keys.deviceToken(userId, token.token),
    _t: 'DeviceToken',
    rev,
    doc: JSON.stringify({ ...token, expiry_date }),
    ...(expiry === undefined ? {} : { ttl: Math.floor(expiry / 1000) }),
  };
}

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
  const t = new Date(now()).toISOString();
  await retryOnConflict(
    async () => {
      const current = await getItem(keys.deviceToken(userId, token));
      const next: DeviceToken = { ...fields, token, status: fields.status ?? 'active', created: current ? toToken(current).created : t, updated: t };
      const expected = current ? { rev: typeof current.rev === 'string' ? current.rev : null } : ('absent' as const);
      if (!(await conditional(new PutCommand({ TableName: TABLE, Item: itemOf(userId, next, newRev()), ...expectation(expected) }))))
        throw changed(`Token ${token}`);
    },
    { attempts: 5 },
  );
}

/** Applies a JSON Patch (RFC 6902) to a token's fields; false when there is no such token. */
export async function patchToken(userId: string, token: string, patch: Operation[]): Promise<boolean> {
  return retryOnConflict(
    async () => {
      const current = await getItem(keys.deviceToken(userId, token));
      if (!current) return false;
      const stored = toToken(current);
      const { token: _t, created, updated: _u, ...fields } = stored;
      let patched: unknown;
      try {
        patched = applyPatch(structuredClone(fields), patch, true, false).newDocument;
      } catch (e) {
        throw new ValidationError(`Invalid request: body.patch: ${(e as Error).message.split('\n')[0]}`);
      }
      const valid = tokenFields.safeParse(patched);
      if (!valid.success) throw ValidationError.fromZod('body.patch (the token after it)', valid.error);
      const next: DeviceToken = { ...valid.data, token, status: valid.data.status ?? stored.status, created, updated: new Date(now()).toISOString() };
      const expected = { rev: typeof current.rev === 'string' ? current.rev : null };
      if (!(await conditional(new PutCommand({ TableName: TABLE, Item: itemOf(userId, next, newRev()), ...expectation(expected) }))))
        throw changed(`Token ${token}`);
      return true;
    },
    { attempts: 5 },
  );
}

export async function deleteToken(userId: string, token: string): Promise<void> {
  await deleteItem(keys.deviceToken(userId, token));
}

/** The tokens a push provider may use now: active (or of unknown status) and not expired. */
export async function usableTokens(userId: string, providerKey: PushProviderKey): Promise<string[]> {
  const at = now();
  return (await listTokens(userId))
    .filter((t) => t.provider_key === providerKey && (t.status === 'active' || t.status === 'unknown') && (expiryOf(t, Date.parse(t.updated)) ?? Infinity) > at)
    .map((t) => t.token);
}

/** Marks tokens a provider reported invalid as `failed` (those of the user's that are stored; others are the profile's own). */
export async function markTokensFailed(userId: string, tokens: string[], reason: string): Promise<void> {
  await Promise.all(
    tokens.map((token) =>
      patchToken(userId, token, [
        { op: 'replace', path: '/status', value: 'failed' },
        { op: 'add', path: '/status_reason', value: reason },
      ]),
    ),
  );
}
