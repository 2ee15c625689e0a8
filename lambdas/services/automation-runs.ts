import { now } from '../shared/clock';
import { config } from '../shared/config';
import { enqueueFanout } from '../shared/jobs';
import { logger } from '../shared/logger';
import { createRun, type RunDoc } from '../store/automations';

/** The largest run document (its steps, context and outcomes as JSON), well below DynamoDB's 400 KB item limit. */
export const MAX_RUN_BYTES = 300_000;

/** A run whose document would be larger than MAX_RUN_BYTES: never stored. */
export class RunTooLarge extends Error {
  constructor(readonly bytes: number) {
    super(`the run (its steps, data and profile) would be ${bytes} bytes, more than the ${MAX_RUN_BYTES} a run may hold`);
  }
}

/**
 * Starts a run: stores it (once per id) and enqueues its first step. The run is stored woken a
 * grace period on, so if the job is lost the sweeper re-drives it; enqueuing again for a run stored
 * before (a retried invocation, a redelivered `invoke` step) is harmless: its step is done once.
 * RunTooLarge, and nothing stored, for a document over MAX_RUN_BYTES.
 */
export async function startRun(runId: string, doc: RunDoc): Promise<void> {
  const bytes = Buffer.byteLength(JSON.stringify(doc));
  if (bytes > MAX_RUN_BYTES) throw new RunTooLarge(bytes);
  await createRun(runId, doc, now() + config.SWEEP_GRACE_MS);
  try {
    await enqueueFanout([{ type: 'automation-step', runId, step: 0 }]);
  } catch (e) {
    logger.warn('could not enqueue a stored run; the sweeper will drive it', { runId, error: e as Error });
  }
}
