import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { ScheduledEvent } from 'aws-lambda';
import { now } from '../shared/clock';
import { config } from '../shared/config';
import { enqueueDelivery, enqueueFanout, type CheckRequestJob } from '../shared/jobs';
import { logger } from '../shared/logger';
import { OPEN_SHARDS } from '../store/keys';
import { getStoredRequest, listStoredMessages, moveOpenMarker, openRequestsDue, saveFanout, TERMINAL } from '../store/messages';
import { RECIPIENTS_PER_JOB } from './fanout-send';

/** Open requests looked at per shard and sweep. */
const PER_SHARD = 100;
const PAGE = 500;

/**
 * Durable state lives in the table, so nothing depends on a queue keeping its messages (the local
 * emulator's queues live in memory). Every minute the sweeper picks the open requests whose check
 * time has come and hands each to a `check-request` job, which re-drives what stopped moving.
 */
export async function sweep(at = now()): Promise<number> {
  const jobs: CheckRequestJob[] = [];
  for (let shard = 0; shard < OPEN_SHARDS; shard++) {
    for (const open of await openRequestsDue(shard, at, PER_SHARD)) jobs.push({ type: 'check-request', requestId: open.requestId, marker: open.sk, seen: 0, unfinished: 0 });
  }
  if (jobs.length) {
    await enqueueFanout(jobs);
    logger.info('sweep', { requests: jobs.length });
  }
  return jobs.length;
}

/**
 * Checks one open request, page by page:
 * - a fan-out that made no progress for SWEEP_GRACE_MS resumes from its saved state;
 * - a message that is not terminal and unchanged for SWEEP_GRACE_MS is re-driven (the delivery
 *   worker resumes it from its record: a due retry runs, a stale claim is resolved);
 * - when every page is read: all messages terminal and none missing closes the request; fewer
 *   records than recipients means delivery jobs were lost before their records were written, so
 *   the fan-out runs again from the start (recipients already done are skipped by their records);
 *   anything else is looked at again after another grace period.
 */
export async function checkRequest(job: CheckRequestJob): Promise<void> {
  const t = now();
  const stale = t - config.SWEEP_GRACE_MS;
  const stored = await getStoredRequest(job.requestId);
  if (!stored) return moveOpenMarker(job.requestId, job.marker, undefined);
  const req = stored.request;
  const later = () => moveOpenMarker(req.requestId, job.marker, t + config.SWEEP_GRACE_MS);

  if (!req.single && !req.fanout?.done) {
    if (stored.updated < stale) {
      logger.warn('resuming a stalled fan-out', { requestId: req.requestId });
      await enqueueFanout([{ type: 'send', requestId: req.requestId }]);
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
  if (unfinished === 0 && (seen >= expected || req.fanout?.failed)) return moveOpenMarker(req.requestId, job.marker, undefined);
  // A fan-out that failed for good is never re-run: its log says why.
  if (seen < expected && unfinished === 0 && !req.fanout?.failed) {
    logger.warn('re-running a fan-out that lost recipients', { requestId: req.requestId, seen, expected });
    await saveFanout(req.requestId, { done: false, emitted: 0 });
    await enqueueFanout([{ type: 'send', requestId: req.requestId }]);
  }
  if (stuck.length) logger.warn('re-driven stuck messages', { requestId: req.requestId, count: stuck.length });
  return later();
}

export const handler = middy<ScheduledEvent, number>()
  .use(injectLambdaContext(logger))
  .handler(async () => sweep());
