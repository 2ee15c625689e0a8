import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SendMessage } from '../domain/send';
import type { RenderedOutput } from '../domain/render';
import { ddb } from '../shared/aws';
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

/** Delivery state of one target (`email`, `direct_message:slack`) of a message. */
export interface ChannelState {
  state: 'sending' | 'delivered' | 'sent' | 'failed';
  provider?: string;
  attempts: number;
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
  channels: Record<string, ChannelState>;
  history: HistoryEvent[];
  outputs: RenderedOutput[];
}

export interface StoredRecord {
  record: MessageRecord;
  /** Optimistic-concurrency version: every write is conditional on it. */
  v: number;
}

export interface RequestRecord {
  requestId: string;
  message: SendMessage;
  enqueued: number;
  single: boolean;
  /** Fan-out progress, saved after every invocation so an interrupted expansion can resume. */
  fanout?: { done: boolean; emitted: number; state?: unknown };
}

/** A new message record for one recipient of a request, in its first status. */
export function newMessageRecord(
  req: RequestRecord,
  r: { messageId: string; recipient: string; userId?: string; tenantId?: string; listId?: string; audienceId?: string; reach?: string },
  status: MessageStatus,
  now: number,
): MessageRecord {
  const m = req.message;
  return {
    id: r.messageId,
    requestId: req.requestId,
    recipient: r.recipient,
    userId: r.userId,
    tenantId: r.tenantId,
    status,
    enqueued: req.enqueued,
    notification: m.template ?? '',
    event: m.metadata?.event ?? m.template ?? '',
    tags: m.metadata?.tags ?? [],
    traceId: m.metadata?.trace_id,
    listId: r.listId,
    audienceId: r.audienceId,
    reach: r.reach,
    channels: {},
    history: [{ ts: now, type: 'ENQUEUED' }],
    outputs: [],
  };
}

const messageItem = (r: MessageRecord, v: number) => ({
  ...requestKeys.message(r.requestId, suffixOf(r)),
  _t: 'Message',
  status: r.status,
  v,
  doc: JSON.stringify(r),
});

const suffixOf = (r: MessageRecord) => (r.id === r.requestId ? '-' : r.id.slice(r.requestId.length + 1));

/** Stores a request and, if it has one, its trace look-up item, in one BatchWriteItem. */
export async function putRequest(req: RequestRecord): Promise<void> {
  const traceId = req.message.metadata?.trace_id;
  await batchWrite([
    { put: { ...requestKeys.request(req.requestId), ...requestKeys.requestIndex(req.requestId, req.enqueued), _t: 'Request', doc: JSON.stringify(req) } },
    ...(traceId ? [{ put: { ...requestKeys.trace(traceId, req.requestId), _t: 'Trace', doc: '{}' } }] : []),
  ]);
}

export async function getRequest(requestId: string): Promise<RequestRecord | undefined> {
  const item = await getItem(requestKeys.request(requestId), false);
  return item ? (JSON.parse(item.doc) as RequestRecord) : undefined;
}

export async function updateRequest(req: RequestRecord): Promise<void> {
  await batchWrite([{ put: { ...requestKeys.request(req.requestId), ...requestKeys.requestIndex(req.requestId, req.enqueued), _t: 'Request', doc: JSON.stringify(req) } }]);
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

const toStored = (item: StoredItem): StoredRecord => ({ record: JSON.parse(item.doc) as MessageRecord, v: Number(item.v) });

export async function getMessage(requestId: string, suffix: string): Promise<StoredRecord | undefined> {
  const item = await getItem(requestKeys.message(requestId, suffix));
  return item ? toStored(item) : undefined;
}

/** A request's messages, in message-key order. */
export async function listRequestMessages(requestId: string, limit: number, cursor?: string): Promise<{ items: MessageRecord[]; cursor?: string }> {
  const page = await queryPage({ partition: requestKeys.request(requestId).pk, prefix: requestKeys.messagesPrefix, limit, cursor });
  return { items: page.items.map((i) => toStored(i).record), cursor: page.cursor };
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
