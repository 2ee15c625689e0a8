import { z } from 'zod';
import { eventBody, eventId, messageVersion, subscribed } from '../domain/webhooks';
import { messageDetails } from './message-details';
import { memo } from '../shared/cache';
import { config, required } from '../shared/config';
import { logger } from '../shared/logger';
import { enqueue } from '../shared/queue';
import type { MessageRecord } from '../store/messages';
import { webhooks } from '../store/webhooks';

/**
 * Where status changes become outbound webhook events (README "Outbound webhooks"): one queue message
 * per (event, subscribed endpoint), sent in SendMessageBatch calls; the webhooks worker POSTs them.
 */

/** One event for one endpoint on the webhooks queue. */
export const webhookJob = z.object({
  type: z.literal('webhook'),
  endpointId: z.string(),
  eventId: z.string(),
  /** The exact body to POST (and sign): fixed when the change happened. */
  body: z.string(),
  /** This delivery's attempt, from 1. */
  attempt: z.number().int().min(1),
});
export type WebhookJob = z.infer<typeof webhookJob>;

interface EndpointRef {
  id: string;
  enabled: boolean;
  events: string[];
}

/** Endpoints listed at most once per CACHE_TTL_MS per warm function: no endpoint, no request per message. */
const endpointCache = memo<EndpointRef[]>(config.CACHE_TTL_MS);
async function loadEndpoints(): Promise<EndpointRef[]> {
  const out: EndpointRef[] = [];
  let cursor: string | undefined;
  do {
    const page = await webhooks.list(100, cursor);
    out.push(...page.items.map((w) => ({ id: w.id, enabled: w.doc.enabled, events: w.doc.events })));
    cursor = page.cursor;
  } while (cursor);
  return out;
}

let queueUrl: string | undefined;
export function enqueueWebhookJobs(jobs: WebhookJob[], delaySeconds?: number): Promise<void> {
  queueUrl ??= required(config.WEBHOOKS_QUEUE_URL, 'WEBHOOKS_QUEUE_URL');
  return enqueue(
    queueUrl,
    jobs.map((body) => ({ body, delaySeconds })),
  );
}

/** The `message:updated` event of a record as saved: its id and body (Courier's MessageDetails as `data`). */
export function messageUpdated(record: MessageRecord): { id: string; body: string } {
  const version = messageVersion(record.history);
  const id = eventId('message:updated', record.id, version);
  return { id, body: eventBody({ id, type: 'message:updated', version, data: messageDetails(record) }) };
}

/**
 * Announces saved status changes to the endpoints subscribed to `message:updated`. Never throws: the
 * change is saved, and failing the caller would not announce it again (a job retried finds the
 * status unchanged); a lost announcement is logged as an error.
 */
export async function announceMessages(records: MessageRecord[]): Promise<void> {
  if (!records.length) return;
  try {
    const endpoints = subscribed(await endpointCache('all', loadEndpoints), 'message:updated');
    if (!endpoints.length) return;
    const jobs = records.flatMap((r) => {
      const event = messageUpdated(r);
      return endpoints.map((e): WebhookJob => ({ type: 'webhook', endpointId: e.id, eventId: event.id, body: event.body, attempt: 1 }));
    });
    await enqueueWebhookJobs(jobs);
  } catch (e) {
    logger.error('status changes not announced to the outbound webhooks', { messageIds: records.map((r) => r.id).slice(0, 25), error: e as Error });
  }
}
