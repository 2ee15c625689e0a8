import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants } from 'node:zlib';
import { PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { displayRecipient, parseMessageId, slotOf, slotSuffix, storedMessageSchema, targetsOf, toDestination, type SendMessage } from '../domain/send';
import { deliveryRecipient, fanoutState, type DeliveryRecipient, type FanoutState } from '../shared/jobs';
import type { RenderedOutput } from '../domain/render';
import { ddb } from '../shared/aws';
import { config } from '../shared/config';
import { GSI1, requestKeys, type Key } from './keys';
import { conditional, conditionalWrite, expectation, expectedOf, newRev, retryOnConflict, type Expected } from './conditional';
import { batchGet, batchWrite, checkStored, encodeCursor, getItem, parseDoc, parseStored, queryAll, queryPage, TABLE, type StoredItem } from './table';
import { jobAt, jobOf, jobRecords, loadJob, storedSlot, writeSlot, type LoadedJob } from './jobs';
import { now as clockNow } from '../shared/clock';

/** Courier's message statuses (its message log's status lifecycle; docs/decisions.md#d6). */
const messageStatus = z.enum([
  'ENQUEUED',
  'DELAYED',
  'ROUTED',
  'SENT',
  'DELIVERED',
  'OPENED',
  'CLICKED',
  'FILTERED',
  'UNROUTABLE',
  'UNDELIVERABLE',
  'UNMAPPED',
  'CANCELED',
  /** Over a topic's throttle (docs/decisions.md D26): Courier's status for a message its throttle stopped. */
  'THROTTLED',
  /** Collected into a topic's digest (docs/decisions.md D27): the digest run sends one message for all of them. */
  'DIGESTED',
]);
export type MessageStatus = z.infer<typeof messageStatus>;

/** Every status but the three a message passes through on its way (ENQUEUED, DELAYED, ROUTED). */
export const TERMINAL: ReadonlySet<MessageStatus> = new Set(messageStatus.options.filter((s) => s !== 'ENQUEUED' && s !== 'DELAYED' && s !== 'ROUTED'));

const historyEvent = z.looseObject({ ts: z.number(), type: z.string() });
export type HistoryEvent = z.infer<typeof historyEvent>;

/**
 * Delivery state of one target (`email`, `direct_message:slack`) of a message: `sending` while a
 * worker holds the claim, `retry` while a transient failure waits for `nextAt`, then one of the
 * outcomes. `providerIndex` / `providerAttempts` / `providerSince` track failover and the retry
 * window on the current provider.
 */
const channelState = z.object({
  state: z.enum(['sending', 'retry', 'delivered', 'sent', 'failed']),
  provider: z.string().optional(),
  /** Every provider call made for this target. */
  attempts: z.number(),
  providerIndex: z.number().optional(),
  providerAttempts: z.number().optional(),
  providerSince: z.number().optional(),
  /** When the target's first attempt started: `timeout.channel` counts from here. */
  channelSince: z.number().optional(),
  nextAt: z.number().optional(),
  /** Sent, and watched for the escalation criteria until then (domain/escalation.ts): routing waits on it. */
  watchUntil: z.number().optional(),
  /** Sent, but the escalation criteria were not met in time: routing counts it as failed. */
  escalated: z.boolean().optional(),
  /** When the current attempt was claimed: a claim older than the lease belongs to a stopped worker. */
  claimedAt: z.number().optional(),
  error: z.string().optional(),
  /** Email and sms targets sent: the address as the suppression list keys it, for a later bounce or complaint (docs/decisions.md D21). */
  address: z.string().optional(),
});
export type ChannelState = z.infer<typeof channelState>;

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
  /** First open and click the provider reported (domain/status.ts, D19). */
  opened?: number;
  clicked?: number;
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
  /** When this recipient's delivery window opens (a window read in the recipient's time zone; domain/send.ts recipientWindow), while it waits. */
  dueAt?: number;
  /**
   * The delivery job entry of this recipient, so a sweeper can re-drive it. Without its `data`
   * (except for bulk runs): that is the request's `to` entry's, read from the request again.
   */
  job: DeliveryRecipient;
  channels: Record<string, ChannelState>;
  history: HistoryEvent[];
  outputs: RenderedOutput[];
}

/** A record as `pack` stores it: what the message id or an empty value gives back is left out. */
type PackedRecord = Omit<MessageRecord, 'requestId' | 'job' | 'tags' | 'notification' | 'event'> & {
  job: Omit<DeliveryRecipient, 'messageId'>;
  tags?: string[];
  notification?: string;
  event?: string;
};

/** Rendered outputs are checked by their channel only: they were rendered here, and are only shown back. */
const renderedOutput = z.custom<RenderedOutput>((o) => typeof o === 'object' && o !== null && typeof (o as { channel?: unknown }).channel === 'string');

const packedRecord: z.ZodType<PackedRecord> = z.object({
  id: z.string(),
  recipient: z.string(),
  userId: z.string().optional(),
  tenantId: z.string().optional(),
  status: messageStatus,
  reason: z.string().optional(),
  error: z.string().optional(),
  enqueued: z.number(),
  sent: z.number().optional(),
  delivered: z.number().optional(),
  opened: z.number().optional(),
  clicked: z.number().optional(),
  channel: z.string().optional(),
  provider: z.string().optional(),
  providerMessageId: z.string().optional(),
  notification: z.string().optional(),
  event: z.string().optional(),
  tags: z.array(z.string()).optional(),
  traceId: z.string().optional(),
  listId: z.string().optional(),
  audienceId: z.string().optional(),
  reach: z.string().optional(),
  dueAt: z.number().optional(),
  job: deliveryRecipient.omit({ messageId: true }),
  channels: z.record(z.string(), channelState),
  history: z.array(historyEvent),
  outputs: z.array(renderedOutput),
});

export interface StoredRecord {
  record: MessageRecord;
  /** What a write of this record expects (its revision as read): every write is conditional on it. */
  expected: Expected;
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
  /** The digest a topic's digest run sent (README "Batches and digests"): the run's id. Its messages are not digested again. */
  digestRunId?: string;
  /**
   * Fan-out progress, saved after every invocation so an interrupted expansion can resume.
   * `failed`: the expansion ended for good with this reason (nothing re-runs it); `tries`:
   * invocations started since the last saved progress; `lastError`: why the last one failed;
   * `seq`: the chain that owns the fan-out (only a job carrying it may advance it); `lease`: until
   * when one invocation of that chain holds it (epoch ms). Stored as attributes of the request
   * item (the record itself is written once, in `doc`).
   */
  fanout?: z.infer<typeof fanoutProgress>;
  /** The request's own log: what happened to the request as a whole (a fan-out that failed for good). */
  log?: RequestEvent[];
  /**
   * A single send stored by its inline delivery's first write (docs/decisions.md D14): its message's
   * record as of then, in the request item's `rdoc`/`rdocz` (not in `doc`). A record item of the
   * message, once written, is newer.
   */
  record?: MessageRecord;
}

const requestEvent = z.looseObject({ ts: z.number(), type: z.literal('FANOUT_FAILED'), error: z.string() });
export type RequestEvent = z.infer<typeof requestEvent>;

const fanoutProgress = z.object({
  done: z.boolean(),
  emitted: z.number(),
  state: fanoutState.optional(),
  failed: z.string().optional(),
  tries: z.number().optional(),
  lastError: z.string().optional(),
  seq: z.number().optional(),
  lease: z.number().optional(),
});

/** A request as stored in its item's `doc` (an item written before the fan-out attributes existed keeps its progress there). */
const storedRequest: z.ZodType<RequestRecord> = z.object({
  requestId: z.string(),
  message: storedMessageSchema,
  enqueued: z.number(),
  single: z.boolean(),
  dueAt: z.number().optional(),
  expiresAt: z.number().optional(),
  bulkJobId: z.string().optional(),
  digestRunId: z.string().optional(),
  fanout: fanoutProgress.optional(),
  log: z.array(requestEvent).optional(),
});

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

/** The one recipient of a single send (a user or inline recipient, not an array); its message id is the request id. */
export function singleRecipientOf(req: RequestRecord): DeliveryRecipient {
  const target = toDestination(targetsOf(req.message.to)[0]);
  if (target.kind !== 'user' && target.kind !== 'inline') throw new Error('unreachable: single recipients are users or inline');
  return {
    messageId: req.requestId,
    userId: target.kind === 'user' ? target.userId : undefined,
    inline: target.inline,
    data: target.data,
    tenantId: target.tenantId,
  };
}

/**
 * The message of a single send before a worker has written its record (docs/decisions.md D12: no
 * record is written with the request): ENQUEUED, or DELAYED when it is not due at once, since the
 * request's time. Reads show it, a cancel writes it CANCELED (conditional on no record existing), and
 * the delivery worker starts from it.
 */
export function pendingRecord(req: RequestRecord, r: DeliveryRecipient = singleRecipientOf(req)): MessageRecord {
  if (req.record) return req.record;
  const delayed = req.dueAt !== undefined && Math.min(req.dueAt, req.expiresAt ?? Infinity) > req.enqueued;
  if (!delayed) return newMessageRecord(req, r, 'ENQUEUED', req.enqueued);
  return { ...newMessageRecord(req, r, 'DELAYED', req.enqueued), history: [{ ts: req.enqueued, type: 'DELAYED', until: req.dueAt }] };
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
    const kept = full
      .subarray(0, keep)
      .toString('utf8')
      .replace(/\uFFFD$/, '');
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
    r.history.length <= 50
      ? r.history
      : [...r.history.slice(0, 10), { ts: r.history[10].ts, type: 'HISTORY_TRUNCATED', dropped: r.history.length - 40 }, ...r.history.slice(-30)];
  const job = TERMINAL.has(r.status)
    ? { messageId: r.job.messageId, userId: r.job.userId, tenantId: r.job.tenantId, fanoutTenantId: r.job.fanoutTenantId }
    : r.job;
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
  return JSON.stringify({
    ...rest,
    outputs: capOutputs(outputs),
    job: jobRest,
    ...(tags.length ? { tags } : {}),
    ...(notification ? { notification } : {}),
    ...(event ? { event } : {}),
  });
}

/**
 * A packed record over this many bytes is stored compressed (brotli, in the binary attribute
 * `docz` instead of `doc`): write units are paid per KB written, and a record with a rendered
 * email in it is mostly markup that compresses several times over. docs/decisions.md D12.
 */
export const COMPRESS_OVER_BYTES = 700;

/** The document attribute of a message item: `doc` (JSON text), or `docz` (the same, compressed) when that is smaller and the text is over `compressOver` (COMPRESS_OVER_BYTES). */
export function recordDocument(json: string, compressOver = COMPRESS_OVER_BYTES): { doc: string } | { docz: Uint8Array } {
  const bytes = Buffer.byteLength(json);
  if (bytes <= compressOver) return { doc: json };
  const docz = brotliCompressSync(json, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 5, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: bytes } });
  return docz.length < bytes ? { docz } : { doc: json };
}

/** The JSON text of a message item's document, whichever attribute holds it. */
export function documentOf(item: { doc?: unknown; docz?: unknown }): string {
  if (item.docz instanceof Uint8Array) return brotliDecompressSync(item.docz).toString('utf8');
  if (typeof item.doc === 'string') return item.doc;
  throw new Error('a message item without a document');
}

/** The bytes of a record's stored document, uncompressed (what DynamoDB's item limit is mostly made of; compressed it is less). */
export const recordBytes = (r: MessageRecord): number => Buffer.byteLength(pack(r));

/** A stored record (`pack`'s document), parsed: a document that is not one is an error naming it. */
export function unpack(doc: string, where = 'a message record'): MessageRecord {
  const p = parseStored(doc, packedRecord, where);
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
/** The `ttl` of a message log item: `days` (MESSAGE_RETENTION_DAYS) after now, or after `dueAt` for a delayed request; none when unset. */
export const ttlFor = (days: number | undefined, at: number, dueAt = 0): { ttl?: number } =>
  days === undefined ? {} : { ttl: Math.floor(Math.max(at, dueAt) / 1000) + days * 86_400 };

const retention = (dueAt = 0): { ttl?: number } => ttlFor(config.MESSAGE_RETENTION_DAYS, clockNow(), dueAt);

const messageItem = (r: MessageRecord, rev: string) => ({
  ...requestKeys.message(r.requestId, suffixOf(r)),
  _t: 'Message',
  status: r.status,
  rev,
  /** Last write (epoch ms): the sweeper re-drives non-terminal messages that stopped moving. */
  updated: clockNow(),
  ...recordDocument(pack(r)),
  ...retention(),
});

const suffixOf = (r: MessageRecord) => (r.id === r.requestId ? '-' : r.id.slice(r.requestId.length + 1));

const requestItem = (req: RequestRecord) => {
  const { fanout: _fanout, log: _log, record: message, ...record } = req;
  return {
    ...requestKeys.request(req.requestId),
    ...requestKeys.requestIndex(req.requestId, req.enqueued),
    _t: 'Request',
    /** Read by the sweeper without the document: a single send is finished when its one message is. */
    single: req.single,
    updated: clockNow(),
    doc: JSON.stringify(record),
    ...(message ? messageAttributes(message) : {}),
    ...retention(req.dueAt),
  };
};

/**
 * A single send's message record kept in its request item: `rdoc` (JSON) or `rdocz` (compressed,
 * whenever that is smaller: it shares the item's kilobytes with the request), as a record item's `doc`/`docz`.
 */
function messageAttributes(r: MessageRecord): { rdoc: string } | { rdocz: Uint8Array } {
  let attributes = packedInRequest.get(r);
  if (!attributes) {
    const stored = recordDocument(pack(r), 0);
    attributes = 'doc' in stored ? { rdoc: stored.doc } : { rdocz: stored.docz };
    // recordFitsRequest packs it, then createRequest stores it: compressed once.
    packedInRequest.set(r, attributes);
  }
  return attributes;
}
const packedInRequest = new WeakMap<MessageRecord, { rdoc: string } | { rdocz: Uint8Array }>();

/** The bytes DynamoDB bills an item by: each attribute's name and value (numbers counted generously). */
function itemBytes(item: Record<string, unknown>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += Buffer.byteLength(name);
    if (typeof value === 'string') bytes += Buffer.byteLength(value);
    else if (value instanceof Uint8Array) bytes += value.length;
    else if (typeof value === 'number') bytes += 21;
    else bytes += 1;
  }
  return bytes;
}

/**
 * Whether a single send's request item may carry its message's record at no extra cost: the item
 * stays within the same kilobytes (write units) as without it. A request written with its record
 * saves the record's own write (1 WRU or more); one that grows past a kilobyte boundary would
 * cost 2 WRU more (the item and its gsi1 copy).
 */
export function recordFitsRequest(req: RequestRecord, record: MessageRecord): boolean {
  // 32 bytes for what createRequest adds (`walk`) and rounding.
  const kb = (r: RequestRecord) => Math.ceil((itemBytes(requestItem(r)) + 32) / 1024);
  return kb({ ...req, record }) <= kb(req);
}

const FANOUT_ATTRIBUTES = ['fdone', 'femitted', 'fstate', 'ffailed', 'ftries', 'flasterror', 'fseq', 'flease'];

/**
 * The request as stored: the record in `doc`, written once, and what changes as attributes, each
 * changed by an UpdateItem: the fan-out's progress (`fdone`, `femitted`, `fstate`, `ffailed`,
 * `ftries`, `flasterror`), its owner (`fseq`, `flease`) and the request's log (`log`). An item
 * written before these attributes existed keeps its progress in `doc`.
 */
function toRequest(item: StoredItem): RequestRecord {
  const req = parseDoc(item, storedRequest);
  if (item.rdoc !== undefined || item.rdocz !== undefined) req.record = unpack(documentOf({ doc: item.rdoc, docz: item.rdocz }), `the message of ${item.pk}`);
  if (FANOUT_ATTRIBUTES.some((a) => item[a] !== undefined)) {
    req.fanout = {
      done: item.fdone === true,
      emitted: Number(item.femitted ?? 0),
      ...(typeof item.fstate === 'string' ? { state: parseStored(item.fstate, fanoutState, `the fan-out state of ${item.pk}`) } : {}),
      ...(typeof item.ffailed === 'string' ? { failed: item.ffailed } : {}),
      ...(item.ftries !== undefined ? { tries: Number(item.ftries) } : {}),
      ...(typeof item.flasterror === 'string' ? { lastError: item.flasterror } : {}),
      seq: Number(item.fseq ?? 0),
      ...(item.flease !== undefined ? { lease: Number(item.flease) } : {}),
    };
  }
  if (item.log !== undefined) req.log = checkStored(item.log, z.array(requestEvent), `the log of ${item.pk}`);
  return req;
}

/** The invocation that holds a fan-out: its chain and its lease, as claimFanout set them. */
export interface FanoutOwner {
  seq: number;
  lease: number;
}

/** A condition on the fan-out's chain: `fseq` absent counts as chain 0. */
const chainIs = (seq: number) => (seq === 0 ? '(attribute_not_exists(fseq) OR fseq = :seq)' : 'fseq = :seq');

/**
 * One UpdateItem of a request item's attributes: `set` values (undefined removes), `add` to
 * counters, an entry appended to the log; with `condition`, false when it does not hold.
 */
async function updateRequestItem(
  requestId: string,
  change: {
    set?: Record<string, unknown>;
    add?: Record<string, number>;
    log?: RequestEvent;
    condition?: { expression: string; values: Record<string, unknown> };
  },
): Promise<Record<string, unknown> | false> {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ...change.condition?.values };
  const sets: string[] = [];
  const removes: string[] = [];
  const adds: string[] = [];
  Object.entries({ ...change.set, ...(change.set ? { updated: clockNow(), ...retention() } : {}) }).forEach(([name, value], i) => {
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
  const expression = [
    sets.length ? `SET ${sets.join(', ')}` : '',
    removes.length ? `REMOVE ${removes.join(', ')}` : '',
    adds.length ? `ADD ${adds.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const out = await conditionalWrite(
    new UpdateCommand({
      TableName: TABLE,
      Key: requestKeys.request(requestId),
      UpdateExpression: expression,
      ConditionExpression: `attribute_exists(pk)${change.condition ? ` AND ${change.condition.expression}` : ''}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  if (out) return out.Attributes ?? {};
  if (change.condition) return false;
  throw new Error(`request ${requestId} does not exist`);
}

const owned = (o: FanoutOwner) => ({ expression: `${chainIs(o.seq)} AND flease = :lease`, values: { ':seq': o.seq, ':lease': o.lease } });

/**
 * Claims the fan-out of a request for one invocation of chain `seq` until `lease` (epoch ms):
 * only if `seq` still owns it, nobody holds a live lease on it and it is not done. Counts the
 * attempt; returns how many were made since the last saved progress, or undefined when another
 * invocation or a newer chain has it (the caller stops without emitting).
 */
export async function claimFanout(requestId: string, seq: number, now: number, lease: number): Promise<number | undefined> {
  const out = await updateRequestItem(requestId, {
    set: { flease: lease },
    add: { ftries: 1 },
    condition: {
      expression: `${chainIs(seq)} AND (attribute_not_exists(flease) OR flease < :now) AND (attribute_not_exists(fdone) OR fdone = :false)`,
      values: { ':seq': seq, ':now': now, ':false': false },
    },
  });
  return out === false ? undefined : Number(out.ftries ?? 1);
}

/**
 * Saves the progress of the invocation that holds the fan-out: where it stands (`state`, none once
 * done) and the recipients emitted so far; hands the fan-out to the next job of the chain (`seq`
 * + 1) and ends the lease. False when the invocation no longer holds it.
 */
export async function saveFanout(requestId: string, owner: FanoutOwner, progress: { done: boolean; emitted: number; state?: FanoutState }): Promise<boolean> {
  const out = await updateRequestItem(requestId, {
    set: {
      fdone: progress.done,
      femitted: progress.emitted,
      fstate: progress.state && JSON.stringify(progress.state),
      ftries: 0,
      flasterror: undefined,
      fseq: owner.seq + 1,
      flease: undefined,
    },
    condition: owned(owner),
  });
  return out !== false;
}

/** Ends a failed invocation's lease early, with the reason a later, final attempt gives. */
export async function releaseFanout(requestId: string, owner: FanoutOwner, error: string): Promise<void> {
  await updateRequestItem(requestId, { set: { flasterror: error.slice(0, 1000), flease: undefined }, condition: owned(owner) });
}

/**
 * Starts a new chain on a fan-out that chain `seq` left without progress (its job lost, or stuck
 * in a backlog): only if `seq` still owns it and no invocation holds a live lease. `restart` runs
 * a finished (not failed) fan-out again from the start. True when the caller now owns chain
 * `seq` + 1 and must enqueue its job; a job of an older chain stops when it runs.
 */
export async function takeoverFanout(requestId: string, seq: number, now: number, restart = false): Promise<boolean> {
  const out = await updateRequestItem(requestId, {
    set: { fseq: seq + 1, flease: undefined, ...(restart ? { fdone: false, femitted: 0, ftries: 0, fstate: undefined } : {}) },
    condition: {
      expression: `${chainIs(seq)} AND (attribute_not_exists(flease) OR flease < :now) AND ${restart ? 'fdone = :true AND attribute_not_exists(ffailed)' : '(attribute_not_exists(fdone) OR fdone = :false)'}`,
      values: { ':seq': seq, ':now': now, ...(restart ? { ':true': true } : { ':false': false }) },
    },
  });
  return out !== false;
}

/**
 * Stores a new request unless one with its id exists (a retry of the same idempotent operation,
 * which names the same id and time): the request item is a conditional put, so an existing request
 * and its fan-out progress are never overwritten. Its open marker and trace entry are written
 * first, so a request never exists without the marker the sweeper finds it by; for a retry they are
 * the same items again. The sweeper looks at it from `checkAt` on (by default once it is
 * SWEEP_GRACE_MS past due) until it is known to be finished. `walked`: a single send due at once
 * gets no marker (2 WRU less): it carries `walk`, and the sweeper's walk of the requests in gsi1
 * finds it once SWEEP_GRACE_MS has passed and gives it a marker only if it is unfinished then
 * (store/singles-walk.ts). A request stored with its single message's record finished (`record`)
 * gets neither. False when the request already existed.
 */
export async function createRequest(
  req: RequestRecord,
  checkAt = (req.dueAt ?? req.enqueued) + config.SWEEP_GRACE_MS,
  recipients: DeliveryRecipient[] = [],
  walked = false,
): Promise<boolean> {
  const traceId = req.message.metadata?.trace_id;
  // A single send stored with its message finished (D14) needs neither a marker nor the walk.
  const finished = req.record !== undefined && TERMINAL.has(req.record.status);
  await batchWrite([
    ...hourEntry(req.enqueued),
    ...(walked || finished ? [] : [{ put: openItem(req.requestId, checkAt, req.single) }]),
    ...(traceId ? [{ put: { ...requestKeys.trace(traceId, req.requestId), _t: 'Trace', doc: '{}', ...retention(req.dueAt) } }] : []),
  ]);
  await indexRecipients(req, recipients);
  return conditional(
    new PutCommand({
      TableName: TABLE,
      Item: { ...requestItem(req), ...(walked && !finished ? { walk: true } : {}) },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
}

/** A message item's status attribute, read without its document (a BatchGetItem of `status`). */
const statusOf = (item: StoredItem): MessageStatus => checkStored(item.status, messageStatus, `the status of ${item.pk} / ${item.sk}`);

/**
 * Of these single sends, the ones whose message is not terminal (or has no record yet): one
 * BatchGetItem per 100 of the records' statuses, eventually consistent (a terminal status stays).
 */
export async function unfinishedSingles(requestIds: string[]): Promise<string[]> {
  const done = new Set<string>();
  for (const item of await batchGet(
    requestIds.map((id) => requestKeys.message(id, '-')),
    { attributes: ['status'] },
  ))
    if (TERMINAL.has(statusOf(item))) done.add(requestKeys.requestIdOf(item.pk));
  return requestIds.filter((id) => !done.has(id));
}

/** Gives single sends open markers due at `checkAt` (the sweeper's walk found them unfinished). */
export async function openSingles(requestIds: string[], checkAt: number): Promise<void> {
  await batchWrite(requestIds.map((id) => ({ put: openItem(id, checkAt, true) })));
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
 * sweeper closes the request once those are terminal) and a FANOUT_FAILED entry in its log. Only
 * by the invocation that holds it (`owner`); false otherwise.
 */
export async function failRequest(requestId: string, owner: FanoutOwner, reason: string, emitted: number): Promise<boolean> {
  const event: RequestEvent = { ts: clockNow(), type: 'FANOUT_FAILED', error: reason, recipients: emitted };
  const out = await updateRequestItem(requestId, {
    set: { fdone: true, femitted: emitted, ffailed: reason, fstate: undefined, flease: undefined },
    log: event,
    condition: owned(owner),
  });
  return out !== false;
}

/**
 * An open marker: the key of the item (its partition is its shard), its request, and whether that
 * is a single send (absent on markers written before the flag existed).
 */
export interface OpenMarker extends Key {
  requestId: string;
  single?: boolean;
}

/**
 * Indexes messages by recipient (docs/decisions.md D12): one small item per message in its
 * recipient's partition, so `GET /messages?recipient=` is a Query of that partition and one
 * BatchGetItem of the records, with no look-back window. The key is the user's inbox item for the
 * message, which is the entry of a message delivered to the inbox: each entry is a put conditional
 * on the key being free, so it never replaces an inbox item (a delivery replaces the entry).
 * Written with a single send's request, and by a fan-out's first delivery job for the recipients
 * it did not deliver to the inbox; expiring with the records.
 */
export async function indexRecipients(req: RequestRecord, recipients: DeliveryRecipient[]): Promise<void> {
  await Promise.all(
    recipients.map((r) =>
      conditional(
        new PutCommand({
          TableName: TABLE,
          Item: {
            ...requestKeys.recipientEntry(displayRecipient(r), r.messageId),
            _t: 'RecipientEntry',
            messageId: r.messageId,
            doc: '{}',
            ...retention(req.dueAt),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    ),
  );
}

/**
 * A recipient's messages, newest first: a page of its index (entries and inbox items), then the
 * records in one BatchGetItem, with the requests of single sends (whose message may be in their
 * request). An entry whose record is not written yet or is gone is left out.
 */
export async function recipientMessages(
  recipient: string,
  limit: number,
  cursor?: string,
  includeArchived = false,
): Promise<{ items: MessageRecord[]; cursor?: string }> {
  const page = await queryPage({ partition: requestKeys.recipientPartition(recipient), prefix: requestKeys.recipientPrefix, limit, cursor, newestFirst: true });
  const messageIds = page.items.map((e) => String(e.messageId));
  const ids = messageIds.flatMap((messageId) => parseMessageId(messageId) ?? []);
  // A single send's message may have no record item (none written yet, or its record is in its
  // request, D14): its request is read in the same BatchGetItem and shows it when there is none.
  // A message in a delivery job's record is read with its job's (once for all of its slots).
  const keyOf = (id: (typeof ids)[number]) =>
    id.slot ? requestKeys.job(id.requestId, id.slot.outbox, id.slot.job) : requestKeys.message(id.requestId, id.suffix);
  // Unless archived requests are asked for, their markers are read in the same BatchGetItem.
  const keys = [
    ...new Map(
      ids
        .flatMap((id) => [
          keyOf(id),
          ...(id.suffix === '-' ? [requestKeys.request(id.requestId)] : []),
          ...(includeArchived ? [] : [requestKeys.archived(id.requestId)]),
        ])
        .map((k) => [`${k.pk}/${k.sk}`, k]),
    ).values(),
  ];
  const found = new Map<string, MessageRecord>();
  const pending = new Map<string, MessageRecord>();
  const jobs = new Map<string, StoredItem>();
  const archived = new Set<string>();
  for (const item of await batchGet(keys)) {
    if (item._t === 'Archived') archived.add(requestKeys.requestIdOf(item.pk));
    else if (item._t === 'Request') {
      const req = toRequest(item);
      if (req.single) pending.set(req.requestId, pendingRecord(req));
    } else if (item._t === 'Job') jobs.set(`${item.pk}/${item.sk}`, item);
    else {
      const { record } = toStored(item);
      found.set(record.id, record);
    }
  }
  const parsed = new Map<StoredItem, LoadedJob>();
  for (const id of ids) {
    const job = id.slot && jobs.get(`${keyOf(id).pk}/${keyOf(id).sk}`);
    if (!job) continue;
    if (!parsed.has(job)) parsed.set(job, jobOf(job, id.requestId, id.slot!));
    const stored = await storedSlot(parsed.get(job)!, id.requestId, id.suffix, id.slot!.slot);
    if (stored) found.set(stored.record.id, stored.record);
  }
  const shown = (m: MessageRecord) => !archived.has(m.requestId);
  return { items: messageIds.flatMap((id) => found.get(id) ?? pending.get(id) ?? []).filter(shown), cursor: page.cursor };
}

const openItem = (requestId: string, checkAt: number, single: boolean | undefined) => ({
  ...requestKeys.open(requestId, checkAt),
  _t: 'Open',
  requestId,
  ...(single === undefined ? {} : { single }),
  doc: '{}',
});

/** One page of the open markers of a shard due before `at`, oldest first; `cursor` continues. */
export async function openMarkersDue(
  shard: number,
  at: number,
  limit: number,
  cursor?: Record<string, unknown>,
): Promise<{ items: OpenMarker[]; cursor?: Record<string, unknown> }> {
  const out = await ddb.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: 'pk = :pk AND sk < :before',
      ExpressionAttributeValues: { ':pk': requestKeys.openShard(shard), ':before': requestKeys.timeFrom(at) },
      Limit: limit,
      ExclusiveStartKey: cursor,
    }),
  );
  return {
    items: (out.Items ?? []).map((i) => ({
      pk: String(i.pk),
      sk: String(i.sk),
      requestId: String(i.requestId),
      ...(typeof i.single === 'boolean' ? { single: i.single } : {}),
    })),
    cursor: out.LastEvaluatedKey,
  };
}

/** Open requests the sweeper should look at by `at`, from one shard, oldest first (one page). */
export async function openRequestsDue(shard: number, at: number, limit: number): Promise<OpenMarker[]> {
  return (await openMarkersDue(shard, at, limit)).items;
}

/**
 * Moves an open marker to `checkAt` in one transaction that deletes it only if it is still there:
 * of two sweeps (or checks) holding the same marker, one moves it and the other gets undefined,
 * so a request never has two markers. Returns the marker now standing.
 */
export async function moveOpenMarker(marker: OpenMarker, checkAt: number): Promise<OpenMarker | undefined> {
  const next = openItem(marker.requestId, checkAt, marker.single);
  if (next.pk === marker.pk && next.sk === marker.sk) return marker;
  const moved = await retryOnConflict(
    () =>
      conditional(
        new TransactWriteCommand({
          TransactItems: [
            { Delete: { TableName: TABLE, Key: { pk: marker.pk, sk: marker.sk }, ConditionExpression: 'attribute_exists(pk)' } },
            { Put: { TableName: TABLE, Item: next } },
          ],
        }),
      ),
    { attempts: 3 },
  );
  return moved ? { ...marker, pk: next.pk, sk: next.sk } : undefined;
}

/** Removes open markers (their requests are finished). */
export async function closeOpenMarkers(markers: Key[]): Promise<void> {
  await batchWrite(markers.map((m) => ({ delete: { pk: m.pk, sk: m.sk } })));
}

/**
 * The open markers whose requests are finished single sends (or gone), read without documents:
 * the one message's status for a marker that says its request is a single send, the request's
 * `single` flag as well for an older marker that does not say; a fan-out request is never finished
 * here (its check job reads its messages). BatchGetItem of 100 keys a call; eventually consistent
 * reads are enough, as `single` never changes and a status that is terminal stays terminal.
 */
export async function finishedSingles(markers: OpenMarker[]): Promise<Set<OpenMarker>> {
  const keys: Key[] = markers.flatMap((m) =>
    m.single === false ? [] : [...(m.single === undefined ? [requestKeys.request(m.requestId)] : []), requestKeys.message(m.requestId, '-')],
  );
  const found = new Map<string, { single?: boolean; status?: MessageStatus }>();
  for (const item of await batchGet(keys, { attributes: ['single', 'status'] })) {
    const id = requestKeys.requestIdOf(item.pk);
    const entry = found.get(id) ?? {};
    if (item.sk === requestKeys.request(id).sk) entry.single = item.single === true;
    else entry.status = statusOf(item);
    found.set(id, entry);
  }
  const terminal = (id: string) => {
    const status = found.get(id)?.status;
    return status !== undefined && TERMINAL.has(status);
  };
  return new Set(
    markers.filter((m) => {
      if (m.single !== undefined) return m.single && terminal(m.requestId);
      const r = found.get(m.requestId);
      // An older marker: its request gone (expired) is finished too.
      return r?.single === undefined ? r === undefined : r.single && terminal(m.requestId);
    }),
  );
}

/**
 * Writes a message record if the stored one is as `expected` ('absent': it must not exist yet) and
 * returns what the next write of it expects; undefined when another writer got there first (the
 * caller re-reads and decides again).
 */
export async function writeMessage(record: MessageRecord, expected: Expected, opts: { own?: boolean } = {}): Promise<Expected | undefined> {
  const slot = opts.own ? undefined : parseMessageId(record.id)?.slot;
  // A message in a delivery job's record is written in its slot (store/jobs.ts).
  if (slot) return writeSlot(record, slot, expected);
  const rev = newRev();
  return (await conditional(new PutCommand({ TableName: TABLE, Item: messageItem(record, rev), ...expectation(expected) }))) ? { rev } : undefined;
}

/** Writes a record as its own item, whatever is there (a job slot moving out: the job item's write decides). */
export async function putRecordItem(record: MessageRecord): Promise<Expected> {
  const rev = newRev();
  await ddb.send(new PutCommand({ TableName: TABLE, Item: messageItem(record, rev) }));
  return { rev };
}

const toStored = (item: StoredItem): StoredRecord => ({
  record: unpack(documentOf(item), `${item.pk} / ${item.sk}`),
  expected: expectedOf(item),
  updated: Number(item.updated),
});

/** A message's record as its own item (`MSG#<suffix>`). */
export async function getRecordItem(requestId: string, suffix: string): Promise<StoredRecord | undefined> {
  const item = await getItem(requestKeys.message(requestId, suffix));
  return item ? toStored(item) : undefined;
}

/** A message's record: its own item, or its slot in its delivery job's record. */
export async function getMessage(requestId: string, suffix: string): Promise<StoredRecord | undefined> {
  const slot = parseMessageId(`${requestId}.${suffix}`)?.slot;
  if (!slot) return getRecordItem(requestId, suffix);
  return storedSlot(await loadJob(requestId, slot), requestId, suffix, slot.slot);
}

/** A single send's message with no record yet, from its request (expected absent: a write creates the record). */
async function pendingSingle(requestId: string): Promise<StoredRecord | undefined> {
  const req = await getRequest(requestId);
  return req?.single ? { record: pendingRecord(req), expected: 'absent', updated: req.enqueued } : undefined;
}

/** A message as the API shows it: its record, or a single send's pending message (pendingRecord). */
export async function findMessage(requestId: string, suffix: string): Promise<StoredRecord | undefined> {
  return (await getMessage(requestId, suffix)) ?? (suffix === '-' ? pendingSingle(requestId) : undefined);
}

/** A request's messages, in message-key order (a single send's pending message when it has no record yet). */
export async function listRequestMessages(requestId: string, limit: number, cursor?: string): Promise<{ items: MessageRecord[]; cursor?: string }> {
  const page = await listStoredMessages(requestId, limit, cursor);
  if (!page.items.length && cursor === undefined) {
    const pending = await pendingSingle(requestId);
    return { items: pending ? [pending.record] : [] };
  }
  return { items: page.items.map((s) => s.record), cursor: page.cursor };
}

/**
 * A request's message records, a page of about `limit`: its delivery jobs' records (each with the
 * records of its slots), then the records of their own; a page ends after the item that reaches
 * `limit` records, and the cursor continues after it.
 */
export async function listStoredMessages(requestId: string, limit: number, cursor?: string): Promise<{ items: StoredRecord[]; cursor?: string }> {
  const page = await queryPage({ partition: requestKeys.request(requestId).pk, range: requestKeys.recordsRange, limit, cursor });
  const items: StoredRecord[] = [];
  for (const [i, item] of page.items.entries()) {
    if (item._t === 'Job') {
      const at = jobAt(item.sk);
      const { stored, moved } = jobRecords(jobOf(item, requestId, at));
      items.push(...stored);
      for (const slot of moved) {
        const own = await getRecordItem(requestId, slotSuffix({ ...at, slot }));
        if (own) items.push(own);
      }
      // A slot's own item counts only when its slot says it moved out: it is read with its job's record, above.
    } else if (!slotOf(item.sk.slice(requestKeys.messagesPrefix.length))) items.push(toStored(item));
    if (items.length >= limit && (i < page.items.length - 1 || page.cursor)) return { items, cursor: encodeCursor({ pk: item.pk, sk: item.sk }) };
  }
  return { items, cursor: page.cursor };
}

/** Request ids carrying a trace id, oldest first. */
export async function requestsForTrace(traceId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of queryAll({ partition: requestKeys.traceRequests(traceId) })) ids.push(...page.map((i) => i.sk));
  return ids;
}

/** One page of the requests enqueued in an hour bucket, newest first, each with whether it is archived. */
export async function requestsInBucket(
  at: number,
  limit: number,
  cursor?: string,
): Promise<{ requests: { id: string; archived: boolean }[]; cursor?: string }> {
  const page = await queryPage({ index: GSI1, partition: requestKeys.bucket(at), limit, cursor, newestFirst: true });
  return { requests: page.items.map((i) => ({ id: requestKeys.requestIdOf(i.pk), archived: i.archived === true })), cursor: page.cursor };
}

/** The start (epoch ms) of the newest hour at or before `at` that holds requests, from the hours directory; undefined when none does. */
export async function requestHourAtOrBefore(at: number): Promise<number | undefined> {
  const page = await queryPage({ partition: requestKeys.requestHours, range: ['0', requestKeys.hourOf(at)], limit: 1, newestFirst: true });
  return page.items.length ? Date.parse(`${page.items[0].sk}:00:00Z`) : undefined;
}

/** Hours this warm function has entered in the directory: each is written once per process. */
const hoursWritten = new Set<string>();

/** The directory entry of a request's hour, when this process has not written it yet (a BatchWriteItem put). */
function hourEntry(at: number): { put: Record<string, unknown> }[] {
  const key = requestKeys.requestHour(at);
  if (hoursWritten.has(key.sk)) return [];
  hoursWritten.add(key.sk);
  // Kept an hour past the last request of the hour could be kept.
  return [{ put: { ...key, _t: 'RequestHour', ...ttlFor(config.MESSAGE_RETENTION_DAYS, Date.parse(`${key.sk}:00:00Z`) + 3_600_000) } }];
}

/**
 * Archives a request (`PUT /requests/:id/archive`): flags the request item, which the hourly
 * listing reads, and writes its marker, which listings by recipient, trace or message id read in
 * the BatchGetItem that reads the records. False when there is no such request.
 */
export async function archiveRequest(requestId: string): Promise<boolean> {
  return conditional(
    new TransactWriteCommand({
      TransactItems: [
        {
          Update: {
            TableName: TABLE,
            Key: requestKeys.request(requestId),
            UpdateExpression: 'SET archived = :t',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':t': true },
          },
        },
        { Put: { TableName: TABLE, Item: { ...requestKeys.archived(requestId), _t: 'Archived', ...retention() } } },
      ],
    }),
  );
}

/** Of these requests, the archived ones (one BatchGetItem of their markers per 100). */
export async function archivedRequests(requestIds: string[]): Promise<Set<string>> {
  const items = await batchGet([...new Set(requestIds)].map((id) => requestKeys.archived(id)));
  return new Set(items.map((i) => requestKeys.requestIdOf(i.pk)));
}
