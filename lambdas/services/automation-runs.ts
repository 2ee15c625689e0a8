import { now } from '../shared/clock';
import { config } from '../shared/config';
import { enqueueFanout } from '../shared/jobs';
import { logger } from '../shared/logger';
import { createRun, type RunDoc } from '../store/automations';

/**
 * Starts a run: stores it (once per id) and enqueues its first step. The run is stored woken a
 * grace period on, so if the job is lost the sweeper re-drives it; enqueuing again for a run stored
 * before (a retried invocation, a redelivered `invoke` step) is harmless: its step is done once.
 */
export async function startRun(runId: string, doc: RunDoc): Promise<void> {
  await createRun(runId, doc, now() + config.SWEEP_GRACE_MS);
  try {
    await enqueueFanout([{ type: 'automation-step', runId, step: 0 }]);
  } catch (e) {
    logger.warn('could not enqueue a stored run; the sweeper will drive it', { runId, error: e as Error });
  }
}
