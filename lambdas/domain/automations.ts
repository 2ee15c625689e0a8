import { z } from 'zod';
import { conditionSchema, holds, isCondition, parseCondition } from './conditions';
import { isoInstant, isTimeZone, looksIso, nextOpening, openUntil, parseWindow, WindowSyntaxError, type DeliveryWindow } from './delivery-window';
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
/** What an `if` of a step sees: the run's data and profile, and `refs.<ref>` the outcome of an earlier step named by its `ref`. */
export const STEP_SCOPE = ['data', 'profile', 'refs'] as const;

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

/** A duration field of a batch or throttle step: human ("10 minutes") or ISO-8601 ("PT10M"), 1 second to 31 days. */
const period = z
  .string()
  .max(64)
  .refine((d) => {
    const ms = durationOf(d);
    return ms !== undefined && ms >= 1000 && ms <= MAX_PERIOD_MS;
  }, 'must be a duration ("10 minutes", "PT10M") of 1 second to 31 days');
export const MAX_PERIOD_MS = 31 * 86_400_000;
/** A dot path into the run's context (`data.project`, `profile.team`): a batch's category or a throttle's key, a retain's sort key. */
const contextPath = z
  .string()
  .max(256)
  .regex(/^(data|profile)(\.[^.\s]+)+$/, 'must be a dot path into data or profile, such as "data.project"');

/** Items a batch keeps (a run holds them in its data), and events one batch may collect. */
export const MAX_RETAIN = 100;
export const MAX_BATCH_ITEMS = 100_000;
export const RETAINS = ['first', 'last', 'highest', 'lowest'] as const;

/**
 * A batch (digest) step, Courier's journey batch node: events reaching it for the same key collect
 * in one batch, which opens on the first; that run waits and goes on with `data.batch` = `{ count,
 * items }`, the others end there. The batch closes when `max_items` have joined, when `wait_period`
 * passes with no new event (capped by `max_wait_period` from the first), or, with `schedule`, at the
 * schedule's next time in the recipient's time zone (`"09:00"`, `"Mo-Fr 09:00"`, `"Mo 08:30; Th 17:00"`).
 */
/** When a batch closes and what it keeps: the fields a batch step and a topic's digest share. */
const batchWindow = {
  wait_period: period.optional(),
  max_wait_period: period.optional(),
  schedule: z
    .string()
    .max(500)
    .superRefine((text, ctx) => {
      const issue = scheduleIssue(text);
      if (issue) ctx.addIssue({ code: 'custom', message: issue });
    })
    .optional(),
  timezone: z.string().max(64).refine(isTimeZone, 'not a known IANA time zone').optional(),
  max_items: z.number().int().min(1).max(MAX_BATCH_ITEMS).optional(),
  retain: z
    .strictObject({ type: z.enum(RETAINS), count: z.number().int().min(1).max(MAX_RETAIN), sort_key: contextPath.optional() })
    .refine((r) => (r.type === 'highest' || r.type === 'lowest') === (r.sort_key !== undefined), {
      message: 'sort_key is needed by highest and lowest, and only by them',
      path: ['sort_key'],
    })
    .optional(),
};

/** A batch closes on a schedule, or after a quiet wait_period capped by a longer max_wait_period. */
function checkBatchWindow(s: { wait_period?: string; max_wait_period?: string; schedule?: string }, ctx: z.RefinementCtx): void {
  const waits = s.wait_period !== undefined || s.max_wait_period !== undefined;
  if (s.schedule !== undefined && waits)
    ctx.addIssue({ code: 'custom', message: 'a batch closes on a schedule or after wait_period, not both', path: ['schedule'] });
  else if (s.schedule === undefined && (s.wait_period === undefined || s.max_wait_period === undefined))
    ctx.addIssue({
      code: 'custom',
      message: 'needs wait_period and max_wait_period, or a schedule',
      path: [s.wait_period === undefined ? 'wait_period' : 'max_wait_period'],
    });
  else if (s.wait_period !== undefined && s.max_wait_period !== undefined && durationOf(s.wait_period)! >= durationOf(s.max_wait_period)!)
    ctx.addIssue({ code: 'custom', message: 'must be longer than wait_period', path: ['max_wait_period'] });
}

const batchStep = z
  .strictObject({
    action: z.literal('batch'),
    ...batchWindow,
    scope: z.enum(['user', 'global']).optional(),
    category_key: contextPath.optional(),
    ...common,
  })
  .superRefine(checkBatchWindow);

/**
 * A topic's digest (our extension, `PUT /preferences/topics/:id` `digest`): the topic's messages to a
 * user collect as a batch step's events do, each ending DIGESTED, and one message goes out when the
 * batch closes (README "Batches and digests").
 */
export const topicDigestSchema = z.strictObject(batchWindow).superRefine(checkBatchWindow);
export type TopicDigest = z.infer<typeof topicDigestSchema>;

/**
 * A throttle step (Courier's journey throttle node): at most `max_allowed` runs pass it in each fixed
 * window of `period` (aligned to the epoch) per user (`scope` user, the default), for everyone
 * (`global`), or per value of `throttle_key` (`dynamic`). A run over it is `throttled`: it ends, or
 * goes on at the step whose `ref` is `on_throttle`.
 */
export const MAX_THROTTLE_ALLOWED = 100;
const throttleStep = z
  .strictObject({
    action: z.literal('throttle'),
    max_allowed: z.number().int().min(1).max(MAX_THROTTLE_ALLOWED),
    period,
    scope: z.enum(['user', 'global', 'dynamic']).optional(),
    throttle_key: contextPath.optional(),
    on_throttle: z.string().min(1).max(128).optional(),
    ...common,
  })
  .refine((s) => (s.scope === 'dynamic') === (s.throttle_key !== undefined), {
    message: 'throttle_key is needed by scope dynamic, and only by it',
    path: ['throttle_key'],
  });

export const STEP_ACTIONS = ['delay', 'send', 'send-list', 'update-profile', 'cancel', 'invoke', 'fetch-data', 'batch', 'throttle'] as const;
export const stepSchema = z.discriminatedUnion('action', [
  delayStep,
  sendStep,
  sendListStep,
  updateProfileStep,
  cancelStep,
  invokeStep,
  fetchDataStep,
  batchStep,
  throttleStep,
]);
export type Step = z.infer<typeof stepSchema>;

/**
 * The step a topic's digest run ends with (never accepted from the API): it sends the message that
 * opened the digest again, to its recipient, with the batch in its data.
 */
const sendMessageStep = z.strictObject({ action: z.literal('send-message'), message: obj, ...common });
/** What a stored run's steps may be: the API's steps and the digest's own. */
export const runStepSchema = z.discriminatedUnion('action', [...stepSchema.options, sendMessageStep]);
export type RunStep = z.infer<typeof runStepSchema>;

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

export const stepsSchema = z
  .array(requestStepSchema)
  .min(1, 'must hold at least one step')
  .max(MAX_STEPS)
  .superRefine((steps, ctx) => {
    steps.forEach((step, i) => {
      if (step.action !== 'throttle' || step.on_throttle === undefined) return;
      if (!steps.some((later, j) => j > i && later.ref === step.on_throttle))
        ctx.addIssue({ code: 'custom', message: `names no later step whose ref is "${step.on_throttle}"`, path: [i, 'on_throttle'] });
    });
  });

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

/** What `refs.<ref>` shows of an earlier step: its status and what it made. */
export interface StepRef {
  status: string;
  messageId?: string;
  runId?: string;
  canceled?: number;
  error?: string;
}

/**
 * Whether a step runs: no `if`, or an `if` that holds with the run's data and profile in scope and
 * `refs` the outcomes of earlier steps by their `ref` (one that fails to evaluate does not).
 */
export function stepRuns(step: RunStep, ctx: RunContext, refs: Record<string, StepRef> = {}): boolean {
  if (!isCondition(step.if)) return true;
  return holds(parseCondition(step.if, STEP_SCOPE), { data: ctx.data ?? {}, profile: ctx.profile ?? {}, refs });
}

/** The value at a dot path (`data.project`) of the run's context; undefined when absent. */
export function contextValue(ctx: RunContext, path: string): unknown {
  const [root, ...rest] = path.split('.');
  let at: unknown = root === 'data' ? ctx.data : ctx.profile;
  for (const k of rest) at = at !== null && typeof at === 'object' && !Array.isArray(at) ? (at as Record<string, unknown>)[k] : undefined;
  return at;
}

/** A key's part from a context value: strings and numbers as they are, anything else as JSON, absent as "". */
export const keyPart = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v));

/** A schedule's times (`09:00`) as one-minute delivery-window ranges (`09:00-09:01`), so the window grammar and its DST rules read it. */
export function scheduleWindow(schedule: string): DeliveryWindow {
  const ranges = schedule.replace(/(?<![-\d:])(\d{1,2}):(\d{2})(?![-\d:])/g, (_, h: string, m: string) => {
    const start = Number(h) * 60 + Number(m);
    const end = start + 1;
    return `${h.padStart(2, '0')}:${m}-${String(Math.floor(end / 60)).padStart(2, '0')}:${String(end % 60).padStart(2, '0')}`;
  });
  return parseWindow(ranges);
}

/** Why a schedule cannot be read; undefined when it can. */
function scheduleIssue(schedule: string): string | undefined {
  if (/\d{1,2}:\d{2}\s*-/.test(schedule)) return 'names times of day ("09:00", "Mo-Fr 09:00"), not ranges';
  try {
    const w = scheduleWindow(schedule);
    if (w.days.every((d) => d.length === 0)) return 'names no time';
    if (w.days.some((d) => d.some((r) => r.end - r.start > 1))) return 'names times of day ("09:00", "Mo-Fr 09:00"), not whole days';
  } catch (e) {
    // Said of the schedule as written: its times, not the one-minute ranges read.
    if (e instanceof WindowSyntaxError) return e.message.replace(/(\d{2}:\d{2})-\d{2}:\d{2}/g, '$1');
    throw e;
  }
  return undefined;
}

/**
 * The first time of a schedule after `at` in `zone` (an instant inside a scheduled minute counts the
 * next one), DST-correct as delivery windows are: "09:00" is 09:00 wall time on both sides of a change.
 */
export function nextScheduled(schedule: string, at: number, zone: string): number {
  const w = scheduleWindow(schedule);
  let next = nextOpening(w, at, zone)!;
  if (next === at) next = nextOpening(w, openUntil(w, at, zone)!, zone)!;
  return next;
}

type BatchStep = Extract<Step, { action: 'batch' }>;

/** When a batch closes, from its head: at its schedule's time, else the earlier of a quiet `wait_period` after the last event and `max_wait_period` after the first. */
export function batchCloses(step: BatchStep, head: { openedAt: number; lastAt: number; releaseAt?: number }): number {
  if (head.releaseAt !== undefined) return head.releaseAt;
  return Math.min(head.openedAt + durationOf(step.max_wait_period!)!, head.lastAt + durationOf(step.wait_period!)!);
}

/** Courier's default of what a batch keeps: its first ten events. */
export const DEFAULT_RETAIN = { type: 'first', count: 10 } as const;

/**
 * The events a batch keeps, from the events it read in arrival order (`first`: the first `count`,
 * `last`: the last, `highest` / `lowest`: by `sort_key`, numbers before strings, absent last; ties
 * in arrival order). Each event is the data of the run that brought it.
 */
export function retained(step: BatchStep, events: { data: Record<string, unknown>; profile?: Record<string, unknown> }[]): Record<string, unknown>[] {
  const retain = step.retain ?? DEFAULT_RETAIN;
  if (retain.type === 'first') return events.slice(0, retain.count).map((e) => e.data);
  if (retain.type === 'last') return events.slice(-retain.count).map((e) => e.data);
  const sortKey = retain.sort_key!;
  const rank = (e: (typeof events)[number]) => contextValue({ data: e.data, profile: e.profile }, sortKey);
  const order = (a: unknown, b: unknown): number => {
    const kind = (v: unknown) => (typeof v === 'number' ? 0 : typeof v === 'string' ? 1 : 2);
    if (kind(a) !== kind(b)) return kind(a) - kind(b);
    if (typeof a === 'number' && typeof b === 'number') return retain.type === 'highest' ? b - a : a - b;
    if (typeof a === 'string' && typeof b === 'string') return retain.type === 'highest' ? b.localeCompare(a) : a.localeCompare(b);
    return 0;
  };
  return events
    .map((e, i) => ({ e, i, v: rank(e) }))
    .sort((x, y) => order(x.v, y.v) || x.i - y.i)
    .slice(0, retain.count)
    .map((x) => x.e.data);
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

/**
 * A topic digest's message: the message that opened the digest (without its delay, which has
 * passed), to the run's recipient (the message's own `to` when it named that user alone, so
 * profile data it carried still counts), its data the run's (the message's, with `batch`), traced
 * to the run.
 */
export function digestMessage(step: Extract<RunStep, { action: 'send-message' }>, ctx: RunContext, runId: string): SendMessage | string {
  if (!ctx.recipient) return 'names no recipient';
  const { delay: _delay, to, metadata, ...message } = step.message as Record<string, unknown> & { to?: { user_id?: unknown }; metadata?: object };
  const own = to && !Array.isArray(to) && to.user_id === ctx.recipient;
  return { ...message, to: own ? to : { user_id: ctx.recipient }, data: ctx.data ?? {}, metadata: { ...metadata, trace_id: runId } } as SendMessage;
}

/** A step's outcome in a run's record. */
export type StepStatus = 'pending' | 'waiting' | 'done' | 'skipped' | 'failed' | 'canceled' | 'batched' | 'throttled';
