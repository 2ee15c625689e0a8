import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { displayRecipient, type SendMessage } from '../domain/send';
import type { DeliveryRecipient } from '../shared/jobs';
import type { RenderedOutput } from '../domain/render';
import { ddb } from '../shared/aws';
import { config } from '../shared/config';
import { requestBucket, requestKeys } from './keys';
import { batchWrite, getItem, isConditionFailure, queryAll, queryPage, TABLE, type StoredItem } from './table';

/** Courier's message statuses (courier-api "Status lifecycle"). */
export type MessageStatus =
  | 'ENQUEUED'
  | 'DELAYED'
  | 'ROUTED'
  | 'SENT'
  | 'DELIVERED'
  | 'FILTERED'
  | 'UNROUTABLE'
  | 'UNDELIVERABLE'
  | 'UNMAPPED'
  | 'CANCELED';

export const TERMINAL: ReadonlySet<MessageStatus> = new Set(['SENT', 'DELIVERED', 'FILTERED', 'UNROUTABLE', 'UNDELIVERABLE', 'UNMAPPED', 'CANCELED']);

export interface HistoryEvent {
  ts: number;
  type: string;
  [detail: string]: unknown;
}

/**
 * Delivery state of one target (`email`, `direct_message:slack`) of a message: `sending` while a
 * worker holds the claim, `retry` while a transient failure waits for `nextAt`, then one of the
 * outcomes. `providerIndex` / `providerAttempts` / `providerSince` track failover and the retry
 * window on the current provider.
 */
export interface ChannelState {
  state: 'sending' | 'retry' | 'delivered' | 'sent' | 'failed';
  provider?: string;
  /** Every provider call made for this target. */
  attempts: number;
  providerIndex?: number;
  providerAttempts?: number;
  providerSince?: number;
  nextAt?: number;
  /** When the current attempt was claimed: a claim older than the lease belongs to a stopped worker. */
  claimedAt?: number;
  error?: string;
}

/** One recipient's message: its log entry and the delivery state machine's durable state. */
export interface MessageRecord {
  id: string;
  requestId: string;
  recipient: string;
  userId?: string;
  tenantId?: string;
  status: MessageStatus;
  reason?: string;
  error?: string;
  enqueued: number;
  sent?: number;
  delivered?: number;
  channel?: string;
  provider?: string;
  providerMessageId?: string;
  notification: string;
  event: string;
  tags: string[];
  traceId?: string;
  listId?: string;
  audienceId?: string;
  /** Which fan-out reach created the record (dedupe of users reached twice). */
  reach?: string;
  /**
   * The delivery job entry of this recipient, so a sweeper can re-drive it. Without its `data`
   * (except for bulk runs): that is the request's `to` entry's, read from the request again.
   */
  job: DeliveryRecipient;
  channels: Record<string, ChannelState>;
  history: HistoryEvent[];
  outputs: RenderedOutput[];
}

export interface StoredRecord {
  record: MessageRecord;
  /** Optimistic-concurrency version: every write is conditional on it. */
  v: number;
  updated: number;
}

export interface RequestRecord {
  requestId: string;
  message: SendMessage;
  enqueued: number;
  single: boolean;
  /** `delay`: nothing is delivered before this time (epoch ms). */
  dueAt?: number;
  /** `expiry`: messages not delivered by then end UNDELIVERABLE (epoch ms). */
  expiresAt?: number;
  /** A bulk job's run: its users are the recipients (the job's message is `message`). */
  bulkJobId?: string;
  /** Fan-out progress, saved after every invocation so an interrupted expansion can resume. */
  fanout?: { done: boolean; emitted: number; state?: unknown };
}

/** A new message record for one recipient of a request, in its first status. */
export function newMessageRecord(req: RequestRecord, r: DeliveryRecipient, status: MessageStatus, now: number, reach?: string): MessageRecord {
  const m = req.message;
  return {
    id: r.messageId,
    requestId: req.requestId,
    recipient: displayRecipient(r),
    userId: r.userId,
    tenantId: r.fanoutTenantId ?? r.tenantId,
    status,
    enqueued: req.enqueued,
    notification: m.template ?? '',
    event: m.metadata?.event ?? m.template ?? '',
    tags: m.metadata?.tags ?? [],
    traceId: m.metadata?.trace_id,
    listId: r.listId,
    audienceId: r.audienceId,
    reach,
    job: storedJob(req, r),
    channels: {},
    history: [{ ts: now, type: status }],
    outputs: [],
  };
}

/**
 * The job entry a record keeps: the recipient's `data` comes from the request's `to` entry (the
 * delivery worker reads it there on a re-drive), so it is not copied into every record; only a bulk
 * run's per-user data, which the request does not hold, is kept.
 */
function storedJob(req: RequestRecord, r: DeliveryRecipient): DeliveryRecipient {
  if (req.bulkJobId || r.data === undefined) return r;
  const { data: _data, ...rest } = r;
  return rest;
}

/**
 * What a record keeps of its rendered outputs (`GET /messages/:id/output`), in bytes of JSON, all
 * outputs together: the message log is not an archive of what was sent, and DynamoDB refuses items
 * over 400 KB. Longer fields are cut, each ending with TRUNCATED's marker.
 */
export const STORED_OUTPUTS_BYTES = 64 * 1024;
/** A record over this (packed) is refused before any provider is called for it (the item limit is 400 KB, and history still grows). */
export const RECORD_LIMIT_BYTES = 300 * 1024;
/** The marker that ends a stored field that was cut. */
export const TRUNCATED = (moreBytes: number): string => `…[truncated in the message log: ${moreBytes} more bytes]`;

const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

/** `text` cut to at most `max` bytes of JSON, marker included (on a character boundary). */
function truncate(text: string, max: number): string {
  const full = Buffer.from(text);
  let keep = Math.max(0, Math.min(full.length, max - 80));
  for (;;) {
    const kept = full.subarray(0, keep).toString('utf8').replace(/\uFFFD$/, '');
    const out = kept + TRUNCATED(full.length - Buffer.byteLength(kept));
    if (jsonBytes(out) <= max || keep === 0) return out;
    keep = Math.floor(keep * 0.8);
  }
}

/** Blocks cut to at most `max` bytes of JSON: the first ones that fit, then a text block with the marker. */
function truncateBlocks(blocks: RenderedOutput['blocks'] & object, max: number): NonNullable<RenderedOutput['blocks']> {
  const out: NonNullable<RenderedOutput['blocks']> = [];
  let used = 100;
  for (const b of blocks) {
    const size = jsonBytes(b) + 1;
    if (used + size > max) break;
    out.push(b);
    used += size;
  }
  const dropped = jsonBytes(blocks) - jsonBytes(out);
  return [...out, { type: 'text', text: TRUNCATED(dropped) }];
}

/**
 * Rendered outputs cut to `budget` bytes of JSON in all: every field (and each output's blocks) gets
 * a fair share, small ones whole, the rest split what they leave. Under the budget: unchanged.
 */
export function capOutputs(outputs: RenderedOutput[], budget = STORED_OUTPUTS_BYTES): RenderedOutput[] {
  if (jsonBytes(outputs) <= budget) return outputs;
  const copies = outputs.map((o) => ({ ...o }));
  const parts: { size: number; cut(max: number): void }[] = [];
  for (const o of copies) {
    for (const f of ['title', 'subject', 'body', 'text', 'html'] as const) {
      const v = o[f];
      if (typeof v === 'string') parts.push({ size: jsonBytes(v), cut: (max) => (o[f] = truncate(v, max)) });
    }
    const blocks = o.blocks;
    if (blocks?.length) parts.push({ size: jsonBytes(blocks), cut: (max) => (o.blocks = truncateBlocks(blocks, max)) });
  }
  // Room for the keys and the channel names, then water-filling from the smallest part up.
  let left = Math.max(0, budget - jsonBytes(copies.map((o) => ({ channel: o.channel }))) - parts.length * 16);
  parts.sort((a, b) => a.size - b.size);
  parts.forEach((p, i) => {
    const share = Math.floor(left / (parts.length - i));
    if (p.size > share) p.cut(share);
    left -= Math.min(p.size, share);
  });
  return copies;
}

/**
 * The record in a smaller form, for a save DynamoDB refused (its size): outputs cut to 4 KB, the
 * history to its first and last events (with a HISTORY_TRUNCATED event saying how many went), and,
 * once the message is finished, the job entry to its ids. An outcome is then still recorded.
 */
export function compactRecord(r: MessageRecord): MessageRecord {
  const history =
    r.history.length <= 50 ? r.history : [...r.history.slice(0, 10), { ts: r.history[10].ts, type: 'HISTORY_TRUNCATED', dropped: r.history.length - 40 }, ...r.history.slice(-30)];
  const job = TERMINAL.has(r.status) ? { messageId: r.job.messageId, userId: r.job.userId, tenantId: r.job.tenantId, fanoutTenantId: r.job.fanoutTenantId } : r.job;
  return { ...r, history: history.map(shortEvent), outputs: capOutputs(r.outputs, 4096), job };
}

/** A history event with its long strings (provider error bodies) cut to 1 KB. */
const shortEvent = (e: HistoryEvent): HistoryEvent =>
  Object.fromEntries(Object.entries(e).map(([k, v]) => [k, typeof v === 'string' && v.length > 1024 ? truncate(v, 1024) : v])) as HistoryEvent;

/**
 * A message record as stored: fields derivable from the message id, or empty, are left out, so a
 * delivered inbox message stays under 1 KB (one write unit per write). `unpack` restores them.
 * Outputs are kept up to STORED_OUTPUTS_BYTES.
 */
export function pack(r: MessageRecord): string {
  const { requestId: _requestId, job, tags, notification, event, outputs, ...rest } = r;
  const { messageId: _messageId, ...jobRest } = job;
  return JSON.stringify({ ...rest, outputs: capOutputs(outputs), job: jobRest, ...(tags.length ? { tags } : {}), ...(notification ? { notification } : {}), ...(event ? { event } : {}) });
}

/** The bytes of a record's stored document (what DynamoDB's item limit is mostly made of). */
export const recordBytes = (r: MessageRecord): number => Buffer.byteLength(pack(r));

export function unpack(doc: string): MessageRecord {
  const p = JSON.parse(doc) as Omit<MessageRecord, 'requestId'> & Partial<MessageRecord>;
  const requestId = p.id.split('.')[0];
  return {
    ...p,
    requestId,
    job: { ...p.job, messageId: p.id },
    tags: p.tags ?? [],
    notification: p.notification ?? '',
    event: p.event ?? '',
  };
}

/**
 * The `ttl` (epoch seconds) of a log item under MESSAGE_RETENTION_DAYS, counted from its last
 * write or, for a delayed request, from when it is due; nothing without the setting.
 */
export const retention = (dueAt = 0): { ttl?: number } =>
  config.MESSAGE_RETENTION_DAYS === undefined ? {} : { ttl: Math.floor(Math.max(Date.now(), dueAt) / 1000) + config.MESSAGE_RETENTION_DAYS * 86_400 };

const messageItem = (r: MessageRecord, v: number) => ({
  ...requestKeys.message(r.requestId, suffixOf(r)),
  _t: 'Message',
  status: r.status,
  v,
  /** Last write (epoch ms): the sweeper re-drives non-terminal messages that stopped moving. */
  updated: Date.now(),
  doc: pack(r),
  ...retention(),
});

const suffixOf = (r: MessageRecord) => (r.id === r.requestId ? '-' : r.id.slice(r.requestId.length + 1));

const requestItem = (req: RequestRecord) => ({
  ...requestKeys.request(req.requestId),
  ...requestKeys.requestIndex(req.requestId, req.enqueued),
  _t: 'Request',
  updated: Date.now(),
  doc: JSON.stringify(req),
  ...retention(req.dueAt),
});

/**
 * Stores a new request unless one with its id exists (a retry of the same idempotent operation,
 * which names the same id and time): the request item is a conditional put, so an existing request
 * and its fan-out progress are never overwritten. Its open marker and trace entry are written
 * first, so a request never exists without the marker the sweeper finds it by; for a retry they are
 * the same items again. False when the request already existed.
 */
export async function createRequest(req: RequestRecord): Promise<boolean> {
  const traceId = req.message.metadata?.trace_id;
  await batchWrite([
    { put: { ...requestKeys.open(req.requestId, (req.dueAt ?? req.enqueued) + config.SWEEP_GRACE_MS), _t: 'Open', requestId: req.requestId, doc: '{}' } },
    ...(traceId ? [{ put: { ...requestKeys.trace(traceId, req.requestId), _t: 'Trace', doc: '{}', ...retention(req.dueAt) } }] : []),
  ]);
  try {
    await ddb.send(new PutCommand({ TableName: TABLE, Item: requestItem(req), ConditionExpression: 'attribute_not_exists(pk)' }));
    return true;
  } catch (e) {
    if (!isConditionFailure(e)) throw e;
    return false;
  }
}

export async function getRequest(requestId: string): Promise<RequestRecord | undefined> {
  return (await getStoredRequest(requestId))?.request;
}

/** The request and when it last changed (fan-out progress), strongly consistent. */
export async function getStoredRequest(requestId: string): Promise<{ request: RequestRecord; updated: number } | undefined> {
  const item = await getItem(requestKeys.request(requestId));
  return item ? { request: JSON.parse(item.doc) as RequestRecord, updated: Number(item.updated) } : undefined;
}

export async function updateRequest(req: RequestRecord): Promise<void> {
  await batchWrite([{ put: requestItem(req) }]);
}

/** Open requests the sweeper should look at by `at`, from one shard, oldest first. */
export async function openRequestsDue(shard: number, at: number, limit: number): Promise<{ requestId: string; sk: string }[]> {
  const out = await ddb.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk AND sk < :before',
      ExpressionAttributeValues: { ':pk': requestKeys.openShard(shard), ':before': requestKeys.openBefore(at) },
      Limit: limit,
    }),
  );
  return (out.Items ?? []).map((i) => ({ requestId: String(i.requestId), sk: String(i.sk) }));
}

/** Moves a request's open marker to `checkAt` (undefined: the request is finished, remove it). */
export async function moveOpenMarker(requestId: string, sk: string, checkAt: number | undefined): Promise<void> {
  const pk = requestKeys.open(requestId, 0).pk;
  await batchWrite([
    { delete: { pk, sk } },
    ...(checkAt === undefined ? [] : [{ put: { ...requestKeys.open(requestId, checkAt), _t: 'Open', requestId, doc: '{}' } }]),
  ]);
}

/**
 * Writes a message record if `expectV` matches the stored version (0 = must not exist yet).
 * Returns false when another writer got there first: the caller re-reads and decides again.
 */
export async function writeMessage(record: MessageRecord, expectV: number): Promise<boolean> {
  try {
    await ddb.send(
      new PutCommand({
        TableName: TABLE,
        Item: messageItem(record, expectV + 1),
        ConditionExpression: expectV === 0 ? 'attribute_not_exists(pk)' : 'v = :v',
        ExpressionAttributeValues: expectV === 0 ? undefined : { ':v': expectV },
      }),
    );
    return true;
  } catch (e) {
    if (isConditionFailure(e)) return false;
    throw e;
  }
}

const toStored = (item: StoredItem): StoredRecord => ({ record: unpack(item.doc), v: Number(item.v), updated: Number(item.updated) });

export async function getMessage(requestId: string, suffix: string): Promise<StoredRecord | undefined> {
  const item = await getItem(requestKeys.message(requestId, suffix));
  return item ? toStored(item) : undefined;
}

/** A request's messages, in message-key order. */
export async function listRequestMessages(requestId: string, limit: number, cursor?: string): Promise<{ items: MessageRecord[]; cursor?: string }> {
  const page = await listStoredMessages(requestId, limit, cursor);
  return { items: page.items.map((s) => s.record), cursor: page.cursor };
}

export async function listStoredMessages(requestId: string, limit: number, cursor?: string): Promise<{ items: StoredRecord[]; cursor?: string }> {
  const page = await queryPage({ partition: requestKeys.request(requestId).pk, prefix: requestKeys.messagesPrefix, limit, cursor });
  return { items: page.items.map(toStored), cursor: page.cursor };
}

/** Request ids carrying a trace id, oldest first. */
export async function requestsForTrace(traceId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of queryAll({ partition: requestKeys.traceRequests(traceId) })) ids.push(...page.map((i) => i.sk));
  return ids;
}

/** One page of request ids enqueued in an hour bucket, newest first. */
export async function requestsInBucket(at: number, limit: number, cursor?: string): Promise<{ ids: string[]; cursor?: string }> {
  const page = await queryPage({ index: 'gsi1', partition: requestBucket(at), limit, cursor, newestFirst: true });
  return { ids: page.items.map((i) => i.pk.slice('REQUEST#'.length)), cursor: page.cursor };
}
