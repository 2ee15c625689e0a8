import { z } from 'zod';
import { conditionSchema, holds, isCondition, parseCondition } from './conditions';
import { isoInstant, looksIso, nextOpening, parseWindow, WindowSyntaxError } from './delivery-window';
import { humanDurationMs, isoDurationMs } from './durations';
import { idSchema } from './ids';
import type { SendMessage } from './send';

/**
 * Automations (README "Automations and journeys", docs/decisions.md D25): the steps of Courier's
 * ad hoc automations as the SDK types them, validated here, and the pure logic of a run: whether a
 * step runs, when a delay ends, how a profile merges, what a send step sends.
 */

/** Steps one automation may hold: a run's record carries them all. */
export const MAX_STEPS = 50;
/** What an `if` of a step sees. */
export const STEP_SCOPE = ['data', 'profile'] as const;

const obj = z.record(z.string(), z.unknown());
const common = { if: conditionSchema(STEP_SCOPE), ref: z.string().min(1).max(128).optional() };

/** How long a delay's `duration` is: a human duration ("5 minutes", "1d") or an ISO-8601 one ("PT5M"). */
export const durationOf = (text: string): number | undefined => humanDurationMs(text) ?? isoDurationMs(text);

/** Why a delay's `until` cannot be read: an ISO-8601 time (Courier's compact `20240408T080910.123` too), or opening hours. */
export function untilIssue(until: string): string | undefined {
  if (looksIso(until) || COMPACT_ISO.test(until)) return Number.isNaN(untilInstant(until)) ? 'must be an ISO-8601 time or opening hours' : undefined;
  try {
    return parseWindow(until).days.some((d) => d.length) ? undefined : `"${until}" is never open`;
  } catch (e) {
    if (e instanceof WindowSyntaxError) return e.message;
    throw e;
  }
}

const COMPACT_ISO = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;
/** An ISO `until` as epoch ms (a time without an offset is UTC); NaN when it is not one. */
function untilInstant(until: string): number {
  const m = COMPACT_ISO.exec(until);
  const text = m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}${m[8] ?? ''}` : until;
  return isoInstant(text, 'UTC');
}

const delayStep = z
  .strictObject({
    action: z.literal('delay'),
    duration: z
      .string()
      .refine((d) => durationOf(d) !== undefined, 'must be a duration such as "5 minutes" or "PT5M"')
      .optional(),
    until: z
      .string()
      .max(500)
      .superRefine((u, ctx) => {
        const issue = untilIssue(u);
        if (issue) ctx.addIssue({ code: 'custom', message: issue });
      })
      .optional(),
    ...common,
  })
  .refine((s) => (s.duration === undefined) !== (s.until === undefined), { message: 'needs exactly one of duration and until', path: ['duration'] });

const sendStep = z.strictObject({
  action: z.literal('send'),
  brand: idSchema.optional(),
  data: obj.optional(),
  profile: obj.optional(),
  recipient: idSchema.optional(),
  template: idSchema.optional(),
  ...common,
});
const sendListStep = z.strictObject({ action: z.literal('send-list'), list: idSchema, brand: idSchema.optional(), data: obj.optional(), ...common });
export const MERGES = ['none', 'overwrite', 'soft-merge', 'replace'] as const;
export type Merge = (typeof MERGES)[number];
const updateProfileStep = z.strictObject({
  action: z.literal('update-profile'),
  profile: obj,
  merge: z.enum(MERGES).optional(),
  recipient_id: idSchema.optional(),
  ...common,
});
const cancelStep = z.strictObject({ action: z.literal('cancel'), cancelation_token: z.string().min(1).max(256), ...common });
const invokeStep = z.strictObject({ action: z.literal('invoke'), template: idSchema, ...common });
export const DATA_MERGES = ['replace', 'overwrite', 'soft-merge'] as const;
const fetchDataStep = z.strictObject({
  action: z.literal('fetch-data'),
  webhook: z.strictObject({
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    url: z
      .string()
      .max(2048)
      .refine((u) => URL.canParse(u) && ['http:', 'https:'].includes(new URL(u).protocol), 'must be an http or https URL'),
    body: z.string().max(100_000).optional(),
    headers: z.record(z.string().min(1).max(256), z.string().max(4096)).optional(),
  }),
  merge_strategy: z.enum(DATA_MERGES).optional(),
  ...common,
});

export const STEP_ACTIONS = ['delay', 'send', 'send-list', 'update-profile', 'cancel', 'invoke', 'fetch-data'] as const;
export const stepSchema = z.discriminatedUnion('action', [delayStep, sendStep, sendListStep, updateProfileStep, cancelStep, invokeStep, fetchDataStep]);
export type Step = z.infer<typeof stepSchema>;

/**
 * One step of a request: its `action` is checked first, so an unknown action is a 400 saying so
 * rather than a list of union mismatches.
 */
export const requestStepSchema = z
  .looseObject({ action: z.string() })
  .superRefine((s, ctx) => {
    if (!(STEP_ACTIONS as readonly string[]).includes(s.action))
      ctx.addIssue({ code: 'custom', message: `unknown step action "${s.action}" (one of ${STEP_ACTIONS.join(', ')})`, path: ['action'] });
  })
  .pipe(stepSchema);

export const stepsSchema = z.array(requestStepSchema).min(1, 'must hold at least one step').max(MAX_STEPS);

/** What a run starts from: an ad hoc automation's or a template's steps and the invocation's context. */
export const automationSchema = z.strictObject({ steps: stepsSchema, cancelation_token: z.string().min(1).max(256).optional() });

export const invokeContext = {
  brand: idSchema.optional(),
  data: obj.optional(),
  profile: obj.optional(),
  recipient: idSchema.optional(),
  template: idSchema.optional(),
};
export const adHocInvokeSchema = z.strictObject({ automation: automationSchema, ...invokeContext });
export const templateInvokeSchema = z.strictObject(invokeContext);
/** `POST /journeys/:id/invoke` (JourneysInvokeRequest). */
export const journeyInvokeSchema = z.strictObject({ data: obj.optional(), profile: obj.optional(), user_id: idSchema.optional() });

/** A stored automation template (our extension: PUT /automations/templates/:id). */
export const templateBodySchema = z.strictObject({
  name: z.string().min(1).max(256),
  steps: stepsSchema,
  cancelation_token: z.string().min(1).max(256).optional(),
  /** Listed under `version=draft` and not invocable until published (the default). */
  version: z.enum(['published', 'draft']).default('published'),
});
export type TemplateBody = z.infer<typeof templateBodySchema>;

/** A journey's user: its `user_id`, else one named in the profile or data (user_id, userId, anonymousId). */
export function journeyUser(body: z.infer<typeof journeyInvokeSchema>): string | undefined {
  if (body.user_id) return body.user_id;
  for (const source of [body.profile, body.data])
    for (const k of ['user_id', 'userId', 'anonymousId']) {
      const v = source?.[k];
      if (typeof v === 'string' && v !== '') return v;
    }
  return undefined;
}

/** What a run holds besides its steps: who it is for and what its steps see. */
export interface RunContext {
  recipient?: string;
  brand?: string;
  template?: string;
  data?: Record<string, unknown>;
  profile?: Record<string, unknown>;
}

/** Whether a step runs: no `if`, or an `if` that holds with the run's data and profile in scope (one that fails to evaluate does not). */
export function stepRuns(step: Step, ctx: RunContext): boolean {
  if (!isCondition(step.if)) return true;
  return holds(parseCondition(step.if, STEP_SCOPE), { data: ctx.data ?? {}, profile: ctx.profile ?? {} });
}

/**
 * When a delay step that starts at `at` ends (epoch ms). An opening-hours `until` is read in the
 * run's profile `timezone` (else UTC); a window never open again ends it at once.
 */
export function delayEnd(step: Extract<Step, { action: 'delay' }>, at: number, profile?: Record<string, unknown>): number {
  if (step.duration !== undefined) return at + durationOf(step.duration)!;
  const until = step.until!;
  if (looksIso(until) || COMPACT_ISO.test(until)) return Math.max(at, untilInstant(until));
  const zone = typeof profile?.timezone === 'string' ? profile.timezone : 'UTC';
  let opens: number | undefined;
  try {
    opens = nextOpening(parseWindow(until), at, zone);
  } catch {
    opens = nextOpening(parseWindow(until), at, 'UTC');
  }
  return opens ?? at;
}

/**
 * A profile after an update-profile step: `replace` puts `patch` in its place; `overwrite` sets
 * its top-level keys over the stored ones; `soft-merge` adds only keys the profile lacks; `none`
 * writes `patch` only when there is no profile yet and leaves one that exists as it is.
 */
export function mergeProfile(current: Record<string, unknown> | undefined, patch: Record<string, unknown>, merge: Merge): Record<string, unknown> {
  switch (merge) {
    case 'replace':
      return { ...patch };
    case 'overwrite':
      return { ...current, ...patch };
    case 'soft-merge':
      return { ...patch, ...current };
    case 'none':
      return current ?? { ...patch };
  }
}

/**
 * A run's data after a fetch-data step: `replace` (the default) puts the answer in its place,
 * `overwrite` sets the answer's top-level keys over the data's, `soft-merge` adds only keys the data
 * lacks. `fetched` must be a JSON object.
 */
export function mergeData(
  current: Record<string, unknown> | undefined,
  fetched: Record<string, unknown>,
  merge: (typeof DATA_MERGES)[number] = 'replace',
): Record<string, unknown> {
  return merge === 'replace' ? { ...fetched } : merge === 'overwrite' ? { ...current, ...fetched } : { ...fetched, ...current };
}

/** Courier's default merge of an update-profile step. */
export const DEFAULT_MERGE: Merge = 'replace';

/**
 * The message a send or send-list step sends: the step's template, recipient, brand and profile,
 * else the run's; data the run's with the step's over it. Its `metadata.trace_id` is the run id, so
 * `GET /messages?traceId=<runId>` lists what a run sent. Undefined (the step fails) without a
 * template or a recipient.
 */
export function stepMessage(step: Extract<Step, { action: 'send' | 'send-list' }>, ctx: RunContext, runId: string): SendMessage | string {
  const template = (step.action === 'send' ? step.template : undefined) ?? ctx.template;
  if (!template) return 'names no template (the step\'s or the run\'s "template")';
  const data = { ...ctx.data, ...step.data };
  const brand = step.brand ?? ctx.brand;
  let to: SendMessage['to'];
  if (step.action === 'send-list') to = { list_id: step.list };
  else {
    const recipient = step.recipient ?? ctx.recipient;
    const profile = step.profile ?? ctx.profile ?? {};
    if (!recipient) return 'names no recipient (the step\'s or the run\'s "recipient")';
    to = { ...profile, user_id: recipient };
  }
  return { to, template, data, ...(brand ? { brand_id: brand } : {}), metadata: { trace_id: runId } } as SendMessage;
}

/** A step's outcome in a run's record. */
export type StepStatus = 'pending' | 'waiting' | 'done' | 'skipped' | 'failed' | 'canceled';
