import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { DEFAULT_MERGE, delayEnd, mergeData, mergeProfile, stepMessage, stepRuns, type Step } from '../domain/automations';
import { messageSchema, requestIdFor } from '../domain/send';
import { acceptSend } from '../http/send';
import { MAX_RUN_BYTES, RunTooLarge, startRun } from '../services/automation-runs';
import { now } from '../shared/clock';
import { config } from '../shared/config';
import { ValidationError } from '../shared/errors';
import { enqueueFanout, type AutomationStepJob } from '../shared/jobs';
import { logger } from '../shared/logger';
import { delaySecondsUntil } from '../shared/queue';
import { advanceRun, cancelRun, getRun, getTemplate, runsOfToken, startDelay, type Run, type StepOutcome } from '../store/automations';
import { ProfileTooLarge, updateProfile } from '../store/profiles';
import { ProviderError } from '../providers/port';
import { sharedHttp } from '../providers/transport';

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
  if (!stepRuns(step, run.doc.context)) return finish(run, { status: 'skipped', startedAt, finishedAt: now() });
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

async function doStep(run: Run, step: Exclude<Step, { action: 'delay' }>, startedAt: number): Promise<Effect> {
  const ctx = run.doc.context;
  const scope = `automation-run:${run.runId}:${run.cursor}`;
  switch (step.action) {
    case 'send':
    case 'send-list': {
      const built = stepMessage(step, ctx, run.runId);
      if (typeof built === 'string') return { failed: built };
      const parsed = messageSchema.safeParse(built);
      if (!parsed.success) return { failed: `the message is not valid: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}` };
      // The request is named after the run and step, as a send under an Idempotency-Key is: a second
      // attempt finds the request the first stored. A worker has no HTTP event to mark.
      const op = { created: startedAt, scope };
      try {
        await acceptSend(parsed.data, {} as APIGatewayProxyEventV2, op, { inline: false });
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
      for await (const ids of runsOfToken(step.cancelation_token)) for (const id of ids) if (id !== run.runId && (await cancelRun(id, scope))) canceled += 1;
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

/** Records the step, moves the cursor (only one delivery does) and enqueues the next step; a failed step ends the run. */
async function finish(run: Run, outcome: StepOutcome): Promise<void> {
  const last = run.cursor + 1 >= run.doc.steps.length;
  const status = outcome.status === 'failed' ? 'failed' : last ? 'done' : 'running';
  if (!(await advanceRun(run, outcome, status, now() + config.SWEEP_GRACE_MS))) return;
  if (status === 'running') await enqueueFanout([{ type: 'automation-step', runId: run.runId, step: run.cursor + 1 }]);
}
