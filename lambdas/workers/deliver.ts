import { settingHolds } from '../domain/conditions';
import { render, RenderLimitError, type RenderedOutput } from '../domain/render';
import { trackOutput, type Tracker } from '../domain/tracking';
import { now as clock } from '../shared/clock';
import { afterProviderFailure } from '../domain/retry';
import { escalationPolicy, providerEngagement, watchOutcome, type EscalationPolicy } from '../domain/escalation';
import type { Address } from '../domain/addresses';
import { channelAddress, nextSteps, targetKey, type Channel, type Outcome, type Reach, type Target } from '../domain/routing';
import { preferredProviders } from '../domain/routing-strategy';
import { parseMessageId, recipientWindow, targetsOf } from '../domain/send';
import { nextOpening, profileTimeZone } from '../domain/delivery-window';
import { quietHold, recipientZone, type QuietHold, type QuietHours } from '../domain/quiet-hours';
import { throttleWindow } from '../domain/throttle';
import { getQuietHours } from '../store/quiet-hours';
import { passThrottle } from '../store/throttles';
import { mergeRecipientProfile } from '../domain/tenant-context';
import { ProviderError, type ProviderAdapter, type ProviderResult, type ProviderSend } from '../providers/port';
import { applyChannelOverride, providerOverride } from '../domain/overrides';
import { mergeUtm, utmOutput } from '../domain/utm';
import { adapterFor, capabilities, providersForAddress } from '../providers/registry';
import { invalidAddress } from '../providers/transport';
import { memo } from '../shared/cache';
import { config } from '../shared/config';
import { deliveryJob, enqueueDelivery, enqueueFanout, RECIPIENTS_PER_JOB, type DeliveryJob, type DeliveryRecipient } from '../shared/jobs';
import { JobBatch } from '../store/jobs';
import { invalidTokenReason, markTokensFailed, usableTokens } from '../store/device-tokens';
import { withStoredTokens } from '../domain/addresses';
import { logger } from '../shared/logger';
import { delaySecondsUntil } from '../shared/queue';
import { sqsWorker } from '../shared/worker';
import { isContention } from '../shared/errors';
import { changed, retryOnConflict, type Expected } from '../store/conditional';
import {
  compactRecord,
  getMessage,
  getRequest,
  indexRecipients,
  newMessageRecord,
  pendingRecord,
  RECORD_LIMIT_BYTES,
  recordBytes,
  TERMINAL,
  writeMessage,
  type ChannelState,
  type HistoryEvent,
  type MessageRecord,
  type MessageStatus,
  type RequestRecord,
  type StoredRecord,
} from '../store/messages';
import { createProfileIfMissing, getProfiles, type Profile } from '../store/profiles';
import { providers as configuredProviders } from '../store/providers';
import { inboxEngagement } from '../store/inbox';
import { scheduleExpoReceipts } from '../services/expo-receipts';
import { startDigestRun } from '../services/topic-digests';
import { resolveRecipient, type Resolution } from '../services/resolve';
import { everyPage } from '../store/pages';
import { limiter } from '../shared/pool';
import { announceMessages } from '../services/webhook-events';
import { unannouncedCreation } from '../domain/webhooks';
import { isSuppressible, normalizeAddress, type SuppressibleChannel } from '../domain/suppressions';
import { lookUpSuppression, type Suppression } from '../store/suppressions';
import { trackerFor, TRACKING_PROVIDER } from '../services/tracking';

/** A job whose recipients keep failing unexpectedly is retried this many times, then they end UNDELIVERABLE. */
const MAX_JOB_ATTEMPTS = 5;
/** When another worker holds a recipient's claim, look again after this long. */
const BUSY_RECHECK_SECONDS = 10;
/**
 * Recipients of one job processed at once: all of them, so that the writes of a round of a job's
 * record are one write (store/jobs.ts JobBatch).
 */
const CONCURRENCY = RECIPIENTS_PER_JOB;

type Resolved = Extract<Resolution, { end?: undefined }>;

/**
 * A single send's job run by the function that accepted it (http/send.ts), before it answers, with
 * the request it holds: no provider call starts after `deadline`, the queue takes over what is
 * left (HandOff).
 */
export interface InlineRun {
  request: RequestRecord;
  deadline: number;
  /**
   * The request is not stored yet: the run's first write stores it, with the record being written
   * (true when the whole record went with it; false, and the record item is written too).
   */
  storeRequest?: (record: MessageRecord) => Promise<boolean>;
  /** Marked when a provider other than the inbox is called: a request not stored then must not be delivered again. */
  seen?: { called: boolean };
}

/** One delivery job as it runs. */
interface JobRun {
  /** The messages this job delivered to the inbox (their inbox items are their recipient index entries). */
  inboxed: Set<string>;
  inline?: InlineRun;
  /** The job records its recipients' messages are in (by outbox and job), written a round at a time (store/jobs.ts). */
  batches: Map<string, JobBatch>;
  /** Recipients to continue later, by the delay (seconds) of the job that takes them up. */
  later: Map<number, DeliveryRecipient[]>;
  /** Each message's status as last read or saved, and the records saved with a new one: announced to outbound webhooks after the run. */
  statuses: Map<string, MessageStatus | undefined>;
  changes: MessageRecord[];
  /** Messages whose first status this run announced (D23: the worker that starts a message announces its ENQUEUED). */
  created: Set<string>;
}

/** The job record batch of a message in a job record's slot (slotMessageId), else undefined. */
function batchOf(run: JobRun, requestId: string, messageId: string): { batch: JobBatch; slot: number; suffix: string } | undefined {
  const id = parseMessageId(messageId);
  if (!id?.slot) return undefined;
  const key = `${id.slot.outbox}.${id.slot.job}`;
  let batch = run.batches.get(key);
  if (!batch) run.batches.set(key, (batch = new JobBatch(requestId, id.slot)));
  return { batch, slot: id.slot.slot, suffix: id.suffix };
}

/** The inline run's time is up: the recipient's state is saved, the delivery queue goes on from it. */
class HandOff extends Error {}

const overdue = (run: JobRun): boolean => run.inline !== undefined && clock() > run.inline.deadline;
interface ProviderChoice {
  provider: string;
  settings: Record<string, unknown>;
  channel: string;
  /** The /providers entry it comes from (none for a built-in fallback). */
  id?: string;
}

const requestCache = memo<RequestRecord | undefined>(config.CACHE_TTL_MS);
const providerCache = memo<ProviderChoice[]>(config.CACHE_TTL_MS);

/** Providers configured through /providers, in priority order (then id). */
function configured(): Promise<ProviderChoice[]> {
  return providerCache('all', async () => {
    const all = [];
    for await (const providers of everyPage(configuredProviders.list)) all.push(...providers);
    return all
      .sort((a, b) => a.doc.priority - b.doc.priority || a.id.localeCompare(b.id))
      .map((p) => ({ provider: p.doc.provider, settings: p.doc.settings, channel: p.doc.channel, id: p.id }));
  });
}

/** What routing needs besides the profile: the recipient's user id, and what the configured providers bring. */
const reachOf = async (userId: string | undefined): Promise<Reach> => ({ hasUserId: userId !== undefined, ...capabilities(await configured()) });

/**
 * The providers to try for a target, in order: the configured ones for its channel (only the pinned
 * provider when the target names one; reordered by `message.channels[ch].providers`, else by the
 * template's routing strategy's `channels[ch].providers`), else the built-in fallbacks for the
 * channel (inbox, and the local capture targets in local mode); for a direct message, per part of
 * its address (registry.ts `providersForAddress`).
 */
async function providersFor(req: RequestRecord, res: Resolved, target: Target, address: Address | undefined): Promise<ProviderChoice[]> {
  const forChannel = (await configured()).filter((p) => p.channel === target.channel);
  let list = providersForAddress(target.channel, forChannel, address).map((p) => ({ ...p, channel: target.channel }));
  // A pinned direct message's address holds only the pinned provider's part, for which the local capture may stand in.
  if (target.provider) list = list.filter((p) => p.provider === target.provider || (target.channel === 'direct_message' && p.provider === 'local-capture'));
  const own = req.message.channels?.[target.channel]?.providers;
  const preferred = preferredProviders(target.channel, own ? { [target.channel]: { providers: own } } : undefined, res.channels);
  if (preferred?.length) list = preferred.flatMap((key) => list.filter((p) => p.provider === key));
  // `message.providers.<key>.if` (else the routing strategy's): a provider whose condition is false is not used.
  return list.filter((p) => settingHolds(req.message.providers, res.providers, p.provider, conditionScope(res)));
}

/** What channel and provider conditions (`if`) read: the recipient's data, profile and tenant context. */
const conditionScope = (res: Resolved): Record<string, unknown> => ({
  data: res.data,
  profile: res.profile,
  tenant: res.tenant ? { id: res.tenant.tenant.id, name: res.tenant.tenant.name, properties: res.tenant.properties } : {},
});

const targetOf = (key: string): Target => {
  const [channel, provider] = key.split(':');
  return { channel: channel as Channel, ...(provider ? { provider } : {}) };
};

/** The send's `providers.<key>` entry of a provider (own keys only: a provider key is a stored string). */
const providerEntry = (req: RequestRecord, provider: string) =>
  req.message.providers && Object.hasOwn(req.message.providers, provider) ? req.message.providers[provider] : undefined;

/**
 * How long transient failures may be retried on one provider before failing over:
 * `providers.<key>.timeouts`, else `timeout.provider[key]`, else the channel's
 * `channels.<ch>.timeouts.provider`, else PROVIDER_RETRY_WINDOW_MS.
 */
const retryWindowMs = (req: RequestRecord, provider: string, channel: Channel): number =>
  providerEntry(req, provider)?.timeouts ??
  req.message.timeout?.provider?.[provider] ??
  req.message.channels?.[channel]?.timeouts?.provider ??
  config.PROVIDER_RETRY_WINDOW_MS;

/**
 * How long a target's channel may be tried, from its first attempt, before routing moves on:
 * `channels.<ch>.timeouts.channel`, else `timeout.channel[ch]`; unbounded (but for the provider
 * windows and the message timeout) when neither is set.
 */
const channelTimeoutMs = (req: RequestRecord, channel: Channel): number | undefined =>
  req.message.channels?.[channel]?.timeouts?.channel ?? req.message.timeout?.channel?.[channel];
const channelTimeoutError = (req: RequestRecord, channel: Channel): string =>
  `channel timeout: ${channel} not delivered within ${channelTimeoutMs(req, channel)} ms`;

/**
 * What one provider is sent for a target (domain/overrides.ts): the rendering with the channel's
 * override and the UTM parameters (message, channel, then provider metadata) applied, tracked
 * when `tracked` (docs/decisions.md D22), the email
 * envelope or push data the override sets, and the provider's own override. An override a stored
 * request holds that no longer parses fails the call permanently.
 */
function deliveryFor(
  req: RequestRecord,
  channel: Channel,
  provider: string,
  output: RenderedOutput,
  tracked?: { tracker: Tracker; messageId: string },
): Pick<ProviderSend, 'content' | 'email' | 'data' | 'override'> {
  const m = req.message;
  const entry = m.channels?.[channel];
  const own = providerEntry(req, provider);
  try {
    const applied = applyChannelOverride(output, entry?.override);
    const override = providerOverride(provider, own?.override);
    const utm = mergeUtm(m.metadata?.utm, entry?.metadata?.utm, own?.metadata?.utm);
    const content = utmOutput(applied.content, utm);
    return {
      // Our own open and click tracking (D22) last: a click link carries the URL with its UTM parameters.
      content: tracked ? trackOutput(content, tracked.tracker, tracked.messageId) : content,
      ...(applied.email ? { email: applied.email } : {}),
      ...(applied.data ? { data: applied.data } : {}),
      ...(override ? { override } : {}),
    };
  } catch (e) {
    throw new ProviderError((e as Error).message, false);
  }
}

interface Turn {
  target: Target;
  state: ChannelState;
  events: HistoryEvent[];
  /** What the target rendered (none when its content was over the rendering budget). */
  output?: RenderedOutput;
  providerMessageId?: string;
}

/** The content of one target for its recipient; throws RenderLimitError when it is over the rendering budget. */
const renderFor = (target: Target, res: Resolved): RenderedOutput =>
  render(target.channel, {
    content: res.content,
    data: res.data,
    profile: res.profile,
    tenant: res.tenant && { id: res.tenant.tenant.id, name: res.tenant.tenant.name, properties: res.tenant.properties },
    brand: res.channelBrands && target.channel in res.channelBrands ? res.channelBrands[target.channel] : res.brand,
    locale: res.locale,
    translations: res.translations,
  });

/** The error of a target whose content went over the rendering budget: it fails before any claim or provider call. */
const TOO_LARGE = 'content too large';

function tooLarge(target: Target, previous: ChannelState | undefined, e: RenderLimitError): Turn {
  const channel = targetKey(target);
  return {
    target,
    state: { state: 'failed', attempts: previous?.attempts ?? 0, error: e.message },
    events: [{ ts: clock(), type: 'UNDELIVERABLE', channel, reason: 'FAILED', error: e.message }],
  };
}

/**
 * One turn of a target: calls providers from where the target stands, in order. A success ends it;
 * a transient failure inside the provider's retry window schedules a retry (state `retry`, with
 * `nextAt`); a permanent failure, or a provider out of retries or time, fails over to the next
 * provider at once; no provider left, or the channel's time (`channelTimeoutMs`) up, means the
 * target failed. Never throws.
 */
async function runTarget(
  req: RequestRecord,
  record: MessageRecord,
  target: Target,
  res: Resolved,
  previous: ChannelState | undefined,
  output: RenderedOutput,
  run: JobRun,
): Promise<Turn> {
  const channelSince = previous?.channelSince ?? clock();
  const limit = channelTimeoutMs(req, target.channel);
  const turn = await attemptTarget(req, record, target, res, previous, output, run, limit === undefined ? Infinity : channelSince + limit);
  return { ...turn, state: { ...turn.state, channelSince } };
}

async function attemptTarget(
  req: RequestRecord,
  record: MessageRecord,
  target: Target,
  res: Resolved,
  previous: ChannelState | undefined,
  output: RenderedOutput,
  run: JobRun,
  channelDeadline: number,
): Promise<Turn> {
  const key = targetKey(target);
  const address = channelAddress(target, res.profile, await reachOf(record.userId));
  const events: HistoryEvent[] = previous?.state === 'retry' ? [] : [{ ts: clock(), type: 'RENDERED', channel: key }];
  const candidates = await providersFor(req, res, target, address);
  let attempts = previous?.attempts ?? 0;
  if (!candidates.length) {
    events.push({ ts: clock(), type: 'UNDELIVERABLE', channel: key, reason: 'NO_PROVIDERS' });
    return { target, state: { state: 'failed', attempts, error: 'NO_PROVIDERS' }, events, output };
  }
  let index = previous?.providerIndex ?? 0;
  let onProvider = previous?.providerAttempts ?? 0;
  let since = previous?.providerSince ?? clock();
  let lastError = '';
  const tracker = await trackerFor(target.channel);
  const sendTo = (candidate: ProviderChoice): ProviderSend => {
    // A retry runs on the profile as it is now, which may no longer reach the target.
    if (address === undefined) throw invalidAddress(candidate.provider, 'the profile no longer holds an address for the channel');
    return {
      messageId: record.id,
      idempotencyKey: `${record.id}:${key}`,
      channel: target.channel,
      recipient: { userId: record.userId, tenantId: record.tenantId },
      address,
      settings: candidate.settings,
      timeoutMs: config.PROVIDER_TIMEOUT_MS,
      metadata: { tags: req.message.metadata?.tags, traceId: req.message.metadata?.trace_id, event: req.message.metadata?.event },
      ...(target.channel === 'webhook' ? { profile: res.profile } : {}),
      ...deliveryFor(req, target.channel, candidate.provider, output, tracker && { tracker, messageId: record.id }),
    };
  };
  if (req.message.channels?.[target.channel]?.routing_method === 'all' && candidates.length > 1) {
    return runAll(req, record, target, candidates, previous, output, run, sendTo, events, channelDeadline);
  }
  for (; index < candidates.length; index++, onProvider = 0, since = clock()) {
    const candidate = candidates[index];
    const adapter = adapterFor(candidate.provider);
    if (!adapter) continue;
    if (clock() >= channelDeadline) {
      lastError = channelTimeoutError(req, target.channel);
      events.push({ ts: clock(), type: 'CHANNEL_TIMEOUT', channel: key, error: lastError });
      break;
    }
    if (attempts > (previous?.attempts ?? 0) && overdue(run)) {
      // An inline run out of time fails over through the queue: the next provider is due at once.
      const state: ChannelState = {
        state: 'retry',
        attempts,
        providerIndex: index,
        providerAttempts: 0,
        providerSince: clock(),
        nextAt: clock(),
        error: lastError,
      };
      return { target, state, events, output };
    }
    attempts += 1;
    onProvider += 1;
    const attempt = await callProvider(record, target, candidate, adapter, () => sendTo(candidate), attempts, run, events);
    if (attempt.result) {
      const result = attempt.result;
      return {
        target,
        state: { state: result.status === 'DELIVERED' ? 'delivered' : 'sent', provider: candidate.provider, attempts },
        events,
        output,
        providerMessageId: result.providerMessageId,
      };
    }
    const { error, event } = attempt;
    lastError = error.message;
    const now = event.ts;
    const decision = afterProviderFailure({
      transient: error.transient,
      attemptsOnProvider: onProvider,
      maxAttemptsPerProvider: config.PROVIDER_MAX_ATTEMPTS,
      retryAfterMs: error.retryAfterMs,
      since,
      retryWindowMs: retryWindowMs(req, candidate.provider, target.channel),
      now,
      baseMs: config.RETRY_BASE_MS,
      moreProviders: index + 1 < candidates.length,
    });
    if (decision.next === 'retry' && decision.at >= channelDeadline) {
      // The retry would come after the channel's time: the next provider now, else the channel is given up.
      events.push({ ...event, failover: index + 1 < candidates.length });
      if (index + 1 < candidates.length) continue;
      lastError = channelTimeoutError(req, target.channel);
      events.push({ ts: now, type: 'CHANNEL_TIMEOUT', channel: key, error: lastError });
      break;
    }
    if (decision.next === 'retry') {
      events.push({ ...event, retry_in_ms: decision.delayMs, next_retry_at: decision.at });
      return {
        target,
        state: {
          state: 'retry',
          provider: candidate.provider,
          attempts,
          providerIndex: index,
          providerAttempts: onProvider,
          providerSince: since,
          nextAt: decision.at,
          error: error.message,
        },
        events,
        output,
      };
    }
    events.push({ ...event, failover: decision.next === 'failover' });
  }
  events.push({ ts: clock(), type: 'UNDELIVERABLE', channel: key, reason: 'PROVIDER_ERROR' });
  return { target, state: { state: 'failed', attempts, error: lastError }, events, output };
}

/**
 * A target whose channel's `routing_method` is `all`: every provider of the channel is sent to at
 * once, one attempt each. It is sent when any provider took it (each provider's outcome is in the
 * history). When none did and a failure was transient, the whole set is retried within the first
 * provider's retry window (none has the message, so none gets it twice); otherwise it failed.
 */
async function runAll(
  req: RequestRecord,
  record: MessageRecord,
  target: Target,
  candidates: ProviderChoice[],
  previous: ChannelState | undefined,
  output: RenderedOutput,
  run: JobRun,
  sendTo: (candidate: ProviderChoice) => ProviderSend,
  events: HistoryEvent[],
  channelDeadline: number,
): Promise<Turn> {
  const key = targetKey(target);
  const attempts = (previous?.attempts ?? 0) + 1;
  const onProvider = (previous?.providerAttempts ?? 0) + 1;
  const since = previous?.providerSince ?? clock();
  const outcomes = await Promise.all(
    candidates.map(async (candidate) => {
      const adapter = adapterFor(candidate.provider);
      if (!adapter) return undefined;
      const attempt = await callProvider(record, target, candidate, adapter, () => sendTo(candidate), attempts, run, events);
      if (attempt.result) return { provider: candidate.provider, result: attempt.result };
      events.push(attempt.event);
      return { provider: candidate.provider, error: attempt.error };
    }),
  );
  const done = outcomes.filter((o) => o?.result !== undefined);
  if (done.length) {
    const first = done.find((o) => o!.result!.status === 'DELIVERED') ?? done[0]!;
    const state: ChannelState = { state: first.result!.status === 'DELIVERED' ? 'delivered' : 'sent', provider: first.provider, attempts };
    return { target, state, events, output, providerMessageId: first.result!.providerMessageId };
  }
  const errors = outcomes.flatMap((o) => (o?.error ? [{ provider: o.provider, error: o.error }] : []));
  const transient = errors.find((e) => e.error.transient);
  const lastError = errors[0]?.error.message ?? 'NO_PROVIDERS';
  if (transient) {
    const now = clock();
    const decision = afterProviderFailure({
      transient: true,
      attemptsOnProvider: onProvider,
      maxAttemptsPerProvider: config.PROVIDER_MAX_ATTEMPTS,
      retryAfterMs: transient.error.retryAfterMs,
      since,
      retryWindowMs: retryWindowMs(req, candidates[0].provider, target.channel),
      now,
      baseMs: config.RETRY_BASE_MS,
      moreProviders: false,
    });
    if (decision.next === 'retry' && decision.at < channelDeadline) {
      const state: ChannelState = {
        state: 'retry',
        attempts,
        providerIndex: 0,
        providerAttempts: onProvider,
        providerSince: since,
        nextAt: decision.at,
        error: transient.error.message,
      };
      return { target, state, events, output };
    }
  }
  events.push({ ts: clock(), type: 'UNDELIVERABLE', channel: key, reason: 'PROVIDER_ERROR' });
  return { target, state: { state: 'failed', attempts, error: lastError }, events, output };
}

/** One provider call's outcome: its result, or its error with the PROVIDER_ERROR event the caller completes and records. */
type Attempt = { result: ProviderResult; error?: undefined } | { result?: undefined; error: ProviderError; event: HistoryEvent };

/**
 * Calls one provider for a target, in its turn (PROVIDER_CALLS_AT_ONCE; the inbox is our own table
 * write and skips the line), its timeout counted from when the call starts. Tokens it reports
 * invalid are forgotten; the push tickets of a success (Expo's) get their receipts check scheduled
 * (services/expo-receipts.ts); a success is recorded in `events`; a failure is logged and answered with
 * its event, which the caller completes (retry, failover) and records. Never throws.
 */
async function callProvider(
  record: MessageRecord,
  target: Target,
  { provider, id: providerId }: ProviderChoice,
  adapter: ProviderAdapter,
  build: () => ProviderSend,
  attempt: number,
  run: JobRun,
  events: HistoryEvent[],
): Promise<Attempt> {
  const channel = targetKey(target);
  let t0 = clock();
  try {
    const message = build();
    if (target.channel !== 'inbox' && run.inline?.seen) run.inline.seen.called = true;
    const call = () => {
      t0 = clock();
      return adapter.send(message);
    };
    const result = await (target.channel === 'inbox' ? call() : providerCalls(call));
    await forgetInvalidTokens(record, result.invalidTokens);
    // Expo's tickets: their receipts, read later, say whether the push was delivered.
    if (result.tickets?.length && providerId) await scheduleExpoReceipts(record.id, record.userId, providerId, result.tickets);
    events.push({ ts: clock(), type: result.status, channel, provider, attempt, latency_ms: clock() - t0, provider_message_id: result.providerMessageId });
    return { result };
  } catch (e) {
    const error = e instanceof ProviderError ? e : new ProviderError((e as Error).message, true);
    await forgetInvalidTokens(record, error.invalidTokens);
    const ts = clock();
    logger.warn('provider failed', { messageId: record.id, channel, provider, transient: error.transient, status: error.statusCode });
    return { error, event: { ts, type: 'PROVIDER_ERROR', channel, provider, attempt, latency_ms: ts - t0, error: error.message, transient: error.transient } };
  }
}

/** Marks the user's stored device tokens a provider reported invalid, so no send uses them again (a failure to mark is logged, not the delivery's). */
async function forgetInvalidTokens(record: MessageRecord, tokens: string[] | undefined): Promise<void> {
  if (!tokens?.length || !record.userId) return;
  await markTokensFailed(record.userId, tokens, invalidTokenReason(record.id)).catch((e: unknown) =>
    logger.warn('could not mark invalid device tokens', { messageId: record.id, error: e as Error }),
  );
}

/**
 * Provider calls in flight at once in one worker process. A worker runs every recipient of its
 * jobs at once (25 a job, ten jobs a batch, so that a job's record is written once a round); that
 * many simultaneous SMTP sessions or HTTP calls to one provider overload it (and the process): under
 * load they timed out and were retried, each a needless second attempt.
 */
const PROVIDER_CALLS_AT_ONCE = 32;
const providerCalls = limiter(PROVIDER_CALLS_AT_ONCE);

/** Another worker holds a live claim on this message: try again after a while. */
class Busy extends Error {}

/**
 * Writes `next` over the record as `expected` and returns what its next write expects; a lost race (another
 * writer changed the record since it was read) is contention: deliverRecipient re-reads and decides again.
 * A write that fails otherwise (DynamoDB refusing the item's size, say) is tried once more with the
 * record compacted: after a provider accepted, the outcome must be recorded, or the claim's lease
 * runs out and the message ends "outcome unknown" (never with a call on another channel).
 */
async function save(next: MessageRecord, expected: Expected, run: JobRun): Promise<Expected> {
  const storeRequest = run.inline?.storeRequest;
  if (storeRequest) {
    // An inline single send's request is stored by its first write, with this record when that
    // costs no more (D14); a record item, if one is still needed, is written as any first one.
    delete run.inline!.storeRequest;
    if (await storeRequest(next)) {
      noteStatus(run, next);
      return 'absent';
    }
  }
  const inJob = batchOf(run, next.requestId, next.id);
  const write = (record: MessageRecord) => (inJob ? inJob.batch.write(record, inJob.slot, expected) : writeMessage(record, expected));
  let written: Expected | undefined;
  try {
    written = await write(next);
  } catch (e) {
    logger.warn('message record not saved; saving it compacted', { messageId: next.id, error: e as Error });
    written = await write(compactRecord(next));
  }
  if (!written) throw changed(`Message ${next.id}`);
  noteStatus(run, next);
  return written;
}

/** A saved record whose status differs from the one last seen is a change for the outbound webhooks. */
function noteStatus(run: JobRun, saved: MessageRecord): void {
  if (run.statuses.has(saved.id) && run.statuses.get(saved.id) === saved.status) return;
  run.statuses.set(saved.id, saved.status);
  run.changes.push(saved);
}

const finish = (
  record: MessageRecord,
  status: MessageStatus,
  extra: Partial<MessageRecord>,
  event: { type: string; [detail: string]: unknown },
): MessageRecord => ({
  ...record,
  ...extra,
  status,
  history: [...record.history, { ts: clock(), ...event }],
});

const suffixOf = (messageId: string) => parseMessageId(messageId)!.suffix;

/**
 * When a recipient's delivery window opens (`at`, now if it is open), for a send whose window is
 * read in each recipient's time zone (recipientWindow): the profile's (stored, under the `to`
 * entry's own keys, as resolution merges them), else UTC. Undefined for any other send.
 */
function windowDue(req: RequestRecord, r: DeliveryRecipient, storedProfile: Profile | undefined, now: number) {
  const window = recipientWindow(req.message.delay);
  if (!window) return undefined;
  const { zone, fallback } = profileTimeZone(mergeRecipientProfile({ membershipProfile: r.membershipProfile, storedProfile, inline: r.inline }));
  // The subset refuses windows that never open (domain/send.ts); one always opens within 8 days.
  return { at: nextOpening(window, now, zone) ?? now, zone, fallback };
}

/** The record of a recipient that has none yet: a single send's pending message (as reads showed it), else ENQUEUED now. */
const freshRecord = (req: RequestRecord, r: DeliveryRecipient, now: number): MessageRecord =>
  req.single ? pendingRecord(req, r) : newMessageRecord(req, r, 'ENQUEUED', now);

/**
 * Puts the recipient back on the delivery queue to continue at `at` (hops of at most 15 minutes),
 * once the job's run ends: recipients due in the same second go in one job, so the retries of a
 * job's recipients (a provider that failed them all) run, and write their job's record, together.
 */
function reschedule(r: DeliveryRecipient, at: number, run: JobRun): void {
  const delay = delaySecondsUntil(at, clock());
  run.later.set(delay, [...(run.later.get(delay) ?? []), r]);
}

/**
 * Delivers one recipient from whatever state its message record is in. Every change is a write
 * conditional on the record's version, and every provider call happens only after a write has
 * claimed the target, so two workers holding the same job never call a provider twice.
 */
async function deliverRecipient(req: RequestRecord, r: DeliveryRecipient, storedProfile: Profile | undefined, readFirst: boolean, run: JobRun): Promise<void> {
  const inJob = batchOf(run, req.requestId, r.messageId);
  const read = () => (inJob ? inJob.batch.read(inJob.slot, inJob.suffix) : getMessage(req.requestId, suffixOf(r.messageId)));
  inJob?.batch.enter();
  try {
    await retryOnConflict(async (round) => deliverFrom(req, r, storedProfile, readFirst || round > 0 ? await read() : undefined, run), { attempts: 4 });
  } finally {
    inJob?.batch.leave();
  }
}

/**
 * The recipient with its data. A job entry re-driven from a stored record carries none (records do
 * not copy it): it is the data of the request's `to` entry the recipient was reached through (the
 * record's `reach` starts with its index; one entry without). Bulk runs keep theirs in the record.
 */
function withData(req: RequestRecord, r: DeliveryRecipient, record: MessageRecord): DeliveryRecipient {
  if (r.data !== undefined || req.bulkJobId) return r;
  const entry = targetsOf(req.message.to)[record.reach === undefined ? 0 : Number.parseInt(record.reach, 10)];
  const data = entry?.data;
  return data === undefined ? r : { ...r, data };
}

async function deliverFrom(
  req: RequestRecord,
  r: DeliveryRecipient,
  storedProfile: Profile | undefined,
  stored: StoredRecord | undefined,
  run: JobRun,
): Promise<void> {
  const now = clock();
  const expected = stored?.expected ?? 'absent';
  let record = stored?.record ?? freshRecord(req, r, now);
  if (stored || !run.statuses.has(record.id)) run.statuses.set(record.id, stored?.record.status);
  if (TERMINAL.has(record.status)) return;
  if (unannouncedCreation(record) && !run.created.has(record.id)) {
    run.created.add(record.id);
    run.changes.push(record);
  }

  if (req.expiresAt !== undefined && now >= req.expiresAt) {
    await save(
      finish(
        record,
        'UNDELIVERABLE',
        { reason: 'FAILED', error: 'expired before delivery' },
        { type: 'UNDELIVERABLE', reason: 'FAILED', error: 'expired before delivery', expired_at: req.expiresAt },
      ),
      expected,
      run,
    );
    return;
  }
  // A delivery window read in the recipient's time zone is due per recipient: worked out once,
  // before anything was attempted, and kept in the record while it waits (record.dueAt).
  const window = record.dueAt === undefined && !Object.keys(record.channels).length ? windowDue(req, r, storedProfile, now) : undefined;
  if (window?.fallback)
    record = { ...record, history: [...record.history, { ts: now, type: 'TIMEZONE_FALLBACK', timezone: window.zone, error: window.fallback }] };
  const dueAt = record.dueAt ?? window?.at ?? req.dueAt;
  if (window && window.at - req.enqueued > config.MAX_DELAY_DAYS * 86_400_000) {
    const error = `the delivery window opens more than ${config.MAX_DELAY_DAYS} days after the send (MAX_DELAY_DAYS)`;
    await save(finish(record, 'UNDELIVERABLE', { reason: 'FAILED', error }, { type: 'UNDELIVERABLE', reason: 'FAILED', error }), expected, run);
    return;
  }
  if (dueAt !== undefined && dueAt - now > 1000) {
    // Delayed: record DELAYED once, then hop through the queue until due (or until it expires, if first).
    if (record.status !== 'DELAYED' || window) {
      const event = { ts: now, type: 'DELAYED', until: dueAt, ...(window ? { timezone: window.zone } : {}) };
      await save({ ...record, status: 'DELAYED', ...(window ? { dueAt } : {}), history: [...record.history, event] }, expected, run);
    }
    reschedule(r, Math.min(dueAt, req.expiresAt ?? Infinity), run);
    return;
  }
  const timeout = req.message.timeout?.message ?? config.MESSAGE_TIMEOUT_MS;
  if (now - (dueAt ?? req.enqueued) > timeout) {
    // Sent on a channel still watched for escalation: the message ends as sent, escalating no further.
    if (record.sent !== undefined) return void (await save(conclude(record, []), expected, run));
    const error = `message timeout: not delivered within ${timeout} ms`;
    await save(finish(record, 'UNDELIVERABLE', { reason: 'FAILED', error }, { type: 'UNDELIVERABLE', reason: 'FAILED', error }), expected, run);
    return;
  }
  const released = releaseStaleClaims(record, now);
  if (released.unknown) {
    // A provider may have accepted: end here, so neither it nor another channel is called again.
    await save(concludeUnknown(released.record), expected, run);
    return;
  }
  record = released.record;
  r = withData(req, r, record);

  if (!Object.keys(record.channels).length && r.userId && !storedProfile && r.inline && Object.keys(r.inline).length) {
    // Implicit creation: the first send to a new user_id stores the inline fields; audiences follow.
    if (await createProfileIfMissing(r.userId, r.inline)) await enqueueFanout([{ type: 'audience-user', userId: r.userId }]);
  }
  const res = await resolveRecipient(req, r, storedProfile);
  if (res.end) {
    const detail = { ...(res.reason ? { reason: res.reason } : {}), ...(res.error ? { error: res.error } : {}), ...res.detail };
    await save(
      finish(record, res.end, { reason: res.reason, error: res.error, tenantId: res.tenantId ?? record.tenantId }, { type: res.end, ...detail }),
      expected,
      run,
    );
    return;
  }
  record = { ...record, tenantId: res.tenant?.tenant.id ?? record.tenantId };
  await walk(req, r, res, record, expected, run);
}

/**
 * A `sending` claim inside its lease may still be in progress elsewhere: Busy (retry later). An
 * expired claim is the one window that cannot be closed: the worker stopped (or could not save)
 * between claiming and recording the outcome, so the provider may or may not have accepted. The
 * inbox is our own conditional write, safe to repeat, so it is retried; any other target is
 * recorded as failed ("outcome unknown", `unknown`), and the message ends there: neither a second
 * call to that provider nor a failover to another channel risks a second notification.
 */
function releaseStaleClaims(record: MessageRecord, now: number): { record: MessageRecord; unknown: boolean } {
  const claimed = Object.entries(record.channels).filter(([, c]) => c.state === 'sending');
  if (!claimed.length) return { record, unknown: false };
  if (claimed.some(([, c]) => now - (c.claimedAt ?? 0) < config.CLAIM_LEASE_MS)) throw new Busy(`${record.id} is being delivered by another worker`);
  const channels = { ...record.channels };
  const history = [...record.history];
  let unknown = false;
  for (const [key, c] of claimed) {
    if (targetOf(key).channel === 'inbox') channels[key] = { ...c, state: 'retry', nextAt: now };
    else {
      channels[key] = { ...c, state: 'failed', error: OUTCOME_UNKNOWN };
      history.push({ ts: now, type: 'UNDELIVERABLE', channel: key, error: OUTCOME_UNKNOWN });
      unknown = true;
    }
  }
  return { record: { ...record, channels, history }, unknown };
}

const OUTCOME_UNKNOWN = 'outcome unknown: the worker stopped, or could not record the outcome, during the provider call';

/** The final status after an outcome unknown: what was delivered stands; otherwise UNDELIVERABLE, saying why. */
function concludeUnknown(record: MessageRecord): MessageRecord {
  const states = Object.values(record.channels);
  if (states.some((c) => c.state === 'delivered')) return { ...record, status: 'DELIVERED' };
  if (states.some((c) => c.state === 'sent')) return { ...record, status: 'SENT' };
  return finish(record, 'UNDELIVERABLE', { reason: 'FAILED', error: OUTCOME_UNKNOWN }, { type: 'UNDELIVERABLE', reason: 'FAILED', error: OUTCOME_UNKNOWN });
}

/** A target's outcome for routing: one sent but still watched for the escalation criteria is pending, one escalated failed. */
const outcomeOf = (c: ChannelState): Outcome => {
  if (c.state === 'failed' || c.escalated) return 'failed';
  return (c.state === 'delivered' || c.state === 'sent') && c.watchUntil === undefined ? 'delivered' : 'pending';
};

/**
 * Watched targets whose time is up: each either met the escalation criteria (it counts as
 * delivered) or escalates (it counts as failed, and routing moves on). The inbox's engagement is
 * read then, once (one GetItem per watched inbox target); nothing reports any other channel's yet.
 */
async function settleWatches(record: MessageRecord, policy: EscalationPolicy, now: number): Promise<MessageRecord> {
  const due = Object.entries(record.channels).filter(([, c]) => c.watchUntil !== undefined && c.watchUntil <= now);
  if (!due.length) return record;
  const channels = { ...record.channels };
  const history = [...record.history];
  for (const [key, c] of due) {
    // The inbox's engagement is read from its item; other channels' from their provider's events (D19).
    // An email's also from our own tracking (D22): its pixel and click links are the email's.
    const reported =
      targetOf(key).channel === 'inbox'
        ? undefined
        : providerEngagement(record.history, c.provider, targetOf(key).channel === 'email' ? TRACKING_PROVIDER : undefined);
    const state = c.state === 'delivered' || reported?.delivered ? 'delivered' : 'sent';
    const engagement = targetOf(key).channel === 'inbox' && record.userId ? await inboxEngagement(record.userId, record.id) : reported?.engagement;
    const outcome = watchOutcome(policy, { state, until: c.watchUntil! }, engagement, now);
    const { watchUntil: _, ...rest } = c;
    channels[key] = outcome === 'escalate' ? { ...rest, escalated: true } : rest;
    if (outcome === 'escalate') history.push({ ts: now, type: 'ESCALATED', channel: key, criteria: policy.criteria, after_ms: policy.afterMs });
  }
  return { ...record, channels, history };
}

/**
 * Targets this round sent that the escalation criteria do not cover yet are watched for
 * `escalation` ms, but only where escalating would start something (a later channel of a `single`
 * group): a watch with nothing to escalate to would only hold the message's final status back.
 */
function watchSent(
  record: MessageRecord,
  turns: Turn[],
  policy: EscalationPolicy,
  routing: Resolved['routing'],
  reachable: (t: Target) => boolean,
): MessageRecord {
  const now = clock();
  let next = record;
  for (const turn of turns) {
    const key = targetKey(turn.target);
    const c = next.channels[key];
    if ((c.state !== 'sent' && c.state !== 'delivered') || watchOutcome(policy, { state: c.state, until: Infinity }, undefined, now) === 'met') continue;
    const outcomes = Object.fromEntries(Object.entries(next.channels).map(([k, s]) => [k, outcomeOf(s)]));
    const escalation = nextSteps(routing, reachable, { outcomes: { ...outcomes, [key]: 'failed' } });
    if (!escalation.start.length) continue;
    const until = now + policy.afterMs;
    next = {
      ...next,
      channels: { ...next.channels, [key]: { ...c, watchUntil: until } },
      history: [...next.history, { ts: now, type: 'ESCALATION_WATCH', channel: key, criteria: policy.criteria, until }],
    };
  }
  return next;
}

/**
 * Walks the routing tree: each round claims every target that may start now (new ones, and
 * retries that are due) in one write, runs them, and records the outcomes with the next claim (or
 * the final status). Retries that are not due yet park the recipient on the queue until the
 * earliest of them.
 */
async function walk(req: RequestRecord, r: DeliveryRecipient, res: Resolved, record: MessageRecord, expected: Expected, run: JobRun): Promise<void> {
  const reach = await reachOf(r.userId);
  // A channel whose `if` (`message.channels.<ch>.if`, else the routing strategy's) is false is passed over as an unreachable one is.
  const allowed = (t: Target) => settingHolds(req.message.channels, res.channels, t.channel, conditionScope(res));
  // An email or sms target's address as the suppression list keys it (D21); a suppressed one is passed over as an unreachable one is.
  const listed = (t: Target): Listed | undefined => {
    const address = isSuppressible(t.channel) ? channelAddress(t, res.profile, reach) : undefined;
    const normalized = typeof address === 'string' ? normalizeAddress(t.channel as SuppressibleChannel, address) : undefined;
    return normalized === undefined ? undefined : { channel: t.channel as SuppressibleChannel, address: normalized, key: `${t.channel}#${normalized}` };
  };
  const suppressions = new Map<string, Suppression | undefined>();
  const entryOf = (t: Target) => suppressions.get(listed(t)?.key ?? '');
  const suppressed = (t: Target) => entryOf(t) !== undefined;
  const reachable = (t: Target) => allowed(t) && channelAddress(t, res.profile, reach) !== undefined && !suppressed(t);
  const policy = escalationPolicy(req.message.timeout);
  let tokensRead = false;
  let quiet: Quiet | undefined;
  for (;;) {
    const now = clock();
    if (policy) record = await settleWatches(record, policy, now);
    const entries = Object.entries(record.channels);
    const due = entries.filter(([, c]) => c.state === 'retry' && (c.nextAt ?? 0) <= now).map(([k]) => targetOf(k));
    const waiting = [
      ...entries.filter(([, c]) => c.state === 'retry' && (c.nextAt ?? 0) > now).map(([, c]) => c.nextAt!),
      ...entries.filter(([, c]) => c.watchUntil !== undefined).map(([, c]) => c.watchUntil!),
    ];
    const step = nextSteps(res.routing, reachable, { outcomes: Object.fromEntries(entries.map(([k, c]) => [k, outcomeOf(c)])) });
    // A push target reached (to start, or found without a token) brings in the user's device
    // tokens (`/users/:id/tokens`), read only then: the routing is walked again with them.
    if (!tokensRead && r.userId && [...step.start, ...step.unreachable].some((t) => t.channel === 'push')) {
      tokensRead = true;
      const stored = await usableTokens(r.userId);
      if (Object.keys(stored).length) {
        res = { ...res, profile: withStoredTokens(res.profile, stored) };
        continue;
      }
    }
    // An email or sms target about to start is looked up on the suppression list first, once per
    // address (eventually consistent, batched with the job's other recipients): a suppressed one is
    // passed over, the routing walked again without it.
    const unchecked = new Map(step.start.flatMap((t) => listed(t) ?? []).flatMap((l) => (suppressions.has(l.key) ? [] : [[l.key, l] as const])));
    if (unchecked.size) {
      const found = await Promise.all([...unchecked.values()].map(async (l) => [l.key, await lookUpSuppression(l.channel, l.address)] as const));
      for (const [key, entry] of found) suppressions.set(key, entry);
      if (found.some(([, entry]) => entry !== undefined)) {
        for (const t of step.start.filter((u) => suppressed(u) && !record.history.some((e) => e.reason === 'SUPPRESSED' && e.channel === targetKey(u))))
          record = { ...record, history: [...record.history, { ts: now, type: 'UNDELIVERABLE', channel: targetKey(t), ...suppressedBecause(t, entryOf(t)!) }] };
        continue;
      }
    }
    // The history says why a channel was passed over for its condition (once).
    for (const t of step.unreachable.filter((u) => !allowed(u) && !record.history.some((e) => e.type === 'FILTERED' && e.channel === targetKey(u))))
      record = {
        ...record,
        history: [...record.history, { ts: now, type: 'FILTERED', channel: targetKey(t), reason: 'CONDITION', error: `channels.${t.channel}.if is false` }],
      };
    const targets = [...step.start, ...due];

    // A topic's digest (D27): before its first channel starts, a message of the topic to a user
    // becomes an event of the user's digest and ends DIGESTED; the digest's own message is not digested again.
    const digest = res.topic?.digest;
    if (digest && r.userId && !req.digestRunId && !entries.length && step.start.length) {
      const runId = await startDigestRun({
        topicId: res.topic!.id,
        digest,
        message: req.message,
        messageId: record.id,
        userId: r.userId,
        data: res.data,
        created: req.enqueued,
      });
      if (runId) {
        await save(
          finish(record, 'DIGESTED', { reason: 'DIGESTED' }, { type: 'DIGESTED', reason: 'DIGESTED', topic_id: res.topic!.id, run_id: runId }),
          expected,
          run,
        );
        return;
      }
    }

    // Quiet hours (D26): a round that would start a channel inside the recipient's quiet hours is
    // held, whole, until they end (unless the topic is REQUIRED); the hold is a delay like any other.
    if (step.start.length) {
      quiet ??= await quietHoursOf(r);
      const hold = firstHold(quiet, step.start, res, now);
      if (hold) {
        const event = {
          ts: now,
          type: 'DELAYED',
          reason: 'QUIET_HOURS',
          until: hold.until,
          channel: hold.channel,
          timezone: hold.zone,
          quiet_hours: hold.source,
        };
        await save({ ...record, status: 'DELAYED', reason: 'QUIET_HOURS', dueAt: hold.until, history: [...record.history, event] }, expected, run);
        reschedule(r, Math.min(hold.until, req.expiresAt ?? Infinity), run);
        return;
      }
    }
    // A topic's throttle (D26) lets the message through once, before its first channel starts: one
    // conditional UpdateItem on the user's counter of the window; over the limit it ends THROTTLED.
    const throttle = res.topic?.throttle;
    if (throttle && r.userId && !entries.length && step.start.length) {
      const window = throttleWindow(throttle, now);
      const passed = await passThrottle({
        topicId: res.topic!.id,
        userId: r.userId,
        windowStart: window.start,
        windowEnd: window.end,
        limit: throttle.limit,
        messageId: record.id,
      });
      if (!passed) {
        const error = `topic ${res.topic!.id} allows at most ${throttle.limit} messages per ${throttle.period} to a user; the window ends at ${new Date(window.end).toISOString()}`;
        const detail = { reason: 'THROTTLED', error, topic_id: res.topic!.id, window_start: window.start, window_end: window.end };
        await save(finish(record, 'THROTTLED', { reason: 'THROTTLED', error }, { type: 'THROTTLED', ...detail }), expected, run);
        return;
      }
    }

    // Every target of the round renders before anything is claimed: rendering is bounded (the
    // budget of domain/render.ts), and a target whose content is over it fails here, with no
    // claim and no provider call; the routing then goes on as after any failure.
    const outputs = new Map<string, RenderedOutput>();
    const refused: Turn[] = [];
    for (const t of targets) {
      try {
        outputs.set(targetKey(t), renderFor(t, res));
      } catch (e) {
        if (!(e instanceof RenderLimitError)) throw e;
        refused.push(tooLarge(t, record.channels[targetKey(t)], e));
      }
    }
    if (refused.length) {
      for (const turn of refused) record = apply(record, turn);
      continue;
    }

    if (!targets.length) {
      if (waiting.length) {
        await save(record, expected, run);
        reschedule(r, Math.min(...waiting), run);
        return;
      }
      await save(conclude(record, step.unreachable, step.unknown, step.unreachable.filter(suppressed)), expected, run);
      return;
    }

    if (overdue(run)) {
      await save(record, expected, run);
      throw new HandOff(`${record.id}: the inline delivery's time is up`);
    }
    const claims = Object.fromEntries(
      targets.map((t) => [targetKey(t), { ...(record.channels[targetKey(t)] ?? { attempts: 0 }), state: 'sending' as const, claimedAt: now }]),
    );
    // The record must still be storable once this round's outcomes are in it: checked before the
    // claim, so a record DynamoDB would refuse never stands between a provider's answer and its log.
    const fresh = [...outputs.values()];
    const bytes = recordBytes({ ...record, outputs: [...record.outputs.filter((o) => !fresh.some((f) => f.channel === o.channel)), ...fresh] });
    if (bytes > RECORD_LIMIT_BYTES) {
      const error = `message record too large: ${bytes} bytes stored for this recipient, at most ${RECORD_LIMIT_BYTES}`;
      await save(finish(record, 'UNDELIVERABLE', { reason: 'FAILED', error }, { type: 'UNDELIVERABLE', reason: 'FAILED', error }), expected, run);
      return;
    }
    // A message held for quiet hours says when it was released (D26), and loses the hold's reason.
    const released = record.status === 'DELAYED' && heldForQuiet(record) ? [{ ts: now, type: 'RELEASED', reason: 'QUIET_HOURS' }] : [];
    record = {
      ...record,
      ...(released.length ? { reason: undefined } : {}),
      status: 'ROUTED',
      channels: { ...record.channels, ...claims },
      history: [...record.history, ...released, ...step.start.map((t) => ({ ts: now, type: 'ROUTED', channel: targetKey(t) }))],
    };
    // The claim is what keeps a provider from being called twice, and what a cancel races: it is
    // conditional on the version read, so a cancel written since makes it a Conflict (re-read:
    // CANCELED, nothing delivered), and a cancel after it finds the message ROUTED (409). The
    // inbox is claimed too: its write is safe to repeat, but without a claim a cancel landing
    // between the read and the inbox write answered CANCELED while the item was written.
    // A fan-out recipient with no record yet whose round is the inbox alone needs no claim (1 WRU
    // less, docs/decisions.md D12): a fan-out's message without a record cannot be cancelled, the
    // inbox write is conditional on its key, and the outcome's write creates the record, so a second
    // worker holding the same job loses that write, re-reads and finds the message finished. A single
    // send's message can be cancelled before it has a record (from its request): it is claimed,
    // unless it is delivered inline, by the function that accepted it, before anyone knows its id.
    // While an inline send's request is not stored, nothing else can drive its message (no job,
    // no walk, no cancel): no round needs a claim, and the first write, which stores the request,
    // carries every outcome so far (D14).
    const unclaimed =
      expected === 'absent' &&
      (run.inline?.storeRequest !== undefined || ((!req.single || run.inline !== undefined) && targets.every((t) => t.channel === 'inbox')));
    if (!unclaimed) expected = await save(record, expected, run);
    const turns = await Promise.all(targets.map((t) => runTarget(req, record, t, res, record.channels[targetKey(t)], outputs.get(targetKey(t))!, run)));
    for (const turn of turns) record = apply(record, withAddress(turn, listed(turn.target)?.address));
    if (policy) record = watchSent(record, turns, policy, res.routing, reachable);
    if (turns.some((t) => t.target.channel === 'inbox' && t.state.state === 'delivered')) run.inboxed.add(record.id);
  }
}

/** The quiet hours a recipient's delivery reads: the user's own (when USER_QUIET_HOURS is on and they set some), else the workspace's. */
interface Quiet {
  hours: QuietHours | undefined;
  source: 'user' | 'workspace';
}

async function quietHoursOf(r: DeliveryRecipient): Promise<Quiet> {
  const own = config.USER_QUIET_HOURS && r.userId ? await getQuietHours(r.userId, false) : undefined;
  return own ? { hours: own, source: 'user' } : { hours: config.QUIET_HOURS, source: 'workspace' };
}

/** The first of the targets about to start that quiet hours hold, if any. */
function firstHold(quiet: Quiet, start: Target[], res: Resolved, now: number): QuietHold | undefined {
  if (!quiet.hours) return undefined;
  const zone = recipientZone(res.profile, config.DEFAULT_TIMEZONE);
  const required = res.preference?.status === 'REQUIRED';
  for (const t of start) {
    const hold = quietHold({ quiet: quiet.hours, source: quiet.source, channel: t.channel, required, zone, at: now });
    if (hold) return hold;
  }
  return undefined;
}

/** Whether the record's last DELAYED event is a quiet-hours hold. */
const heldForQuiet = (record: MessageRecord): boolean => record.history.findLast((e) => e.type === 'DELAYED')?.reason === 'QUIET_HOURS';

function apply(record: MessageRecord, turn: Turn): MessageRecord {
  const key = targetKey(turn.target);
  const ok = turn.state.state === 'delivered' || turn.state.state === 'sent';
  return {
    ...record,
    channels: { ...record.channels, [key]: turn.state },
    history: [...record.history, ...turn.events],
    outputs: turn.output ? [...record.outputs.filter((o) => o.channel !== turn.output!.channel), turn.output] : record.outputs,
    ...(ok && record.sent === undefined
      ? { sent: clock(), channel: turn.target.channel, provider: turn.state.provider, providerMessageId: turn.providerMessageId }
      : {}),
    ...(turn.state.state === 'delivered' && record.delivered === undefined ? { delivered: clock() } : {}),
  };
}

/** Why a suppressed target was passed over, for its history event and the message's error (D21). */
const suppressedBecause = (t: Target, entry: Suppression) => ({
  reason: 'SUPPRESSED',
  error: `the ${t.channel} address is on the suppression list (${entry.reason}${entry.provider ? `, ${entry.provider}` : ''}, since ${entry.created})`,
});

/** A sent email or sms target keeps the address it went to, as the suppression list keys it, for a later bounce or complaint (D21). */
function withAddress(turn: Turn, address: string | undefined): Turn {
  const sent = turn.state.state === 'sent' || turn.state.state === 'delivered';
  return sent && address !== undefined ? { ...turn, state: { ...turn.state, address } } : turn;
}

/** An email or sms target's address as the suppression list keys it. */
interface Listed {
  channel: SuppressibleChannel;
  address: string;
  key: string;
}

/**
 * The final status once nothing is left to attempt. Nothing tried and a suppressed address among
 * the targets passed over: UNDELIVERABLE, SUPPRESSED (D21), naming the channels.
 */
function conclude(record: MessageRecord, unreachable: Target[], unknown: string[] = [], suppressed: Target[] = []): MessageRecord {
  const states = Object.values(record.channels);
  if (states.some((c) => c.state === 'delivered')) return { ...record, status: 'DELIVERED' };
  if (states.some((c) => c.state === 'sent')) return { ...record, status: 'SENT' };
  if (states.length) {
    // Content over the rendering budget on every channel tried: say so, it is not the providers.
    const error = states.every((c) => c.error?.startsWith(TOO_LARGE)) ? states[0].error : undefined;
    if (error) return finish(record, 'UNDELIVERABLE', { reason: 'FAILED', error }, { type: 'UNDELIVERABLE', reason: 'FAILED', error });
    const reason = states.every((c) => c.error === 'NO_PROVIDERS') ? 'NO_PROVIDERS' : 'PROVIDER_ERROR';
    return finish(record, 'UNDELIVERABLE', { reason }, { type: 'UNDELIVERABLE', reason });
  }
  if (suppressed.length) {
    const channels = [...new Set(suppressed.map((t) => t.channel))];
    const error = `the ${channels.join(' and ')} address${channels.length > 1 ? 'es are' : ' is'} on the suppression list`;
    return finish(
      record,
      'UNDELIVERABLE',
      { reason: 'SUPPRESSED', error },
      { type: 'UNDELIVERABLE', reason: 'SUPPRESSED', error, channels: suppressed.map(targetKey) },
    );
  }
  // Routing that named providers this stack does not have: the message says which.
  const error = unknown.length ? `routing names ${unknown.map((k) => `"${k}"`).join(', ')}, no channel or provider this stack has` : undefined;
  return finish(
    record,
    'UNROUTABLE',
    { reason: 'NO_CHANNELS', ...(error ? { error } : {}) },
    { type: 'UNROUTABLE', reason: 'NO_CHANNELS', unreachable: unreachable.map(targetKey), ...(unknown.length ? { unknown } : {}) },
  );
}

/** Ends a recipient that could not be processed after every retry, so no message stays unfinished. */
async function giveUp(req: RequestRecord, r: DeliveryRecipient, error: string): Promise<MessageRecord | undefined> {
  return retryOnConflict(
    async () => {
      const stored = await getMessage(req.requestId, suffixOf(r.messageId));
      const record = stored?.record ?? freshRecord(req, r, clock());
      if (TERMINAL.has(record.status)) return;
      const final = finish(record, 'UNDELIVERABLE', { reason: 'FAILED', error }, { type: 'UNDELIVERABLE', reason: 'FAILED', error });
      if (!(await writeMessage(final, stored?.expected ?? 'absent'))) throw changed(`Message ${r.messageId}`);
      return final;
    },
    { attempts: 5 },
  );
}

/**
 * One delivery job: up to RECIPIENTS_PER_JOB recipients, each on its own. Profiles are read in one
 * BatchGetItem. A recipient that fails unexpectedly (or finds another worker on it) is re-enqueued
 * alone with backoff, never failing its neighbours; after MAX_JOB_ATTEMPTS it ends UNDELIVERABLE.
 * `inline`: the job of a single send, run by the function that accepted it with the request it
 * stored (not read again); no provider call starts after `deadline`, the queue continues from there.
 */
export async function deliverJob(job: DeliveryJob, inline?: InlineRun): Promise<void> {
  const req = inline?.request ?? (await requestCache(job.requestId, () => getRequest(job.requestId)));
  if (!req) {
    logger.error('delivery job for an unknown request', { requestId: job.requestId });
    return;
  }
  // Records exist before delivery for recipients the fan-out recorded (users it may reach twice)
  // and for any resumed job: read them first. A single send's first job reads nothing (1 RRU less):
  // its record exists only if a cancel wrote it, and its first write, conditional on there being
  // none, then fails as a conflict and the re-read finds the message cancelled.
  const readFirst = job.resume === true || (job.attempt ?? 0) > 0;
  const userIds = [...new Set(job.recipients.flatMap((r) => (r.userId ? [r.userId] : [])))];
  const profiles = userIds.length ? await getProfiles(userIds) : new Map<string, Profile>();
  const failed: DeliveryRecipient[] = [];
  const busy: DeliveryRecipient[] = [];
  const handedOff: DeliveryRecipient[] = [];
  const run: JobRun = {
    inboxed: new Set(),
    batches: new Map(),
    later: new Map(),
    statuses: new Map(),
    changes: [],
    created: new Set(),
    ...(inline ? { inline: { ...inline } } : {}),
  };
  const queue = [...job.recipients];
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
      for (let r = queue.shift(); r; r = queue.shift()) {
        try {
          await deliverRecipient(req, r, r.userId ? profiles.get(r.userId) : undefined, readFirst || r.recorded === true, run);
        } catch (e) {
          // A record that kept changing under this worker is as good as busy: look again shortly.
          if (e instanceof HandOff) handedOff.push(r);
          else if (e instanceof Busy || isContention(e)) busy.push(r);
          else {
            logger.error('recipient failed', { messageId: r.messageId, error: e as Error });
            failed.push(r);
          }
        }
      }
    }),
  );
  await announceMessages(run.changes);
  for (const [delay, recipients] of run.later) {
    const jobs = Array.from({ length: Math.ceil(recipients.length / RECIPIENTS_PER_JOB) }, (_, i) =>
      recipients.slice(i * RECIPIENTS_PER_JOB, (i + 1) * RECIPIENTS_PER_JOB),
    );
    await enqueueDelivery(
      jobs.map((rs) => ({ type: 'deliver' as const, requestId: job.requestId, recipients: rs, resume: true })),
      delay,
    );
  }
  // A fan-out's first job for these recipients indexes them by recipient (a resumed job's were),
  // after delivery: a message this job delivered to the inbox has its inbox item as its entry.
  if (!job.resume)
    await indexRecipients(
      req,
      job.recipients.filter((r) => !run.inboxed.has(r.messageId)),
    );
  // An inline run out of time: the delivery queue goes on at once from the saved state.
  if (handedOff.length) await enqueueDelivery([{ type: 'deliver', requestId: job.requestId, recipients: handedOff, attempt: job.attempt, resume: true }]);
  // Another worker holds these: look again shortly (it has usually finished; if not, again later).
  if (busy.length)
    await enqueueDelivery([{ type: 'deliver', requestId: job.requestId, recipients: busy, attempt: job.attempt, resume: true }], BUSY_RECHECK_SECONDS);
  if (!failed.length) return;
  const attempt = (job.attempt ?? 0) + 1;
  if (attempt >= MAX_JOB_ATTEMPTS) {
    const ended = await Promise.all(failed.map((r) => giveUp(req, r, 'delivery kept failing; see the worker logs')));
    await announceMessages(ended.filter((m) => m !== undefined));
    return;
  }
  const now = clock();
  await enqueueDelivery(
    [{ type: 'deliver', requestId: job.requestId, recipients: failed, attempt, resume: true }],
    delaySecondsUntil(now + 2 ** attempt * 5_000, now),
  );
}

export const handler = sqsWorker(deliveryJob, (job) => deliverJob(job));
