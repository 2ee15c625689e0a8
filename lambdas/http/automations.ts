import { z } from 'zod';
import {
  adHocInvokeSchema,
  journeyInvokeSchema,
  journeyUser,
  templateBodySchema,
  templateInvokeSchema,
  type RunContext,
  type Step,
} from '../domain/automations';
import { newRequestId, requestIdFor } from '../domain/send';
import { RunTooLarge, startRun } from '../services/automation-runs';
import { apiHandler } from '../shared/api';
import { now } from '../shared/clock';
import { NotFoundError, ValidationError } from '../shared/errors';
import { idempotentOperation, markSideEffect } from '../shared/idempotency';
import { accepted, noContent, ok, pathId, route } from '../shared/router';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { deleteTemplate, getRun, getTemplate, listTemplates, putTemplate, stepStatuses, type StoredTemplate } from '../store/automations';
import { CLASSIC_PAGE_SIZE } from './paging';

/**
 * Automations and journeys (README "Automations and journeys", docs/decisions.md D25): templates
 * stored and versioned (our extension), runs invoked ad hoc or from a template (Courier's
 * `/automations/invoke`, `/automations/:template_id/invoke`, `/journeys/:id/invoke`), and a run's
 * steps and outcomes (our extension, `GET /automations/runs/:id`). The runs themselves advance in
 * the fan-out worker (lambdas/workers/automation-run.ts).
 */

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

const listed = (t: StoredTemplate) => ({ id: t.id, name: t.name, version: t.version, createdAt: iso(t.created), updatedAt: iso(t.updated) });
const templateView = (t: StoredTemplate) => ({ ...listed(t), revision: t.revision, steps: t.steps, cancelation_token: t.cancelation_token });

const listQuery = z.object({ cursor: z.string().max(2048).optional(), version: z.enum(['published', 'draft']).default('published') });
const list = async ({ query }: { query: z.infer<typeof listQuery> }) => {
  const page = await listTemplates(query.version, CLASSIC_PAGE_SIZE, query.cursor);
  return ok({ templates: page.items.map(listed), ...(page.cursor ? { cursor: page.cursor } : {}) });
};

/** A published template, else a 404 naming it. */
async function invocable(id: string): Promise<StoredTemplate> {
  const t = await getTemplate(id);
  if (!t || t.version !== 'published') throw new NotFoundError(`Automation template ${id} not found${t ? ' (it is a draft)' : ''}`);
  return t;
}

/** Stores and starts a run; under an Idempotency-Key the run is named after the key's operation, so a retry finds it. */
async function invoke(
  event: APIGatewayProxyEventV2,
  steps: Step[],
  context: RunContext,
  cancelationToken: string | undefined,
  source?: { template: string; revision: number },
) {
  const op = idempotentOperation(event);
  const created = op?.created ?? now();
  const runId = op ? requestIdFor(op.created, `automation:${op.scope}`) : newRequestId(created);
  try {
    await startRun(runId, { steps, context, cancelationToken, source, created, outcomes: [] });
  } catch (e) {
    if (e instanceof RunTooLarge) throw new ValidationError(`Invalid request: body.data: ${e.message}`);
    throw e;
  }
  markSideEffect(event);
  return accepted({ runId });
}

const templateParams = z.object({ id: pathId });
const revisionQuery = z.object({ revision: z.coerce.number().int().min(1).optional() });

export const routes = [
  route({ method: 'GET', path: '/automations', query: listQuery, handler: list }),
  route({ method: 'GET', path: '/journeys', query: listQuery, handler: list }),
  route({
    method: 'PUT',
    path: '/automations/templates/:id',
    params: templateParams,
    body: templateBodySchema,
    audit: { type: 'automation-template:updated', target: ({ params }) => `automation-template:${params.id}` },
    handler: async ({ params, body }) => ok(templateView(await putTemplate(params.id, body))),
  }),
  route({
    method: 'GET',
    path: '/automations/templates/:id',
    params: templateParams,
    query: revisionQuery,
    handler: async ({ params, query }) => {
      const t = await getTemplate(params.id, query.revision);
      if (!t) throw new NotFoundError(`Automation template ${params.id}${query.revision ? ` revision ${query.revision}` : ''} not found`);
      return ok(templateView(t));
    },
  }),
  route({
    method: 'DELETE',
    path: '/automations/templates/:id',
    params: templateParams,
    audit: { type: 'automation-template:deleted', target: ({ params }) => `automation-template:${params.id}` },
    handler: async ({ params }) => {
      if (!(await deleteTemplate(params.id))) throw new NotFoundError(`Automation template ${params.id} not found`);
      return noContent();
    },
  }),
  route({
    method: 'POST',
    path: '/automations/invoke',
    body: adHocInvokeSchema,
    handler: ({ body, event }) => {
      const { automation, ...context } = body;
      return invoke(event, automation.steps, context, automation.cancelation_token);
    },
  }),
  route({
    method: 'POST',
    path: '/automations/:template_id/invoke',
    body: templateInvokeSchema,
    handler: async ({ params, body, event }) => {
      const t = await invocable(params.template_id);
      return invoke(event, t.steps, body, t.cancelation_token, { template: t.id, revision: t.revision });
    },
  }),
  route({
    method: 'POST',
    path: '/journeys/:template_id/invoke',
    body: journeyInvokeSchema,
    handler: async ({ params, body, event }) => {
      const recipient = journeyUser(body);
      if (!recipient) throw new ValidationError('Invalid request: body.user_id: names no user (user_id, or user_id / userId / anonymousId in profile or data)');
      const t = await invocable(params.template_id);
      return invoke(event, t.steps, { recipient, data: body.data, profile: body.profile }, t.cancelation_token, { template: t.id, revision: t.revision });
    },
  }),
  route({
    method: 'GET',
    path: '/automations/runs/:id',
    handler: async ({ params }) => {
      const run = await getRun(params.id);
      if (!run) throw new NotFoundError(`Automation run ${params.id} not found`);
      const statuses = stepStatuses(run);
      return ok({
        runId: run.runId,
        status: run.status,
        ...(run.doc.source ? { template: run.doc.source.template, revision: run.doc.source.revision } : {}),
        ...(run.doc.parent ? { parent: run.doc.parent } : {}),
        recipient: run.doc.context.recipient,
        cancelation_token: run.doc.cancelationToken,
        createdAt: iso(run.doc.created),
        updatedAt: iso(run.updated),
        canceledAt: iso(run.canceledAt),
        steps: run.doc.steps.map((step, index) => {
          const o = run.doc.outcomes[index];
          return {
            index,
            action: step.action,
            ref: step.ref,
            status: statuses[index],
            startedAt: iso(o?.startedAt),
            finishedAt: iso(o?.finishedAt),
            ...(statuses[index] === 'waiting' ? { until: iso(run.dueAt) } : {}),
            messageId: o?.messageId,
            runId: o?.runId,
            canceled: o?.canceled,
            error: o?.error,
            // A batch step: the run whose batch the event joined, or the count of the batch this run closed.
            batchRunId: o?.batchRunId,
            count: o?.count,
            // A throttle step: the window counted in, and the step a throttled run went on at.
            ...(o?.window ? { window: { start: iso(o.window.start), end: iso(o.window.end) } } : {}),
            next: o?.next,
          };
        }),
      });
    },
  }),
];

export const handler = apiHandler(routes);
