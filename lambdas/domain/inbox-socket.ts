/**
 * The realtime inbox socket's pure parts (README "The realtime inbox socket"): what a client may
 * send (courier-js 3.4.0's CourierInboxSocket), what the server answers, which connections an inbox
 * event reaches, and an event as sent, within the push size limit.
 */
import { z } from 'zod';
import { idSchema } from './ids';
import { toNode, type MessageNode, type StoredMessage } from './inbox-graphql';

/** The inbox events courier-js knows (its InboxMessageEvent), each naming one message or, the last three, all of them. */
export const MESSAGE_EVENTS = ['read', 'unread', 'opened', 'unopened', 'archive', 'unarchive', 'clicked'] as const;
export const BULK_EVENTS = ['mark-all-read', 'archive-read', 'archive-all'] as const;
export type MessageEvent = (typeof MESSAGE_EVENTS)[number];
export type BulkEvent = (typeof BULK_EVENTS)[number];

/**
 * An inbox change to push to a user's sockets. `tenantId` is the tenant context of the message (for
 * a new message or one message's change), or the tenant a bulk change was limited to (undefined:
 * every message of the user).
 */
export type InboxEvent =
  | { event: 'message'; message: StoredMessage; tenantId?: string }
  | { event: MessageEvent; messageId: string; tenantId?: string }
  | { event: BulkEvent; tenantId?: string };

/** What a stored connection says about who may receive what. */
export interface SocketConnection {
  connectionId: string;
  userId: string;
  /** The tenant the connection is bound to: its token's `tenant_id` scope, else the `accountId` it subscribed with. */
  tenantId?: string;
  /** It asked for events (`subscribe`); a connection that did not (or unsubscribed) gets none. */
  subscribed: boolean;
  connectedAt: number;
  /** The token the connection was opened with: when it was issued (seconds, the JWT's `iat`) and when it expires (ms). */
  tokenIssuedAt?: number;
  tokenExpiresAt?: number;
}

/**
 * Whether the token a connection was opened with still holds at `nowMs`: not expired, and not issued
 * before the user's tokens were revoked (`validAfter`, seconds, as the inbox routes judge it). A
 * connection whose token no longer holds gets nothing more: it is closed at the next push.
 */
export function tokenHolds(c: SocketConnection, nowMs: number, validAfter: number | undefined): boolean {
  if (c.tokenExpiresAt !== undefined && c.tokenExpiresAt <= nowMs) return false;
  return validAfter === undefined || c.tokenIssuedAt === undefined || c.tokenIssuedAt >= validAfter;
}

/**
 * Whether a connection receives an event: it subscribed, and it sees the event's messages. A
 * connection with no tenant sees every message of its user; one bound to tenant A only A's, so it
 * gets neither tenant B's events nor a bulk change of the user's whole inbox limited to B. A bulk
 * change limited to one tenant does not reach a connection without one either: its view holds other
 * tenants' messages, which the change did not touch (it shows the change at its next refetch).
 */
export function receives(c: SocketConnection, e: InboxEvent): boolean {
  if (!c.subscribed) return false;
  if ((BULK_EVENTS as readonly string[]).includes(e.event)) return e.tenantId === undefined || c.tenantId === e.tenantId;
  return c.tenantId === undefined || c.tenantId === e.tenantId;
}

/** The event as courier-js reads it (InboxMessageEventEnvelope): a new message's node, one message's id, or nothing for a bulk change. */
export type EventEnvelope = { event: 'message'; data: MessageNode } | { event: MessageEvent; messageId: string } | { event: BulkEvent };

const bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/**
 * The event as sent, at most `maxBytes` of JSON. Only a new message can be larger: courier-js needs
 * its node (an envelope without `data` throws in the client and is lost), so an oversized node keeps
 * its id, flags and time and loses its action buttons, then as much of its `preview` (the body) and
 * `title` as it takes to fit, cut with an ellipsis; the whole message is in the next listing.
 */
export function envelope(e: InboxEvent, maxBytes: number): EventEnvelope {
  if (e.event !== 'message') return 'messageId' in e ? { event: e.event, messageId: e.messageId } : { event: e.event };
  const full = { event: 'message' as const, data: toNode(e.message) };
  if (bytes(full) <= maxBytes) return full;
  let node: MessageNode = { ...full.data, actions: [] };
  for (const field of ['preview', 'title'] as const) {
    const text = node[field];
    if (text === null || bytes({ event: 'message', data: node }) <= maxBytes) continue;
    const over = bytes({ event: 'message', data: node }) - maxBytes;
    node = { ...node, [field]: shorten(text, over) };
  }
  return { event: 'message', data: node };
}

/** `text` at least `overBytes` bytes (of its JSON) shorter, ending in an ellipsis; empty when it cannot keep anything. */
function shorten(text: string, overBytes: number): string {
  const chars = [...text];
  let drop = 0;
  let saved = 0;
  // JSON escapes make a character up to 6 bytes; count what each removed one saves, plus the ellipsis' 3.
  while (drop < chars.length && saved < overBytes + 3) {
    drop += 1;
    saved += bytes(chars[chars.length - drop]) - 2;
  }
  return drop >= chars.length ? '' : `${chars.slice(0, chars.length - drop).join('')}…`;
}

/** What courier-js sends (its ClientMessageEnvelope), checked before anything is done with it. */
const tid = z.string().min(1).max(128);
export const clientMessage = z.discriminatedUnion('action', [
  z.object({
    tid,
    action: z.literal('subscribe'),
    data: z.object({ channel: idSchema, event: z.string().max(64).optional(), accountId: idSchema.optional() }),
    stats: z.record(z.string(), z.unknown()).optional(),
  }),
  z.object({ tid, action: z.literal('unsubscribe'), data: z.object({ channel: idSchema }).optional(), stats: z.record(z.string(), z.unknown()).optional() }),
  z.object({ tid, action: z.literal('ping'), stats: z.record(z.string(), z.unknown()).optional() }),
  z.object({ tid, action: z.literal('pong'), stats: z.record(z.string(), z.unknown()).optional() }),
  z.object({ tid, action: z.literal('get-config'), stats: z.record(z.string(), z.unknown()).optional() }),
]);
export type ClientMessage = z.infer<typeof clientMessage>;

/** A server answer (ServerResponseEnvelope): `ack`, `pong`, `config`, or our `error` for a message that is refused. */
export type ServerAnswer =
  | { tid: string; response: 'ack' }
  | { tid: string; response: 'pong' }
  | { tid: string; response: 'config'; data: { pingInterval: number; maxOutstandingPings: number } }
  | { tid: string | null; response: 'error'; data: { message: string } };

/** Parses one client message: the message, or the error answer naming what is wrong (never a throw). */
export function parseClientMessage(body: string): { ok: true; message: ClientMessage } | { ok: false; answer: ServerAnswer } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, answer: { tid: null, response: 'error', data: { message: 'a message must be JSON' } } };
  }
  const parsed = clientMessage.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data };
  const raw = json as { tid?: unknown } | null;
  const t = typeof raw?.tid === 'string' ? raw.tid.slice(0, 128) : null;
  const issue = parsed.error.issues[0];
  return { ok: false, answer: { tid: t, response: 'error', data: { message: `${issue.path.join('.') || 'message'}: ${issue.message}` } } };
}

/**
 * The tenant a subscription binds its connection to: the token's, when it has one (a subscription
 * naming another is refused), else the `accountId` it names (the client's `tenantId` option), else
 * none. `channel` must be the connection's user.
 */
export function subscription(
  c: Pick<SocketConnection, 'userId' | 'tenantId'> & { tokenTenantId?: string },
  data: { channel: string; accountId?: string },
): { ok: true; tenantId?: string } | { ok: false; message: string } {
  if (data.channel !== c.userId) return { ok: false, message: 'data.channel: not the user of this connection' };
  if (c.tokenTenantId !== undefined && data.accountId !== undefined && data.accountId !== c.tokenTenantId)
    return { ok: false, message: 'data.accountId: the token is scoped to another tenant' };
  const tenantId = c.tokenTenantId ?? data.accountId;
  return { ok: true, ...(tenantId !== undefined ? { tenantId } : {}) };
}
