import { afterFailure, delivered, retryDelaySeconds, SIGNATURE_HEADER, signatureHeader } from '../domain/webhooks';
import { HttpClient } from '../providers/transport';
import { enqueueWebhookJobs, webhookJob, type WebhookJob } from '../services/webhook-events';
import { wallNow } from '../shared/clock';
import { config } from '../shared/config';
import { logger } from '../shared/logger';
import { sqsWorker } from '../shared/worker';
import { updateWebhook, webhooks } from '../store/webhooks';

/**
 * The outbound webhooks worker: POSTs one event to one endpoint, signed as Courier signs its
 * webhooks (lambdas/domain/webhooks.ts), through the egress policy (lambdas/shared/egress.ts, via
 * the providers' HttpClient: checked on the resolved address, redirects not followed). A 2xx answer
 * is a delivery; anything else is retried through the queue with doubling delays, up to
 * WEBHOOK_MAX_ATTEMPTS, after which the record fails (SQS tries it once more, then dead-letters it).
 * Every failure adds one to the endpoint's consecutive failures; WEBHOOK_DISABLE_AFTER_FAILURES of
 * them disable it (its events still queued are dropped), a success resets the count.
 */

const http = new HttpClient();

export async function deliverWebhook(job: WebhookJob): Promise<void> {
  const endpoint = await webhooks.get(job.endpointId);
  if (!endpoint?.doc.enabled) return; // deleted or disabled since: nothing to deliver
  let status: number | undefined;
  let error = '';
  try {
    const reply = await http.exchange({
      url: endpoint.doc.url,
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(endpoint.doc.secret, wallNow(), job.body) },
      body: job.body,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      what: 'webhook endpoint',
    });
    status = reply.status;
    error = `answered ${reply.status}`;
  } catch (e) {
    error = (e as Error).message;
  }
  if (delivered(status)) {
    if (endpoint.doc.failures > 0) await updateWebhook(endpoint.id, (w) => ({ ...w, failures: 0 }));
    return;
  }
  const after = await updateWebhook(endpoint.id, (w) => {
    const next = afterFailure(w.failures, config.WEBHOOK_DISABLE_AFTER_FAILURES);
    const disable = next.disable && w.enabled;
    return {
      ...w,
      failures: next.failures,
      ...(disable ? { enabled: false, disabled_reason: `${next.failures} consecutive failed deliveries (the last: ${error})` } : {}),
    };
  });
  logger.warn('webhook delivery failed', { endpointId: endpoint.id, eventId: job.eventId, attempt: job.attempt, error });
  if (!after?.enabled) return;
  if (job.attempt >= config.WEBHOOK_MAX_ATTEMPTS) throw new Error(`event ${job.eventId} to endpoint ${endpoint.id}: ${job.attempt} attempts failed (${error})`);
  await enqueueWebhookJobs([{ ...job, attempt: job.attempt + 1 }], retryDelaySeconds(job.attempt, config.WEBHOOK_RETRY_BASE_SECONDS));
}

export const handler = sqsWorker(webhookJob, (job) => deliverWebhook(job));
