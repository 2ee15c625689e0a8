import { createHash } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import {
  batchCloses,
  contextValue,
  DEFAULT_MERGE,
  DEFAULT_RETAIN,
  delayEnd,
  digestMessage,
  durationOf,
  keyPart,
  mergeData,
  mergeProfile,
  nextScheduled,
  retained,
  stepMessage,
  stepRuns,
  type RunContext,
  type RunStep,
  type Step,
  type StepRef,
} from '../domain/automations';
import { recipientZone } from '../domain/quiet-hours';
import { throttleWindow } from '../domain/throttle';
import { messageSchema, requestIdFor } from '../domain/send';
import { acceptSend } from '../http/send';
import { MAX_RUN_BYTES, RunTooLarge, startRun } from '../services/automation-runs';
import { now } from '../shared/clock';
import { config } from '../shared/config';
import { ValidationError } from '../shared/errors';
import { enqueueFanout, type AutomationStepJob } from '../shared/jobs';
import { logger } from '../shared/logger';
import { mapLimit } from '../shared/pool';
import { delaySecondsUntil } from '../shared/queue';
import {
  advanceRun,
  cancelRun,
  endTokenEntry,
  getRun,
  getTemplate,
  runsOfToken,
  startDelay,
  waitUntil,
  type Run,
  type StepOutcome,
} from '../store/automations';
import { batchBusy, batchEvents, closeBatch, dropBatch, getBatchHead, joinBatch, openBatch, type BatchWrite } from '../store/batches';
import { jittered } from '../store/conditional';
import { runKeys } from '../store/keys';
import { getProfile, ProfileTooLarge, updateProfile } from '../store/profiles';
import { passCounter } from '../store/throttles';
import { ProviderError } from '../providers/port';
import { sharedHttp } from '../providers/transport';

/** Runs a cancel step stops at once (a token's page of runs is up to 100). */
const CANCELS_AT_ONCE = 10;

/** What a step's effect gives its outcome (besides done). */
type Effect = (Pick<StepOutcome, 'messageId' | 'runId' | 'canceled'> & { data?: Record<string, unknown> }) | { failed: string };

/** A fetch-data call: attempts (a 5xx, a timeout or an unreachable host is tried again), the wait before each retry, its timeout. */
const FETCH_ATTEMPTS = 3;
const FETCH_BACKOFF_MS = 250;
const FETCH_TIMEOUT_MS = 10_000;

/** When the step at the run's cursor started: when the previous one finished, else when the run was made (the same on every delivery). */
const stepStart = (run: Run): number => (run.cursor === 0 ? run.doc.created : (run.doc.outcomes[run.cursor - 1]?.finishedAt ?? run.doc.created));

/**
 * Does one step of a run, once: a job for a step the run is no longer at (a redelivery, a re-drive
 * of a step done meanwhile), or for a run that ended, does nothing. Each effect is idempotent, so a
 * step done twice before its cursor moved has one effect: a send is named after the run and step
 * (the send path's Idempotency-Key naming), an invoked run likewise, a profile merge or a cancel
 * applied again changes nothing more. Then the cursor moves with a conditional update (one delivery
 * wins) and the next step's job is enqueued.
 */
export async function runStep(job: AutomationStepJob): Promise<void> {
  const run = await getRun(job.runId);
  if (!run || run.status !== 'running' || run.cursor !== job.step) return;
  const step = run.doc.steps[run.cursor];
  const startedAt = stepStart(run);
  if (!stepRuns(step, run.doc.context, refsOf(run))) return finish(run, { status: 'skipped', startedAt, finishedAt: now() });
  if (step.action === 'batch') return batchStep(run, step, startedAt, job);
  if (step.action === 'throttle') return throttleStep(run, step, startedAt);
  if (step.action === 'delay') {
    const dueAt = run.dueAt ?? (await startDelay(run, delayEnd(step, now(), run.doc.context.profile)));
    if (dueAt === undefined) return;
    if (dueAt > now()) {
      // Hop: SQS delays at most 15 minutes; the sweeper also wakes the run at dueAt.
      await enqueueFanout([job], delaySecondsUntil(dueAt, now()));
      return;
    }
    return finish(run, { status: 'done', startedAt, finishedAt: now() });
  }
  const effect = await doStep(run, step, startedAt);
  if ('failed' in effect) {
    logger.warn('automation step failed', { runId: run.runId, step: run.cursor, error: effect.failed });
    return finish(run, { status: 'failed', startedAt, finishedAt: now(), error: effect.failed });
  }
  const { data, ...recorded } = effect;
  // fetch-data's answer becomes the run's data in the same update that records the step.
  const next = data === undefined ? run : { ...run, doc: { ...run.doc, context: { ...run.doc.context, data } } };
  return finish(next, { status: 'done', startedAt, finishedAt: now(), ...recorded });
}

/**
 * A fetch-data step's call through the egress guard (lambdas/shared/egress.ts), within its timeout,
 * tried again on a 5xx or a network failure. Its answer must be a JSON object. The call itself may
 * be made again by a redelivered job (at least once, as any webhook); its merge into the run's data
 * is recorded once.
 */
async function fetchData(step: Extract<Step, { action: 'fetch-data' }>): Promise<Record<string, unknown> | string> {
  const { method, url, body, headers } = step.webhook;
  for (let attempt = 1; ; attempt++) {
    let failure: string;
    try {
      const reply = await sharedHttp().exchange({ url, method, headers, body, timeoutMs: FETCH_TIMEOUT_MS, what: 'fetch-data' });
      if (reply.status >= 200 && reply.status < 300) {
        let json: unknown;
        try {
          json = JSON.parse(reply.text);
        } catch {
          return 'fetch-data: the answer is not JSON';
        }
        return typeof json === 'object' && json !== null && !Array.isArray(json)
          ? (json as Record<string, unknown>)
          : 'fetch-data: the answer is not a JSON object';
      }
      failure = `fetch-data: the endpoint answered ${reply.status}`;
      if (reply.status < 500) return failure;
    } catch (e) {
      if (!(e instanceof ProviderError)) throw e;
      if (!e.transient) return e.message;
      failure = e.message;
    }
    if (attempt >= FETCH_ATTEMPTS) return `${failure} (after ${attempt} attempts)`;
    await new Promise((r) => setTimeout(r, FETCH_BACKOFF_MS * 2 ** (attempt - 1)));
  }
}

/** What `refs.<ref>` shows a step's `if`: the outcomes of earlier steps that have a `ref`. */
function refsOf(run: Run): Record<string, StepRef> {
  const refs: Record<string, StepRef> = {};
  run.doc.steps.forEach((step, i) => {
    const o = run.doc.outcomes[i];
    if (step.ref && o && i < run.cursor)
      refs[step.ref] = {
        status: o.status,
        messageId: o.messageId,
        runId: o.runId,
        canceled: o.canceled,
        error: o.error,
        ...(o.count !== undefined ? { count: o.count } : {}),
      };
  });
  return refs;
}

/** A short, stable key from its parts (a batch's or a throttle's), so keys of any length fit a sort key. */
const hashKey = (parts: unknown[]): string => createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 32);

/** What an automation is, for its batches and throttles: a template's id and revision, or an ad hoc automation's steps. */
const automationOf = (run: Run): string =>
  run.doc.source ? `template:${run.doc.source.template}@${run.doc.source.revision}` : `adhoc:${hashKey(run.doc.steps)}`;

type BatchStep = Extract<Step, { action: 'batch' }>;
/** Tries of a batch write under contention before the job fails (and SQS delivers it again). */
const BATCH_ATTEMPTS = 12;
/** How long an event that found its batch full waits before it looks again (the owner is told to close it meanwhile). */
const FULL_RETRY_SECONDS = 1;

/** The time zone a scheduled batch closes in: the step's, else the recipient's profile (the run's, else the stored one), else DEFAULT_TIMEZONE. */
async function batchZone(step: BatchStep, ctx: RunContext): Promise<string> {
  if (step.timezone) return step.timezone;
  const given = ctx.profile ?? {};
  if (given.timezone !== undefined || given.zoneinfo !== undefined || !ctx.recipient || step.scope === 'global')
    return recipientZone(given, config.DEFAULT_TIMEZONE);
  return recipientZone({ ...(await getProfile(ctx.recipient)), ...given }, config.DEFAULT_TIMEZONE);
}

const poke = (runId: string, step: number) => enqueueFanout([{ type: 'automation-step', runId, step }]);

/**
 * A batch step (README "Batches and digests", docs/decisions.md D27): the run opens its key's batch
 * (and waits for it to close) or, when one is open, adds its event to it and ends. A batch at
 * `max_items` takes no more: the event waits a second and looks again, and the owner is told to
 * close it. Contention on the head (a burst) is tried again with a jittered wait.
 */
async function batchStep(run: Run, step: BatchStep, startedAt: number, job: AutomationStepJob): Promise<void> {
  if (run.batchKey) return awaitBatch(run, step, startedAt, job);
  const ctx = run.doc.context;
  if ((step.scope ?? 'user') === 'user' && !ctx.recipient)
    return finish(run, { status: 'failed', startedAt, finishedAt: now(), error: "a batch of scope user needs the run's recipient" });
  const key = hashKey([
    automationOf(run),
    run.cursor,
    step.scope === 'global' ? '*' : ctx.recipient,
    step.category_key ? keyPart(contextValue(ctx, step.category_key)) : '',
  ]);
  for (let attempt = 0; attempt < BATCH_ATTEMPTS; attempt++) {
    const head = await getBatchHead(key);
    const at = now();
    let written: BatchWrite;
    // This run opened it: another delivery of the same job got there first (the run read before it was marked).
    if (head?.owner === run.runId) return awaitBatch({ ...run, batchKey: key }, step, startedAt, job);
    if (!head) {
      const releaseAt = step.schedule ? nextScheduled(step.schedule, at, await batchZone(step, ctx)) : undefined;
      written = await openBatch(key, run, at, releaseAt, releaseAt ?? at + durationOf(step.max_wait_period!)!);
      if (written === 'done') return awaitBatch({ ...run, batchKey: key }, step, startedAt, job);
    } else if (step.max_items !== undefined && head.count >= step.max_items) {
      await poke(head.owner, run.cursor);
      await enqueueFanout([job], FULL_RETRY_SECONDS);
      return;
    } else {
      const outcome: StepOutcome = { status: 'batched', startedAt, finishedAt: at, batchRunId: head.owner };
      written = await joinBatch(key, head, run, at, { outcome, status: 'done', wakeAt: at }, step.max_items);
      if (written === 'done') {
        if (step.max_items !== undefined && head.count + 1 >= step.max_items) await poke(head.owner, run.cursor);
        return endTokenEntry(run);
      }
    }
    if (written === 'run-moved') return;
    if (written === 'contention') await new Promise((r) => setTimeout(r, jittered(attempt)));
  }
  throw batchBusy(key);
}

/**
 * The owner of a batch, at its step: until the batch closes (its schedule, its quiet period or its
 * cap; at once when full) it sleeps, hopping through the queue and woken by the sweeper; then it
 * reads the events it keeps and, in one transaction, removes the head (only if no event joined since
 * it read the count) and goes on with `data.batch` = `{ count, items }`.
 */
async function awaitBatch(run: Run, step: BatchStep, startedAt: number, job: AutomationStepJob): Promise<void> {
  const key = run.batchKey!;
  for (let attempt = 0; attempt < BATCH_ATTEMPTS; attempt++) {
    const head = await getBatchHead(key);
    // The head goes only with the owner's move past the step, or with its run's cancel.
    if (!head || head.owner !== run.runId) return;
    const closes = batchCloses(step, head);
    const full = step.max_items !== undefined && head.count >= step.max_items;
    if (!full && closes > now()) {
      if (run.dueAt !== closes) await waitUntil(run, closes);
      await enqueueFanout([job], delaySecondsUntil(closes, now()));
      return;
    }
    const batch = fitBatch(run, head.count, retained(step, await batchEvents(run.runId, step.retain ?? DEFAULT_RETAIN)));
    const next = { ...run, doc: { ...run.doc, context: { ...run.doc.context, data: { ...run.doc.context.data, batch } } } };
    const last = run.cursor + 1 >= run.doc.steps.length;
    const outcome: StepOutcome = { status: 'done', startedAt, finishedAt: now(), count: head.count };
    const written = await closeBatch(key, next, head.count, { outcome, status: last ? 'done' : 'running', wakeAt: now() + config.SWEEP_GRACE_MS });
    if (written === 'done') return last ? endTokenEntry(run) : poke(run.runId, run.cursor + 1);
    if (written === 'run-moved') return;
    if (written === 'contention') await new Promise((r) => setTimeout(r, jittered(attempt)));
  }
  throw batchBusy(key);
}

/** The batch a run goes on with, its items cut from the end (and `truncated` set) if they would make the run larger than it may be. */
function fitBatch(run: Run, count: number, items: Record<string, unknown>[]): { count: number; items: Record<string, unknown>[]; truncated?: true } {
  const base = Buffer.byteLength(JSON.stringify(run.doc)) + 64;
  let size = base + Buffer.byteLength(JSON.stringify(items));
  let kept = items.length;
  while (kept > 0 && size > MAX_RUN_BYTES) {
    kept -= 1;
    size -= Buffer.byteLength(JSON.stringify(items[kept])) + 1;
  }
  return kept === items.length ? { count, items } : { count, items: items.slice(0, kept), truncated: true };
}

/**
 * A throttle step: the run passes when it is among the first `max_allowed` of its key in the
 * period's window (the window of when the step started, the same on every delivery; one
 * conditional UpdateItem, the topic throttle's counter). Over it the run is `throttled`: it ends, or
 * goes on at the step named by `on_throttle`.
 */
async function throttleStep(run: Run, step: Extract<Step, { action: 'throttle' }>, startedAt: number): Promise<void> {
  const ctx = run.doc.context;
  const scope = step.scope ?? 'user';
  if (scope === 'user' && !ctx.recipient)
    return finish(run, { status: 'failed', startedAt, finishedAt: now(), error: "a throttle of scope user needs the run's recipient" });
  const subject = scope === 'user' ? ctx.recipient : scope === 'global' ? '*' : keyPart(contextValue(ctx, step.throttle_key!));
  const window = throttleWindow({ limit: step.max_allowed, period: step.period }, startedAt);
  const counter = runKeys.throttle(hashKey([automationOf(run), run.cursor, scope, subject]), window.start);
  if (await passCounter(counter, window.end, step.max_allowed, run.runId)) return finish(run, { status: 'done', startedAt, finishedAt: now(), window });
  const outcome: StepOutcome = { status: 'throttled', startedAt, finishedAt: now(), window, error: 'THROTTLED' };
  if (step.on_throttle === undefined) return finish(run, outcome, { end: true });
  const next = run.doc.steps.findIndex((later, i) => i > run.cursor && later.ref === step.on_throttle);
  return finish(run, { ...outcome, next }, { next });
}

async function doStep(run: Run, step: Exclude<RunStep, { action: 'delay' | 'batch' | 'throttle' }>, startedAt: number): Promise<Effect> {
  const ctx = run.doc.context;
  const scope = `automation-run:${run.runId}:${run.cursor}`;
  switch (step.action) {
    case 'send':
    case 'send-list':
    case 'send-message': {
      const built = step.action === 'send-message' ? digestMessage(step, ctx, run.runId) : stepMessage(step, ctx, run.runId);
      if (typeof built === 'string') return { failed: built };
      const parsed = messageSchema.safeParse(built);
      if (!parsed.success) return { failed: `the message is not valid: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}` };
      // The request is named after the run and step, as a send under an Idempotency-Key is: a second
      // attempt finds the request the first stored. A worker has no HTTP event to mark.
      const op = { created: startedAt, scope };
      try {
        // A digest's message is not digested again (workers/deliver.ts).
        await acceptSend(parsed.data, {} as APIGatewayProxyEventV2, op, { inline: false, digestRunId: step.action === 'send-message' ? run.runId : undefined });
      } catch (e) {
        if (e instanceof ValidationError) return { failed: e.message };
        throw e;
      }
      return { messageId: requestIdFor(op.created, op.scope) };
    }
    case 'update-profile': {
      const userId = step.recipient_id ?? ctx.recipient;
      if (!userId) return { failed: 'names no recipient_id and the run no recipient' };
      try {
        await updateProfile(userId, (current) => mergeProfile(current, step.profile, step.merge ?? DEFAULT_MERGE));
      } catch (e) {
        if (e instanceof ProfileTooLarge) return { failed: e.message };
        throw e;
      }
      return {};
    }
    case 'cancel': {
      let canceled = 0;
      for await (const ids of runsOfToken(step.cancelation_token))
        await mapLimit(
          ids.filter((id) => id !== run.runId),
          CANCELS_AT_ONCE,
          async (id) => {
            const stopped = await cancelRun(id, scope);
            if (!stopped) return;
            canceled += 1;
            // A run canceled while it owned a batch takes the batch with it: the key opens anew for the next event.
            if (stopped.batchKey) await dropBatch(stopped.batchKey, id);
            await endTokenEntry(stopped);
          },
        );
      return { canceled };
    }
    case 'fetch-data': {
      const fetched = await fetchData(step);
      if (typeof fetched === 'string') return { failed: fetched };
      const data = mergeData(ctx.data, fetched, step.merge_strategy);
      const bytes = Buffer.byteLength(JSON.stringify({ ...run.doc, context: { ...ctx, data } }));
      if (bytes > MAX_RUN_BYTES) return { failed: `fetch-data: the run's data would make it ${bytes} bytes, more than the ${MAX_RUN_BYTES} a run may hold` };
      return { data };
    }
    case 'invoke': {
      const template = await getTemplate(step.template);
      if (!template || template.version !== 'published') return { failed: `no published automation template ${step.template}` };
      const runId = requestIdFor(startedAt, scope);
      try {
        await startRun(runId, {
          steps: template.steps,
          context: ctx,
          cancelationToken: template.cancelation_token,
          source: { template: template.id, revision: template.revision },
          parent: run.runId,
          created: startedAt,
          outcomes: [],
        });
      } catch (e) {
        if (e instanceof RunTooLarge) return { failed: e.message };
        throw e;
      }
      return { runId };
    }
  }
}

/**
 * Records the step, moves the cursor (only one delivery does) and enqueues the next step: the one
 * after, or `next`. A failed step ends the run failed; `end` ends it done (a throttled run).
 */
async function finish(run: Run, outcome: StepOutcome, how: { next?: number; end?: boolean } = {}): Promise<void> {
  const next = how.next ?? run.cursor + 1;
  const status = outcome.status === 'failed' ? 'failed' : how.end || next >= run.doc.steps.length ? 'done' : 'running';
  if (!(await advanceRun(run, { outcome, status, wakeAt: now() + config.SWEEP_GRACE_MS, next }))) return;
  await (status === 'running' ? poke(run.runId, next) : endTokenEntry(run));
}
