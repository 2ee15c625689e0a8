import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { apiHandler } from '../shared/api';
import { EMITTED_EVENTS } from '../domain/webhooks';
import { NotFoundError } from '../shared/errors';
import { ok, replyId, route } from '../shared/router';
import type { StoredDoc } from '../store/documents';
import { updateWebhook, webhooks, type WebhookDoc } from '../store/webhooks';
import { documentRoutes } from './documents';

/**
 * Outbound webhook endpoints (README "Outbound webhooks"). Courier manages these in its dashboard;
 * this API is our extension. The signing secret is answered by the create and by a rotation only.
 */

const newSecret = (): string => `whsec_${randomBytes(32).toString('hex')}`;

const eventType = z.string().refine((t) => (EMITTED_EVENTS as readonly string[]).includes(t), {
  message: `not a supported event type (supported: ${EMITTED_EVENTS.join(', ')})`,
});

const fields = {
  url: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2048),
  events: z.array(eventType).min(1).max(EMITTED_EVENTS.length),
  description: z.string().max(1024).nullish(),
  enabled: z.boolean().nullish(),
};

/** An endpoint as answered: never its secret (`withSecret` adds it to the create and rotation answers). */
export const describeWebhook = (w: StoredDoc<WebhookDoc>) => ({
  id: w.id,
  url: w.doc.url,
  events: w.doc.events,
  description: w.doc.description,
  enabled: w.doc.enabled,
  consecutive_failures: w.doc.failures,
  disabled_reason: w.doc.disabled_reason,
  created: w.created,
  updated: w.updated,
});
const withSecret = (w: StoredDoc<WebhookDoc>) => ({ ...describeWebhook(w), secret: w.doc.secret });

async function mustGet(id: string): Promise<StoredDoc<WebhookDoc>> {
  const found = await webhooks.get(id);
  if (!found) throw new NotFoundError(`Webhook ${id} not found`);
  return found;
}

export const routes = [
  ...documentRoutes({ path: '/webhooks', param: 'webhook_id', noun: 'Webhook', kind: 'webhook', store: webhooks, describe: describeWebhook }),
  route({
    method: 'POST',
    path: '/webhooks',
    body: z.object(fields),
    audit: { type: 'webhook:created', target: ({ reply }) => `webhook:${replyId(reply)}` },
    handler: async ({ body }) => {
      const doc: WebhookDoc = {
        url: body.url,
        events: [...new Set(body.events)],
        description: body.description ?? null,
        enabled: body.enabled ?? true,
        secret: newSecret(),
        failures: 0,
        disabled_reason: null,
      };
      const stored = await webhooks.create(`wh_${randomUUID().replace(/-/g, '')}`, doc);
      return ok(withSecret(stored!));
    },
  }),
  route({
    method: 'PUT',
    path: '/webhooks/:webhook_id',
    body: z.object(fields),
    audit: { type: 'webhook:updated', target: ({ params }) => `webhook:${params.webhook_id}` },
    handler: async ({ params, body }) => {
      const enabled = body.enabled ?? true;
      const updated = await updateWebhook(params.webhook_id, (w) => ({
        ...w,
        url: body.url,
        events: [...new Set(body.events)],
        description: body.description ?? null,
        enabled,
        // Enabling (again) starts a new streak: an endpoint the worker disabled comes back this way.
        ...(enabled ? { failures: 0, disabled_reason: null } : {}),
      }));
      if (!updated) throw new NotFoundError(`Webhook ${params.webhook_id} not found`);
      return ok(describeWebhook(await mustGet(params.webhook_id)));
    },
  }),
  route({
    method: 'POST',
    path: '/webhooks/:webhook_id/rotate-secret',
    audit: { type: 'webhook:secret:replaced', target: ({ params }) => `webhook:${params.webhook_id}` },
    handler: async ({ params }) => {
      const updated = await updateWebhook(params.webhook_id, (w) => ({ ...w, secret: newSecret() }));
      if (!updated) throw new NotFoundError(`Webhook ${params.webhook_id} not found`);
      return ok(withSecret(await mustGet(params.webhook_id)));
    },
  }),
];

export const handler = apiHandler(routes);
