import { z } from 'zod';
import { bulkRecipient } from '../domain/bulk';
import type { Destination } from '../domain/send';
import type { DeliveryRecipient, FanoutState } from '../shared/jobs';
import { logger } from '../shared/logger';
import { completeJob, getJob, listJobUsers } from '../store/bulk';
import { parseStored } from '../store/table';

type State = FanoutState;

/** What bulkStep needs of the fan-out's emitter (fanout-send.ts). */
export interface RecipientSink {
  add(r: Omit<DeliveryRecipient, 'messageId'>, reach: string): Promise<void>;
  /** Sends what is buffered; returns the state to go on from (`next`, or an earlier run's: see fanout-send.ts). */
  flush(next: State): Promise<State>;
}

/** Users read per page of a bulk job. */
const PAGE_SIZE = 250;

/**
 * A bulk target's progress rides in `state.cursor` as JSON: the users page cursor and the counts
 * so far. A replayed job restarts from its own state, so the counts never include a page twice.
 */
const bulkProgress = z.object({
  /** Cursor of the next users page; absent on the first page. */
  c: z.string().optional(),
  /** The job's request id (checked on the first page). */
  r: z.string(),
  /** Users enqueued so far. */
  e: z.number(),
  /** Users that could not be sent (no user id and no address). */
  f: z.number(),
});
type BulkProgress = z.infer<typeof bulkProgress>;

/** The progress in a fan-out state's cursor; one that is not (corrupt state) is an error naming the job, never a wrong count. */
const parseProgress = (cursor: string | undefined, jobId: string): BulkProgress | undefined =>
  cursor === undefined ? undefined : parseStored(cursor, bulkProgress, `the fan-out state of bulk job ${jobId}`);

/**
 * Expands one page of a bulk job's users (insertion order) into recipients. Each user with a user
 * id or an address is emitted (see bulkRecipient); the others count as failures. After the last
 * page the recipients are flushed to the delivery queue and the job is marked COMPLETED with
 * `enqueued` and `failures`.
 */
export async function bulkStep(t: Extract<Destination, { kind: 'bulk' }>, state: State, out: RecipientSink): Promise<State> {
  const done = (): State => ({ target: state.target + 1, emitted: state.emitted });
  let progress = parseProgress(state.cursor, t.jobId);
  if (!progress) {
    const job = await getJob(t.jobId);
    if (!job?.requestId) {
      logger.error('bulk run for a job that is missing or was never started', { jobId: t.jobId });
      return done();
    }
    if (job.status === 'COMPLETED') return done();
    progress = { r: job.requestId, e: 0, f: 0 };
  }
  const page = await listJobUsers(t.jobId, PAGE_SIZE, progress.c);
  let { e, f } = progress;
  for (const user of page.items) {
    const r = bulkRecipient(user);
    if (!r) {
      f++;
      continue;
    }
    await out.add(r, `${state.target}`);
    e++;
  }
  if (page.cursor) return { ...state, cursor: JSON.stringify({ ...progress, c: page.cursor, e, f } satisfies BulkProgress) };
  // Every recipient is on the delivery queue before the job says COMPLETED.
  const next = await out.flush(done());
  if (next.target === state.target) return next; // an earlier run's outbox stopped before the last page
  await completeJob(t.jobId, progress.r, { enqueued: e, failures: f });
  logger.info('bulk job expanded', { jobId: t.jobId, requestId: progress.r, enqueued: e, failures: f });
  return next;
}
