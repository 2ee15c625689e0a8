import { z } from 'zod';
import { documents } from './documents';
import { keys } from './keys';
import { updateExistingDoc } from './table';

/** An outbound webhook endpoint (README "Outbound webhooks"). */
const webhookDoc = z.object({
  url: z.string(),
  events: z.array(z.string()),
  description: z.string().nullable(),
  enabled: z.boolean(),
  /** The signing secret: answered once, by the create and the rotation. */
  secret: z.string(),
  /** Deliveries that failed since the last one that succeeded. */
  failures: z.number().int(),
  /** Why the endpoint was disabled by the worker (a long failure streak); null when it was not. */
  disabled_reason: z.string().nullable(),
});
export type WebhookDoc = z.infer<typeof webhookDoc>;

export const webhooks = documents('WEBHOOK', webhookDoc);

/**
 * Read-modify-write of an endpoint under its revision (concurrent deliveries' failure counts and an
 * API edit never drop each other's changes); undefined when it does not exist.
 */
export const updateWebhook = (id: string, change: (current: WebhookDoc) => WebhookDoc): Promise<WebhookDoc | undefined> =>
  updateExistingDoc(keys.document('WEBHOOK', id), webhookDoc, change, () => ({ _t: 'WEBHOOK', id, ...keys.documentIndex('WEBHOOK', id) }));
