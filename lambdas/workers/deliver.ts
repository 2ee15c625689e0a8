import type { Context } from 'aws-lambda';
import { render, type RenderedOutput } from '../domain/render';
import { channelAddress, nextSteps, targetKey, type Outcome, type Target } from '../domain/routing';
import { displayRecipient, mayReachTwice, parseMessageId, targetsOf, toTarget } from '../domain/send';
import { adapterFor, fallbackProviders } from '../providers/registry';
import { ProviderError } from '../providers/port';
import { memo } from '../shared/cache';
import { deliveryJob, enqueueDelivery, enqueueFanout, type DeliveryJob, type DeliveryRecipient } from '../shared/jobs';
import { logger } from '../shared/logger';
import { sqsWorker } from '../shared/worker';
import {
  getMessage,
  getRequest,
  newMessageRecord,
  TERMINAL,
  writeMessage,
  type ChannelState,
  type HistoryEvent,
  type MessageRecord,
  type MessageStatus,
  type RequestRecord,
} from '../store/messages';
import { createProfileIfMissing, getProfiles, type Profile } from '../store/profiles';
import { providers as configuredProviders, type ProviderDoc } from '../store/providers';
import { resolveRecipient, type Resolution } from './resolve';

/** A provider call gives up after this long (a transient failure). */
const PROVIDER_TIMEOUT_MS = 10_000;
/** A claim older than this belongs to a worker that stopped mid-call (see `reconcile`). */
export const CLAIM_LEASE_MS = 3 * PROVIDER_TIMEOUT_MS + 30_000;
/** A job whose recipients keep failing unexpectedly is retried this many times, then they end UNDELIVERABLE. */
const MAX_JOB_ATTEMPTS = 5;
/** Recipients of one job processed at once. */
const CONCURRENCY = 8;

const requestCache = memo<RequestRecord | undefined>(10_000);
const providerCache = memo<{ provider: string; settings: Record<string, unknown>; channel: string }[]>(10_000);

/** Providers configured through /providers, by channel, in priority order (then id). */
function configured(): Promise<{ provider: string; settings: Record<string, unknown>; channel: string }[]> {
  return providerCache('all', async () => {
    const all: { id: string; doc: ProviderDoc }[] = [];
    let cursor: string | undefined;
    do {
      const page = await configuredProviders.list(100, cursor);
      all.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    return all.sort((a, b) => a.doc.priority - b.doc.priority || a.id.localeCompare(b.id)).map((p) => ({ provider: p.doc.provider, settings: p.doc.settings, channel: p.doc.channel }));
  });
}

/**
 * The providers to try for a target, in order: the configured ones for its channel (only the pinned
 * provider when the target names one; reordered by `message.channels[ch].providers`), else the
 * built-in fallbacks for the channel (inbox, and the local capture targets in local mode).
 */
async function providersFor(req: RequestRecord, target: Target, address: unknown): Promise<{ provider: string; settings: Record<string, unknown> }[]> {
  let list = (await configured()).filter((p) => p.channel === target.channel);
  if (!list.length) list = fallbackProviders(target.channel, address).map((p) => ({ ...p, channel: target.channel }));
  if (target.provider) list = list.filter((p) => p.provider === target.provider);
  const preferred = req.message.channels?.[target.channel]?.providers;
  if (preferred?.length) list = preferred.flatMap((key) => list.filter((p) => p.provider === key));
  return list;
}

interface Attempt {
  target: Target;
  outcome: Outcome;
  state: ChannelState;
  events: HistoryEvent[];
  output?: RenderedOutput;
  providerMessageId?: string;
  delivered?: 'SENT' | 'DELIVERED';
}

/** Tries each provider in order until one accepts (provider failover). Never throws. */
async function attempt(req: RequestRecord, record: MessageRecord, target: Target, res: Extract<Resolution, { end?: undefined }>, hasUserId: boolean): Promise<Attempt> {
  const key = targetKey(target);
  const address = channelAddress(target, res.profile, hasUserId);
  const output = render(target.channel, {
    content: res.content,
    data: res.data,
    profile: res.profile,
    tenant: res.tenant && { id: res.tenant.tenant.id, name: res.tenant.tenant.name, properties: res.tenant.properties },
    brand: res.brand,
  });
  const events: HistoryEvent[] = [{ ts: Date.now(), type: 'RENDERED', channel: key }];
  const candidates = await providersFor(req, target, address);
  if (!candidates.length) {
    events.push({ ts: Date.now(), type: 'UNDELIVERABLE', channel: key, reason: 'NO_PROVIDERS' });
    return { target, outcome: 'failed', state: { state: 'failed', attempts: 0, error: 'NO_PROVIDERS' }, events, output };
  }
  let attempts = record.channels[key]?.attempts ?? 0;
  let lastError = '';
  for (const candidate of candidates) {
    const adapter = adapterFor(candidate.provider);
    if (!adapter) continue;
    attempts += 1;
    const t0 = Date.now();
    try {
      const result = await adapter.send({
        messageId: record.id,
        idempotencyKey: `${record.id}:${key}`,
        channel: target.channel,
        recipient: { userId: record.userId, tenantId: record.tenantId },
        address,
        content: output,
        settings: candidate.settings,
        timeoutMs: PROVIDER_TIMEOUT_MS,
        metadata: { tags: req.message.metadata?.tags, traceId: req.message.metadata?.trace_id, event: req.message.metadata?.event },
      });
      events.push({ ts: Date.now(), type: result.status, channel: key, provider: candidate.provider, attempt: attempts, latency_ms: Date.now() - t0, provider_message_id: result.providerMessageId });
      return {
        target,
        outcome: 'delivered',
        state: { state: result.status === 'DELIVERED' ? 'delivered' : 'sent', provider: candidate.provider, attempts },
        events,
        output,
        providerMessageId: result.providerMessageId,
        delivered: result.status,
      };
    } catch (e) {
      const error = e instanceof ProviderError ? e : new ProviderError((e as Error).message, true);
      lastError = error.message;
      events.push({ ts: Date.now(), type: 'PROVIDER_ERROR', channel: key, provider: candidate.provider, attempt: attempts, latency_ms: Date.now() - t0, error: error.message, transient: error.transient });
      logger.warn('provider failed', { messageId: record.id, channel: key, provider: candidate.provider, transient: error.transient, status: error.statusCode });
    }
  }
  events.push({ ts: Date.now(), type: 'UNDELIVERABLE', channel: key, reason: 'PROVIDER_ERROR' });
  return { target, outcome: 'failed', state: { state: 'failed', attempts, error: lastError }, events, output };
}

/** Another writer changed the message record since it was read: re-read and decide again. */
class Conflict extends Error {}
/** Another worker holds a live claim on this message: try again after a while. */
class Busy extends Error {}

/** Writes `next` over the stored version `v`; a lost race is a Conflict (the caller re-reads). */
async function save(next: MessageRecord, v: number): Promise<number> {
  if (!(await writeMessage(next, v))) throw new Conflict(next.id);
  return v + 1;
}

function finish(record: MessageRecord, status: MessageStatus, extra: Partial<MessageRecord>, event: HistoryEvent): MessageRecord {
  return { ...record, ...extra, status, history: [...record.history, event] };
}

const suffixOf = (messageId: string) => parseMessageId(messageId)!.suffix;

/**
 * Delivers one recipient: resolve, then walk the routing tree step by step. Each step is claimed
 * in the message record (conditional on its version) before any provider is called, so a second
 * worker holding the same job never calls a provider again for the same message and channel.
 */
async function deliverRecipient(req: RequestRecord, r: DeliveryRecipient, storedProfile: Profile | undefined, readFirst: boolean): Promise<void> {
  for (let round = 0; round < 4; round++) {
    const stored = readFirst || round > 0 ? await getMessage(req.requestId, suffixOf(r.messageId)) : undefined;
    try {
      await deliverFrom(req, r, storedProfile, stored);
      return;
    } catch (e) {
      if (!(e instanceof Conflict)) throw e;
    }
  }
  throw new Busy(`${r.messageId} kept changing under this worker`);
}

async function deliverFrom(req: RequestRecord, r: DeliveryRecipient, storedProfile: Profile | undefined, stored: { record: MessageRecord; v: number } | undefined): Promise<void> {
  const now = Date.now();
  let v = stored?.v ?? 0;
  let record =
    stored?.record ??
    newMessageRecord(
      req,
      { messageId: r.messageId, recipient: displayRecipient(r), userId: r.userId, tenantId: r.fanoutTenantId ?? r.tenantId, listId: r.listId, audienceId: r.audienceId },
      'ENQUEUED',
      now,
    );
  if (TERMINAL.has(record.status)) return;
  if (Object.keys(record.channels).length) return resume(req, r, storedProfile, record, v);

  if (r.userId && !storedProfile && r.inline && Object.keys(r.inline).length) {
    // Implicit creation: the first send to a new user_id stores the inline fields; audiences follow.
    if (await createProfileIfMissing(r.userId, r.inline)) await enqueueFanout([{ type: 'audience-user', userId: r.userId }]);
  }
  const res = await resolveRecipient(req, r, storedProfile);
  if (res.end) {
    const event: HistoryEvent = { ts: Date.now(), type: res.end, ...(res.reason ? { reason: res.reason } : {}), ...(res.error ? { error: res.error } : {}), ...res.detail };
    await save(finish(record, res.end, { reason: res.reason, error: res.error, tenantId: res.tenantId ?? record.tenantId }, event), v);
    return;
  }
  record = { ...record, tenantId: res.tenant?.tenant.id ?? record.tenantId };
  await walk(req, r, res, record, v);
}

async function walk(req: RequestRecord, r: DeliveryRecipient, res: Extract<Resolution, { end?: undefined }>, record: MessageRecord, v: number): Promise<void> {
  const hasUserId = r.userId !== undefined;
  const reachable = (t: Target) => channelAddress(t, res.profile, hasUserId) !== undefined;
  const outcomes: Record<string, Outcome> = Object.fromEntries(
    Object.entries(record.channels).map(([k, c]) => [k, c.state === 'failed' ? 'failed' : c.state === 'sending' ? 'pending' : 'delivered']),
  );
  for (;;) {
    const step = nextSteps(res.routing, reachable, { outcomes });
    if (!step.start.length) {
      const delivered = Object.values(record.channels).filter((c) => c.state === 'delivered' || c.state === 'sent');
      if (delivered.length) {
        const status: MessageStatus = delivered.some((c) => c.state === 'delivered') ? 'DELIVERED' : 'SENT';
        await save({ ...record, status }, v);
      } else if (Object.keys(record.channels).length) {
        const noProviders = Object.values(record.channels).every((c) => c.error === 'NO_PROVIDERS');
        const reason = noProviders ? 'NO_PROVIDERS' : 'PROVIDER_ERROR';
        await save(finish(record, 'UNDELIVERABLE', { reason }, { ts: Date.now(), type: 'UNDELIVERABLE', reason }), v);
      } else {
        await save(finish(record, 'UNROUTABLE', { reason: 'NO_CHANNELS' }, { ts: Date.now(), type: 'UNROUTABLE', reason: 'NO_CHANNELS', unreachable: step.unreachable.map(targetKey) }), v);
      }
      return;
    }
    // Claim every target of this step in one write, then call their providers.
    const claimedAt = Date.now();
    const claims = Object.fromEntries(step.start.map((t) => [targetKey(t), { state: 'sending' as const, attempts: record.channels[targetKey(t)]?.attempts ?? 0, claimedAt }]));
    record = {
      ...record,
      status: 'ROUTED',
      channels: { ...record.channels, ...claims },
      history: [...record.history, ...step.start.map((t) => ({ ts: claimedAt, type: 'ROUTED', channel: targetKey(t) }))],
    };
    v = await save(record, v);
    const results = await Promise.all(step.start.map((t) => attempt(req, record, t, res, hasUserId)));
    for (const a of results) {
      const key = targetKey(a.target);
      outcomes[key] = a.outcome;
      const firstSuccess = a.outcome === 'delivered' && record.sent === undefined;
      record = {
        ...record,
        channels: { ...record.channels, [key]: a.state },
        history: [...record.history, ...a.events],
        outputs: a.output ? [...record.outputs.filter((o) => o.channel !== a.output!.channel), a.output] : record.outputs,
        ...(firstSuccess ? { sent: Date.now(), channel: a.target.channel, provider: a.state.provider, providerMessageId: a.providerMessageId } : {}),
        ...(a.delivered === 'DELIVERED' && record.delivered === undefined ? { delivered: Date.now() } : {}),
      };
    }
  }
}

/**
 * A record that already holds claims was left by an earlier run of this job. A claim inside its
 * lease may still be in progress elsewhere: retry later. An expired claim is the one window that
 * cannot be closed: the provider may or may not have accepted before that worker stopped, so the
 * target is recorded as failed with that explanation instead of calling the provider again.
 */
async function resume(req: RequestRecord, r: DeliveryRecipient, storedProfile: Profile | undefined, record: MessageRecord, v: number): Promise<void> {
  const now = Date.now();
  const live = Object.values(record.channels).some((c) => c.state === 'sending' && now - (c.claimedAt ?? 0) < CLAIM_LEASE_MS);
  if (live) throw new Busy(`${record.id} is being delivered by another worker`);
  const channels = Object.fromEntries(
    Object.entries(record.channels).map(([k, c]) => [k, c.state === 'sending' ? { ...c, state: 'failed' as const, error: 'outcome unknown: the worker stopped during the provider call' } : c]),
  );
  const stale = Object.keys(channels).filter((k) => record.channels[k].state === 'sending');
  const repaired: MessageRecord = { ...record, channels, history: [...record.history, ...stale.map((k) => ({ ts: now, type: 'UNDELIVERABLE', channel: k, error: channels[k].error }))] };
  const res = await resolveRecipient(req, r, storedProfile);
  if (res.end) {
    await save(finish(repaired, res.end, { reason: res.reason, error: res.error }, { ts: now, type: res.end }), v);
    return;
  }
  await walk(req, r, res, repaired, v);
}

/** Ends a recipient that could not be processed after every retry, so no message stays ENQUEUED. */
async function giveUp(req: RequestRecord, r: DeliveryRecipient, error: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const stored = await getMessage(req.requestId, suffixOf(r.messageId));
    const record = stored?.record ?? newMessageRecord(req, { messageId: r.messageId, recipient: displayRecipient(r), userId: r.userId }, 'ENQUEUED', Date.now());
    if (TERMINAL.has(record.status)) return;
    if (await writeMessage(finish(record, 'UNDELIVERABLE', { reason: 'FAILED', error }, { ts: Date.now(), type: 'UNDELIVERABLE', reason: 'FAILED', error }), stored?.v ?? 0)) return;
  }
  throw new Error(`could not record the failure of ${r.messageId}`);
}

/**
 * One delivery job: up to RECIPIENTS_PER_JOB recipients, each on its own. Profiles are read in one
 * BatchGetItem. A recipient that fails unexpectedly is re-enqueued alone (with backoff), never
 * failing its neighbours; after MAX_JOB_ATTEMPTS it ends UNDELIVERABLE.
 */
export async function deliverJob(job: DeliveryJob, _context?: Context): Promise<void> {
  const req = await requestCache(job.requestId, () => getRequest(job.requestId));
  if (!req) {
    logger.error('delivery job for an unknown request', { requestId: job.requestId });
    return;
  }
  const dedupe = !req.single && mayReachTwice(targetsOf(req.message.to).map(toTarget));
  const userIds = [...new Set(job.recipients.flatMap((r) => (r.userId ? [r.userId] : [])))];
  const profiles = userIds.length ? await getProfiles(userIds) : new Map<string, Profile>();
  const failed: DeliveryRecipient[] = [];
  const queue = [...job.recipients];
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
      for (let r = queue.shift(); r; r = queue.shift()) {
        try {
          await deliverRecipient(req, r, r.userId ? profiles.get(r.userId) : undefined, dedupe || (job.attempt ?? 0) > 0);
        } catch (e) {
          if (!(e instanceof Busy)) logger.error('recipient failed', { messageId: r.messageId, error: e as Error });
          failed.push(r);
        }
      }
    }),
  );
  if (!failed.length) return;
  const attemptNo = (job.attempt ?? 0) + 1;
  if (attemptNo >= MAX_JOB_ATTEMPTS) {
    await Promise.all(failed.map((r) => giveUp(req, r, 'delivery kept failing; see the worker logs')));
    return;
  }
  await enqueueDelivery([{ ...job, recipients: failed, attempt: attemptNo }], Math.min(900, 2 ** attemptNo * 5));
}

export const handler = sqsWorker(deliveryJob, (job, _record, context) => deliverJob(job, context));
