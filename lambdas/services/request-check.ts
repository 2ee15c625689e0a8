import { now } from '../shared/clock';
import { config } from '../shared/config';
import { enqueueDelivery, enqueueFanout, nextStep, RECIPIENTS_PER_JOB, type CheckRequestJob } from '../shared/jobs';
import { logger } from '../shared/logger';
import { mayRunStep } from '../store/job-claims';
import { keys, requestKeys } from '../store/keys';
import {
  closeOpenMarkers,
  getStoredRequest,
  listStoredMessages,
  moveOpenMarker,
  singleRecipientOf,
  takeoverFanout,
  TERMINAL,
  type OpenMarker,
} from '../store/messages';

/** Message records read per page of a check (about: a job's record holds up to 25). */
const PAGE = 500;

/**
 * Checks one open request, page by page:
 * - a fan-out that made no progress for SWEEP_GRACE_MS, with no invocation holding it, gets a new
 *   chain from its saved state (the old chain's jobs, if they ever run, stop without emitting);
 * - a message that is not terminal and unchanged for SWEEP_GRACE_MS is re-driven (the delivery
 *   worker resumes it from its record: a due retry runs, a stale claim is resolved);
 * - when every page is read: all messages terminal and none missing (or the fan-out failed for
 *   good) closes the request; fewer records than recipients means delivery jobs were lost before
 *   their records were written, so the fan-out runs again from the start: it finds its outboxes and
 *   sends their jobs again, the same recipients under the same ids (those done are skipped by their
 *   records); anything else is looked at again after another grace period.
 * Each page is claimed by the queue message `messageId` that carries it (store/job-claims.ts): a
 * duplicate delivery of one page's job does not read the rest of the request twice.
 */
export async function checkRequest(job: CheckRequestJob, messageId?: string): Promise<void> {
  if (!(await mayRunStep(job, (chain) => keys.requestCheck(job.requestId, chain), 'RequestCheck', messageId))) return;
  const t = now();
  const stale = t - config.SWEEP_GRACE_MS;
  const marker: OpenMarker = { pk: job.markerPk ?? requestKeys.open(job.requestId, 0).pk, sk: job.marker, requestId: job.requestId };
  const stored = await getStoredRequest(job.requestId);
  if (!stored) return closeOpenMarkers([marker]);
  const req = stored.request;
  const later = async (checkAt = t + config.SWEEP_GRACE_MS) => void (await moveOpenMarker({ ...marker, single: req.single }, checkAt));
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
  if (req.single && !page.items.length && job.cursor === undefined) {
    // Stored by an inline delivery with its message finished (D14): nothing to drive.
    if (req.record && TERMINAL.has(req.record.status)) return closeOpenMarkers([marker]);
    // Held for its time (quiet hours, D26): its hops carry it; it is looked at again a grace period after it is due.
    if ((req.record?.dueAt ?? 0) > t) return later(req.record!.dueAt! + config.SWEEP_GRACE_MS);
    // A single send with no record yet (none is written with the request): its job was lost, or is
    // still waiting in a backlog; past the grace period it is re-driven from the request, as a first
    // job (which indexes its recipient; an entry already written stays, its put being conditional).
    if (req.enqueued < stale) await enqueueDelivery([{ type: 'deliver', requestId: req.requestId, recipients: [singleRecipientOf(req)] }]);
    return later();
  }
  // A retry, a delivery window or a sent target watched for escalation waiting for its time is not stuck; a record unchanged past the grace period is.
  const waiting = (m: (typeof page.items)[number]) =>
    (m.record.dueAt ?? 0) > t || Object.values(m.record.channels).some((c) => (c.state === 'retry' && (c.nextAt ?? 0) > t) || (c.watchUntil ?? 0) > t);
  const stuck = page.items.filter((m) => !TERMINAL.has(m.record.status) && m.updated < stale && !waiting(m)).map((m) => m.record.job);
  for (let i = 0; i < stuck.length; i += RECIPIENTS_PER_JOB) {
    await enqueueDelivery([{ type: 'deliver', requestId: req.requestId, recipients: stuck.slice(i, i + RECIPIENTS_PER_JOB), resume: true }]);
  }
  const seen = job.seen + page.items.length;
  const unfinished = job.unfinished + page.items.filter((m) => !TERMINAL.has(m.record.status)).length;
  if (page.cursor) return enqueueFanout([{ ...job, ...nextStep(job), cursor: page.cursor, seen, unfinished }]);

  const expected = req.single ? 1 : (req.fanout?.emitted ?? 0);
  if (unfinished === 0 && (seen >= expected || req.fanout?.failed)) return closeOpenMarkers([marker]);
  // A fan-out that failed for good is never re-run: its log says why.
  if (seen < expected && unfinished === 0 && !req.fanout?.failed && (await takeoverFanout(req.requestId, seq, t, true))) {
    logger.warn('re-running a fan-out that lost recipients', { requestId: req.requestId, seen, expected });
    await enqueueFanout([{ type: 'send', requestId: req.requestId, seq: seq + 1 }]);
  }
  if (stuck.length) logger.warn('re-driven stuck messages', { requestId: req.requestId, count: stuck.length });
  // Every message of a one-page request that is not finished waits for its delivery window: nothing
  // is due before the first window opens, so the request is looked at again a grace period after that.
  const open = job.cursor === undefined && seen >= expected ? page.items.filter((m) => !TERMINAL.has(m.record.status)) : [];
  if (open.length && open.every((m) => (m.record.dueAt ?? 0) > t)) return later(Math.min(...open.map((m) => m.record.dueAt!)) + config.SWEEP_GRACE_MS);
  return later();
}
