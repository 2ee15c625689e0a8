import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { now, wallNow } from '../shared/clock';
import { config } from '../shared/config';
import { enqueueFanout, type CheckRequestJob } from '../shared/jobs';
import { logger } from '../shared/logger';
import { OPEN_SHARDS, RUN_WAKE_SHARDS } from '../store/keys';
import { claimDueRun, dueRuns } from '../store/automations';
import { closeOpenMarkers, finishedSingles, moveOpenMarker, openMarkersDue, type OpenMarker } from '../store/messages';
import { mapLimit } from '../shared/pool';
import { walkSingles } from '../store/singles-walk';

/** Open markers read per Query (a shard's page). */
const MARKER_PAGE = 100;
/** Markers moved at once (one small transaction each). */
const CLAIMS_AT_ONCE = 8;
/** Time a sweep keeps in reserve before its invocation's timeout: it stops paging then. */
const RESERVE_MS = 10_000;
/** The budget of a sweep with no invocation context (tests calling sweep() directly). */
const DEFAULT_BUDGET_MS = 50_000;

/** What the sweeps of this process did (for logs and the tests). */
export const sweepStats = { sweeps: 0, markers: 0, closed: 0, checks: 0, pages: 0, busyMs: 0, walked: 0, runs: 0 };

/**
 * Durable state lives in the table, so nothing depends on a queue keeping its messages (the local
 * emulator's queues live in memory). Every minute the sweeper first walks the single sends stored
 * without a marker (store/singles-walk.ts), then pages through the open markers due by
 * now, all shards at once, until none is left or its time budget is spent. A single send whose one
 * message is terminal is closed right there (its marker deleted: no job, no document read); any
 * other request is claimed (its marker moved a grace period on, by a transaction that only one of
 * two overlapping sweeps can win) and handed to a `check-request` job, which re-drives what stopped
 * moving (page by page: a chain of jobs, each page claimed by one queue message). Last it wakes the automation runs due (wakeRuns). Returns how many markers it looked at.
 */
export async function sweep(at = now(), budgetMs = DEFAULT_BUDGET_MS): Promise<number> {
  const t0 = wallNow();
  const deadline = t0 + budgetMs;
  // First the walk: the single sends it finds unfinished get markers due now, swept below.
  const walked = await walkSingles(at, t0 + budgetMs / 2);
  if (walked.opened) logger.info('walked single sends', { ...walked });
  if (walked.more) logger.warn('the walk of single sends stopped before its end; the next sweep goes on', { ...walked });
  sweepStats.walked += walked.requests;
  const shards = await Promise.all(Array.from({ length: OPEN_SHARDS }, (_, shard) => sweepShard(shard, at, deadline)));
  const total = shards.reduce((a, s) => ({
    markers: a.markers + s.markers,
    closed: a.closed + s.closed,
    checks: a.checks + s.checks,
    pages: a.pages + s.pages,
    more: a.more || s.more,
  }));
  const runs = (await Promise.all(Array.from({ length: RUN_WAKE_SHARDS }, (_, shard) => wakeRuns(shard, at, deadline)))).reduce((a, n) => a + n, 0);
  sweepStats.runs += runs;
  if (runs) logger.info('woke automation runs', { runs });
  sweepStats.sweeps += 1;
  sweepStats.markers += total.markers;
  sweepStats.closed += total.closed;
  sweepStats.checks += total.checks;
  sweepStats.pages += total.pages;
  sweepStats.busyMs += wallNow() - t0;
  if (total.markers) logger.info('sweep', { ...total, ms: wallNow() - t0 });
  if (total.more) logger.warn('the sweep ran out of time with open markers still due; the next one continues', { markers: total.markers });
  return total.markers;
}

/**
 * Wakes the automation runs of a shard whose wake time passed: a delay that ended (its hops lost or
 * not yet in), a step job lost. Each is claimed (its wake time moved a grace period on, which one
 * of two overlapping sweeps wins) and its current step's job enqueued: a step done meanwhile is not
 * done again (lambdas/workers/automation-run.ts). Returns the runs woken.
 */
async function wakeRuns(shard: number, at: number, deadline: number): Promise<number> {
  let woken = 0;
  let cursor: string | undefined;
  do {
    const page = await dueRuns(shard, at, MARKER_PAGE, cursor);
    cursor = page.cursor;
    const claimed = await mapLimit(page.items, CLAIMS_AT_ONCE, async (r) => ((await claimDueRun(r, at + config.SWEEP_GRACE_MS)) ? r : undefined));
    const jobs = claimed.flatMap((r) => (r ? [{ type: 'automation-step' as const, runId: r.runId, step: r.cursor }] : []));
    if (jobs.length) await enqueueFanout(jobs);
    woken += jobs.length;
  } while (cursor && wallNow() < deadline);
  return woken;
}

async function sweepShard(shard: number, at: number, deadline: number) {
  const totals = { markers: 0, closed: 0, checks: 0, pages: 0, more: false };
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await openMarkersDue(shard, at, MARKER_PAGE, cursor);
    cursor = page.cursor;
    totals.pages += 1;
    totals.markers += page.items.length;
    if (page.items.length) {
      const done = await sweepPage(page.items, at);
      totals.closed += done.closed;
      totals.checks += done.checks;
    }
  } while (cursor && wallNow() < deadline);
  totals.more = cursor !== undefined;
  return totals;
}

async function sweepPage(markers: OpenMarker[], at: number): Promise<{ closed: number; checks: number }> {
  const finished = await finishedSingles(markers);
  await closeOpenMarkers([...finished]);
  const claimed = await mapLimit(
    markers.filter((m) => !finished.has(m)),
    CLAIMS_AT_ONCE,
    (m) => moveOpenMarker(m, at + config.SWEEP_GRACE_MS),
  );
  const jobs: CheckRequestJob[] = claimed.flatMap((m) =>
    m ? [{ type: 'check-request', requestId: m.requestId, marker: m.sk, markerPk: m.pk, seen: 0, unfinished: 0, chain: randomUUID(), step: 0 }] : [],
  );
  if (jobs.length) await enqueueFanout(jobs);
  return { closed: finished.size, checks: jobs.length };
}

export const handler = middy<ScheduledEvent, number>()
  .use(injectLambdaContext(logger))
  .handler(async (_event: ScheduledEvent, context: Context) => sweep(now(), Math.max(1000, context.getRemainingTimeInMillis() - RESERVE_MS)));
