import { z } from 'zod';
import {
  audienceCalculatedData,
  audienceUpdatedData,
  eventBody,
  eventId,
  membershipData,
  messageVersion,
  subscribed,
  type MembershipChange,
  type WebhookEventType,
} from '../domain/webhooks';
import { messageDetails } from './message-details';
import { memo } from '../shared/cache';
import { config, required } from '../shared/config';
import { logger } from '../shared/logger';
import { enqueue } from '../shared/queue';
import type { MessageRecord } from '../store/messages';
import { webhooks } from '../store/webhooks';

/**
 * Where saved changes become outbound webhook events (README "Outbound webhooks", docs/decisions.md
 * D20, D23): one queue message per (event, subscribed endpoint), sent in SendMessageBatch calls; the
 * webhooks worker POSTs them. With no endpoint subscribed to an event's type nothing is sent.
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

/** One event, its body fixed when the change was saved. */
export interface OutboundEvent {
  type: WebhookEventType;
  id: string;
  body: string;
}

const outbound = (type: WebhookEventType, resourceId: string, change: number | string, version: number, data: unknown): OutboundEvent => {
  const id = eventId(type, resourceId, change);
  return { type, id, body: eventBody({ id, type, version, data }) };
};

/** The `message:updated` event of a record as saved: its id and body (Courier's MessageDetails as `data`). */
export function messageUpdated(record: MessageRecord): OutboundEvent {
  const version = messageVersion(record.history);
  return outbound('message:updated', record.id, version, version, messageDetails(record));
}

/** `audiences:updated` of an audience saved under generation `version`. */
export const audienceUpdated = (a: { id: string; version: number; operator?: string | null; filter?: unknown }): OutboundEvent =>
  outbound('audiences:updated', a.id, a.version, a.version, audienceUpdatedData(a));

/** `audiences:calculated` of a generation whose materialisation finished. */
export const audienceCalculated = (audienceId: string, version: number, counted: { total: number; matched: number }): OutboundEvent =>
  outbound('audiences:calculated', audienceId, version, version, audienceCalculatedData(audienceId, counted));

/** `audiences:user:matched` or `unmatched`: the id from the decision's basis, the version its time. */
export const membershipEvent = (c: MembershipChange): OutboundEvent => outbound(c.type, `${c.audienceId}\n${c.userId}`, c.basis, c.at, membershipData(c));

/** Whether an enabled endpoint subscribes to `type` (the cached list; false if it cannot be read: nothing would be announced). */
export async function anySubscribed(type: WebhookEventType): Promise<boolean> {
  try {
    return subscribed(await endpointCache('all', loadEndpoints), type).length > 0;
  } catch {
    return false;
  }
}

/**
 * Announces saved changes to the endpoints subscribed to their types. Never throws: the change is
 * saved, and failing the caller would not announce it again (a job retried finds nothing left to
 * change); a lost announcement is logged as an error with `context`.
 */
export async function announce(events: OutboundEvent[], context: Record<string, unknown>): Promise<void> {
  if (!events.length) return;
  try {
    const endpoints = await endpointCache('all', loadEndpoints);
    const jobs = events.flatMap((event) =>
      subscribed(endpoints, event.type).map((e): WebhookJob => ({ type: 'webhook', endpointId: e.id, eventId: event.id, body: event.body, attempt: 1 })),
    );
    if (jobs.length) await enqueueWebhookJobs(jobs);
  } catch (e) {
    logger.error('changes not announced to the outbound webhooks', { ...context, events: events.length, error: e as Error });
  }
}

/** Announces saved status changes of messages (`message:updated`). */
export const announceMessages = (records: MessageRecord[]): Promise<void> =>
  announce(records.map(messageUpdated), { messageIds: records.map((r) => r.id).slice(0, 25) });
