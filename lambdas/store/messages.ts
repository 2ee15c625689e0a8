import { PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { displayRecipient, type SendMessage } from '../domain/send';
import type { DeliveryRecipient, FanoutState } from '../shared/jobs';
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
  /** The delivery job entry of this recipient, so a sweeper can re-drive it. */
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
  /**
   * Fan-out progress, saved after every invocation so an interrupted expansion can resume.
   * `failed`: the expansion ended for good with this reason (nothing re-runs it); `tries`:
   * invocations started since the last saved progress; `lastError`: why the last one failed.
   * Stored as attributes of the request item (the record itself is written once, in `doc`).
   */
  fanout?: { done: boolean; emitted: number; state?: FanoutState; failed?: string; tries?: number; lastError?: string };
  /** The request's own log: what happened to the request as a whole (a fan-out that failed for good). */
  log?: RequestEvent[];
}

export interface RequestEvent {
  ts: number;
  type: 'FANOUT_FAILED';
  error: string;
  [detail: string]: unknown;
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
    job: r,
    channels: {},
    history: [{ ts: now, type: status }],
    outputs: [],
  };
}

/**
 * A message record as stored: fields derivable from the message id, or empty, are left out, so a
 * delivered inbox message stays under 1 KB (one write unit per write). `unpack` restores them.
 */
export function pack(r: MessageRecord): string {
  const { requestId: _requestId, job, tags, notification, event, ...rest } = r;
  const { messageId: _messageId, ...jobRest } = job;
  return JSON.stringify({ ...rest, job: jobRest, ...(tags.length ? { tags } : {}), ...(notification ? { notification } : {}), ...(event ? { event } : {}) });
}

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

const requestItem = (req: RequestRecord) => {
  const { fanout: _fanout, log: _log, ...record } = req;
  return {
    ...requestKeys.request(req.requestId),
    ...requestKeys.requestIndex(req.requestId, req.enqueued),
    _t: 'Request',
    updated: Date.now(),
    doc: JSON.stringify(record),
    ...retention(req.dueAt),
  };
};

/**
 * The request as stored: the record in `doc`, written once, and what changes as attributes, each
 * changed by an UpdateItem: the fan-out's progress (`fdone`, `femitted`, `fstate`, `ffailed`,
 * `ftries`, `flasterror`) and the request's log (`log`). An item written before these attributes
 * existed keeps its progress in `doc`.
 */
function toRequest(item: StoredItem): RequestRecord {
  const req = JSON.parse(item.doc) as RequestRecord;
  if (item.fdone !== undefined) {
    req.fanout = {
      done: item.fdone === true,
      emitted: Number(item.femitted ?? 0),
      ...(typeof item.fstate === 'string' ? { state: JSON.parse(item.fstate) as FanoutState } : {}),
      ...(typeof item.ffailed === 'string' ? { failed: item.ffailed } : {}),
    };
  }
  if (item.ftries !== undefined || item.flasterror !== undefined) {
    req.fanout = { done: false, emitted: 0, ...req.fanout, tries: Number(item.ftries ?? 0), ...(typeof item.flasterror === 'string' ? { lastError: item.flasterror } : {}) };
  }
  if (Array.isArray(item.log)) req.log = item.log as RequestEvent[];
  return req;
}

/** One UpdateItem of a request item's attributes: `set` values (undefined removes), `append` to the log. */
async function updateRequestItem(requestId: string, change: { set?: Record<string, unknown>; add?: Record<string, number>; log?: RequestEvent }): Promise<Record<string, unknown> | undefined> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const removes: string[] = [];
  const adds: string[] = [];
  Object.entries({ ...change.set, ...(change.set ? { updated: Date.now(), ...retention() } : {}) }).forEach(([name, value], i) => {
    names[`#s${i}`] = name;
    if (value === undefined) removes.push(`#s${i}`);
    else {
      values[`:s${i}`] = value;
      sets.push(`#s${i} = :s${i}`);
    }
  });
  Object.entries(change.add ?? {}).forEach(([name, value], i) => {
    names[`#a${i}`] = name;
    values[`:a${i}`] = value;
    adds.push(`#a${i} :a${i}`);
  });
  if (change.log) {
    names['#log'] = 'log';
    values[':entry'] = [change.log];
    values[':none'] = [];
    sets.push('#log = list_append(if_not_exists(#log, :none), :entry)');
  }
  const expression = [sets.length ? `SET ${sets.join(', ')}` : '', removes.length ? `REMOVE ${removes.join(', ')}` : '', adds.length ? `ADD ${adds.join(', ')}` : ''].filter(Boolean).join(' ');
  const out = await ddb.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: requestKeys.request(requestId),
      UpdateExpression: expression,
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return out.Attributes;
}

/** Saves a fan-out's progress: where it stands (`state`, none once done) and the recipients emitted so far. */
export async function saveFanout(requestId: string, progress: { done: boolean; emitted: number; state?: FanoutState }): Promise<void> {
  await updateRequestItem(requestId, {
    set: { fdone: progress.done, femitted: progress.emitted, fstate: progress.state && JSON.stringify(progress.state), ftries: 0, flasterror: undefined },
  });
}

/** Counts one more fan-out invocation of the request without progress saved yet; returns the count. */
export async function countFanoutAttempt(requestId: string): Promise<number> {
  return Number((await updateRequestItem(requestId, { add: { ftries: 1 } }))?.ftries ?? 1);
}

/** Records why a fan-out invocation failed (the reason a later, final attempt gives). */
export async function recordFanoutError(requestId: string, error: string): Promise<void> {
  await updateRequestItem(requestId, { set: { flasterror: error.slice(0, 1000) } });
}

/**
 * Stores a request with its trace look-up item and its open marker (the sweeper looks at it from
 * `checkAt` on, by default once it is SWEEP_GRACE_MS past due, until it is known to be finished),
 * in one BatchWriteItem.
 */
export async function putRequest(req: RequestRecord, checkAt = (req.dueAt ?? req.enqueued) + config.SWEEP_GRACE_MS): Promise<void> {
  const traceId = req.message.metadata?.trace_id;
  await batchWrite([
    { put: requestItem(req) },
    { put: { ...requestKeys.open(req.requestId, checkAt), _t: 'Open', requestId: req.requestId, doc: '{}' } },
    ...(traceId ? [{ put: { ...requestKeys.trace(traceId, req.requestId), _t: 'Trace', doc: '{}', ...retention(req.dueAt) } }] : []),
  ]);
}

export async function getRequest(requestId: string): Promise<RequestRecord | undefined> {
  return (await getStoredRequest(requestId))?.request;
}

/** The request and when it last changed (fan-out progress), strongly consistent. */
export async function getStoredRequest(requestId: string): Promise<{ request: RequestRecord; updated: number } | undefined> {
  const item = await getItem(requestKeys.request(requestId));
  return item ? { request: toRequest(item), updated: Number(item.updated) } : undefined;
}

/**
 * Ends a request's fan-out for good: done, with the reason, the recipients emitted so far (the
 * sweeper closes the request once those are terminal) and a FANOUT_FAILED entry in its log.
 */
export async function failRequest(requestId: string, reason: string, emitted: number): Promise<void> {
  const event: RequestEvent = { ts: Date.now(), type: 'FANOUT_FAILED', error: reason, recipients: emitted };
  await updateRequestItem(requestId, { set: { fdone: true, femitted: emitted, ffailed: reason, fstate: undefined }, log: event });
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
