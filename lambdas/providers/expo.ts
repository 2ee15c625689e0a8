import type { AddressOf } from '../domain/addresses';
import { deepMerge } from '../domain/overrides';
import { expoSettings } from './catalog';
import { ProviderError, type ProviderAdapter, type ProviderResult, type ProviderSend } from './port';
import { invalidAddress, parseJson, parseSettings, sharedHttp, withOverride, type HttpClient } from './transport';

const EXPO_API = 'https://exp.host';
/** Expo takes at most 100 messages in one request (its SDK's `chunkPushNotifications` chunks by it too). */
export const EXPO_BATCH = 100;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v : [v]).filter((t): t is string => typeof t === 'string' && t.trim() !== '');

/** The profile's Expo push tokens: `expo.token`, `expo.tokens` (a list), or the token itself. */
export function expoTokens(address: AddressOf<'push'>): string[] {
  const value = address.expo;
  const held =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? [(value as { token?: unknown }).token, (value as { tokens?: unknown }).tokens]
      : [value];
  const list = [...new Set(held.flatMap(strings))];
  if (list.length === 0) throw invalidAddress('expo', 'the profile has no expo token');
  return list;
}

/**
 * One Expo push message per token (so each ticket names its token): title and body as rendered,
 * `data` the push channel override's with `courier_message_id`, then the provider override's body
 * deep-merged (sound, badge, ttl, priority, channelId, ...: Expo's own fields, which Expo checks).
 */
export const expoMessage = (to: string, message: ProviderSend<'push'>): Record<string, unknown> =>
  deepMerge(
    {
      to,
      ...(message.content.title ? { title: message.content.title } : {}),
      ...(message.content.body ? { body: message.content.body } : {}),
      data: { ...message.data, courier_message_id: message.messageId },
    } as Record<string, unknown>,
    message.override?.body,
  );

interface Ticket {
  status?: string;
  id?: string;
  message?: string;
  details?: { error?: string };
}

/** An Expo push receipt: `ok` (Expo handed the push to FCM or APNs), or `error` with Expo's code in `details.error`. */
export interface ExpoReceipt {
  status?: string;
  message?: string;
  details?: { error?: string };
}

/** Expo answers at most 1000 receipt ids in one request. */
export const EXPO_RECEIPT_BATCH = 1000;

/**
 * The receipts of push tickets (`POST /--/api/v2/push/getReceipts` with `{ ids }`, at most 1000 ids
 * a request, the access token as a bearer when set), by ticket id. A ticket whose receipt is not
 * ready yet is absent. Failures are classified as a send's are (429 and 5xx transient).
 */
export async function fetchExpoReceipts(
  rawSettings: Record<string, unknown>,
  ids: readonly string[],
  timeoutMs: number,
  http: HttpClient = sharedHttp(),
): Promise<Record<string, ExpoReceipt>> {
  const settings = parseSettings(expoSettings, rawSettings, 'expo');
  const url = `${(settings.api_url ?? EXPO_API).replace(/\/$/, '')}/--/api/v2/push/getReceipts`;
  const receipts: Record<string, ExpoReceipt> = {};
  for (let i = 0; i < ids.length; i += EXPO_RECEIPT_BATCH) {
    const reply = await http.request({
      url,
      headers: {
        accept: 'application/json',
        'content-type': 'application/json',
        ...(settings.access_token ? { authorization: `Bearer ${settings.access_token}` } : {}),
      },
      body: JSON.stringify({ ids: ids.slice(i, i + EXPO_RECEIPT_BATCH) }),
      timeoutMs,
      what: 'expo receipts',
    });
    const data = (parseJson(reply.text) as { data?: unknown } | undefined)?.data;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ProviderError('expo answered receipts without a data object', true);
    for (const [id, receipt] of Object.entries(data)) if (typeof receipt === 'object' && receipt !== null) receipts[id] = receipt as ExpoReceipt;
  }
  return receipts;
}

/** Ticket errors worth a retry: Expo's rate limit for one device. The others (MessageTooBig, InvalidCredentials, ...) are permanent. */
const TRANSIENT_TICKET = new Set(['MessageRateExceeded']);

/**
 * Push through Expo's push API (`POST /--/api/v2/push/send`), up to 100 messages a request, with
 * the access token as a bearer when set. Each message's ticket says whether Expo took it: the push
 * counts as sent when any did; a `DeviceNotRegistered` ticket reports its token invalid. The ticket
 * id is the provider message id.
 */
export class ExpoAdapter implements ProviderAdapter<'push'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'push'>): Promise<ProviderResult> {
    const settings = parseSettings(expoSettings, message.settings, 'expo');
    const targets = expoTokens(message.address);
    const url = `${(settings.api_url ?? EXPO_API).replace(/\/$/, '')}/--/api/v2/push/send`;
    const tickets: Ticket[] = [];
    for (let i = 0; i < targets.length; i += EXPO_BATCH) {
      const batch = targets.slice(i, i + EXPO_BATCH);
      const reply = await this.http.request(
        withOverride(
          {
            url,
            headers: {
              accept: 'application/json',
              'content-type': 'application/json',
              ...(settings.access_token ? { authorization: `Bearer ${settings.access_token}` } : {}),
            },
            body: JSON.stringify(batch.map((to) => expoMessage(to, message))),
            timeoutMs: message.timeoutMs,
            what: 'expo',
          },
          message.override,
        ),
      );
      const data = (parseJson(reply.text) as { data?: unknown } | undefined)?.data;
      if (!Array.isArray(data) || data.length !== batch.length) throw new ProviderError('expo answered without a ticket per message', true);
      tickets.push(...(data as Ticket[]));
    }
    const invalidTokens = targets.filter((_, i) => tickets[i].status === 'error' && tickets[i].details?.error === 'DeviceNotRegistered');
    const taken = targets.flatMap((token, i) => (tickets[i].status === 'ok' && typeof tickets[i].id === 'string' ? [{ id: tickets[i].id, token }] : []));
    if (taken.length) return { providerMessageId: taken[0].id, status: 'SENT', tickets: taken, ...(invalidTokens.length ? { invalidTokens } : {}) };
    const codes = tickets.map((t) => t.details?.error ?? 'error');
    const error = new ProviderError(
      `expo refused the push: ${[...new Set(codes)].join(', ')}`,
      codes.some((c) => TRANSIENT_TICKET.has(c)),
    );
    if (invalidTokens.length) error.invalidTokens = invalidTokens;
    throw error;
  }
}
