import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { now, wallNow } from '../shared/clock';
import { config } from '../shared/config';
import { enqueueDelivery, enqueueFanout, type CheckRequestJob } from '../shared/jobs';
import { logger } from '../shared/logger';
import { OPEN_SHARDS, requestKeys } from '../store/keys';
import {
  closeOpenMarkers,
  finishedSingles,
  getStoredRequest,
  listStoredMessages,
  moveOpenMarker,
  openMarkersDue,
  takeoverFanout,
  TERMINAL,
  type OpenMarker,
} from '../store/messages';
import { mapLimit, RECIPIENTS_PER_JOB } from './fanout-send';

/** Open markers read per Query (a shard's page). */
const MARKER_PAGE = 100;
/** Message records read per page of a check. */
const PAGE = 500;
/** Markers moved at once (one small transaction each). */
const CLAIMS_AT_ONCE = 8;
/** Time a sweep keeps in reserve before its invocation's timeout: it stops paging then. */
const RESERVE_MS = 10_000;
/** The budget of a sweep with no invocation context (tests calling sweep() directly). */
const DEFAULT_BUDGET_MS = 50_000;

/** What the sweeps of this process did (for logs and the tests). */
export const sweepStats = { sweeps: 0, markers: 0, closed: 0, checks: 0, pages: 0, busyMs: 0 };

/**
 * Durable state lives in the table, so nothing depends on a queue keeping its messages (the local
 * emulator's queues live in memory). Every minute the sweeper pages through the open markers due by
 * now, all shards at once, until none is left or its time budget is spent. A single send whose one
 * message is terminal is closed right there (its marker deleted: no job, no document read); any
 * other request is claimed (its marker moved a grace period on, by a transaction that only one of
 * two overlapping sweeps can win) and handed to a `check-request` job, which re-drives what stopped
 * moving. Returns how many markers it looked at.
 */
export async function sweep(at = now(), budgetMs = DEFAULT_BUDGET_MS): Promise<number> {
  const t0 = wallNow();
  const deadline = t0 + budgetMs;
  const shards = await Promise.all(Array.from({ length: OPEN_SHARDS }, (_, shard) => sweepShard(shard, at, deadline)));
  const total = shards.reduce((a, s) => ({
    markers: a.markers + s.markers,
    closed: a.closed + s.closed,
    checks: a.checks + s.checks,
    pages: a.pages + s.pages,
    more: a.more || s.more,
  }));
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
    m ? [{ type: 'check-request', requestId: m.requestId, marker: m.sk, markerPk: m.pk, seen: 0, unfinished: 0 }] : [],
  );
  if (jobs.length) await enqueueFanout(jobs);
  return { closed: finished.size, checks: jobs.length };
}

/**
 * Checks one open request, page by page:
 * - a fan-out that made no progress for SWEEP_GRACE_MS, with no invocation holding it, gets a new
 *   chain from its saved state (the old chain's jobs, if they ever run, stop without emitting);
 * - a message that is not terminal and unchanged for SWEEP_GRACE_MS is re-driven (the delivery
 *   worker resumes it from its record: a due retry runs, a stale claim is resolved);
 * - when every page is read: all messages terminal and none missing (or the fan-out failed for
 *   good) closes the request; fewer records than recipients means delivery jobs were lost before
 *   their records were written, so the fan-out runs again from the start (recipients already done
 *   are skipped by their records); anything else is looked at again after another grace period.
 */
export async function checkRequest(job: CheckRequestJob): Promise<void> {
  const t = now();
  const stale = t - config.SWEEP_GRACE_MS;
  const marker: OpenMarker = { pk: job.markerPk ?? requestKeys.open(job.requestId, 0).pk, sk: job.marker, requestId: job.requestId };
  const stored = await getStoredRequest(job.requestId);
  if (!stored) return closeOpenMarkers([marker]);
  const req = stored.request;
  const later = async () => void (await moveOpenMarker({ ...marker, single: req.single }, t + config.SWEEP_GRACE_MS));
  const seq = req.fanout?.seq ?? 0;

  if (!req.single && !req.fanout?.done) {
    const held = req.fanout?.lease !== undefined && req.fanout.lease > t;
    if (stored.updated < stale && !held && (await takeoverFanout(req.requestId, seq, t))) {
      logger.warn('resuming a stalled fan-out with a new chain', { requestId: req.requestId, seq: seq + 1 });
      await enqueueFanout([{ type: 'send', requestId: req.requestId, seq: seq + 1 }]);
    }
    return later();
  }

  const page = await listStoredMessages(req.requestId, PAGE, job.cursor);
  // A retry waiting for its time is not stuck; a record unchanged past the grace period is.
  const waiting = (m: (typeof page.items)[number]) => Object.values(m.record.channels).some((c) => c.state === 'retry' && (c.nextAt ?? 0) > t);
  const stuck = page.items.filter((m) => !TERMINAL.has(m.record.status) && m.updated < stale && !waiting(m)).map((m) => m.record.job);
  for (let i = 0; i < stuck.length; i += RECIPIENTS_PER_JOB) {
    await enqueueDelivery([{ type: 'deliver', requestId: req.requestId, recipients: stuck.slice(i, i + RECIPIENTS_PER_JOB), resume: true }]);
  }
  const seen = job.seen + page.items.length;
  const unfinished = job.unfinished + page.items.filter((m) => !TERMINAL.has(m.record.status)).length;
  if (page.cursor) return enqueueFanout([{ ...job, cursor: page.cursor, seen, unfinished }]);

  const expected = req.single ? 1 : (req.fanout?.emitted ?? 0);
  if (unfinished === 0 && (seen >= expected || req.fanout?.failed)) return closeOpenMarkers([marker]);
  // A fan-out that failed for good is never re-run: its log says why.
  if (seen < expected && unfinished === 0 && !req.fanout?.failed && (await takeoverFanout(req.requestId, seq, t, true))) {
    logger.warn('re-running a fan-out that lost recipients', { requestId: req.requestId, seen, expected });
    await enqueueFanout([{ type: 'send', requestId: req.requestId, seq: seq + 1 }]);
  }
  if (stuck.length) logger.warn('re-driven stuck messages', { requestId: req.requestId, count: stuck.length });
  return later();
}

export const handler = middy<ScheduledEvent, number>()
  .use(injectLambdaContext(logger))
  .handler(async (_event: ScheduledEvent, context: Context) => sweep(now(), Math.max(1000, context.getRemainingTimeInMillis() - RESERVE_MS)));
