import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { runStepSchema, stepSchema, type StepStatus, type TemplateBody } from '../domain/automations';
import { now } from '../shared/clock';
import { changed, conditional, conditionalWrite, expectedOf } from './conditional';
import { GSI1, runKeys } from './keys';
import { deleteItem, getItem, parseDoc, parseStored, putItem, queryAll, queryPage, TABLE, upsertItem, type StoredItem } from './table';

/**
 * Automation templates and runs (docs/decisions.md D25). A run's item holds its steps, its context
 * and each finished step's outcome in `doc`; `cursor` (the step to do next) and `status` are
 * attributes, so advancing a step is one conditional UpdateItem on `cursor`, which only one of two
 * deliveries of the same step job can win.
 */

const obj = z.record(z.string(), z.unknown());

const storedTemplate = z.object({
  name: z.string(),
  steps: z.array(stepSchema),
  cancelation_token: z.string().optional(),
  version: z.enum(['published', 'draft']),
  revision: z.number().int().min(1),
});
export type StoredTemplate = z.infer<typeof storedTemplate> & { id: string; created: number; updated: number };

const toTemplate = (item: StoredItem): StoredTemplate => ({
  ...parseDoc(item, storedTemplate),
  id: String(item.id),
  created: Number(item.created),
  updated: Number(item.updated),
});

export async function getTemplate(id: string, revision?: number): Promise<StoredTemplate | undefined> {
  const item = await getItem(revision === undefined ? runKeys.template(id) : runKeys.templateRevision(id, revision));
  return item ? toTemplate(item) : undefined;
}

/** Stores a template's next revision: the head (conditional on the one read) and the revision's own item. */
export async function putTemplate(id: string, body: TemplateBody): Promise<StoredTemplate> {
  const head = await getItem(runKeys.template(id));
  const revision = (head ? toTemplate(head).revision : 0) + 1;
  const doc = JSON.stringify({ ...body, revision });
  const written = await upsertItem(runKeys.template(id), { _t: 'AutomationTemplate', id, doc, ...runKeys.templateIndex(body.version, id) }, expectedOf(head));
  if (!written) throw changed(`automation template ${id}`);
  await putItem({ ...runKeys.templateRevision(id, revision), _t: 'AutomationTemplateRevision', id, doc, created: written.created, updated: written.updated });
  return toTemplate(written);
}

/** Deletes the template (its head: the revisions stay readable by `?revision=` for the runs that used them). */
export const deleteTemplate = (id: string): Promise<boolean> => deleteItem(runKeys.template(id));

export async function listTemplates(version: string, limit: number, cursor?: string): Promise<{ items: StoredTemplate[]; cursor?: string }> {
  const page = await queryPage({ index: GSI1, partition: runKeys.templates(version), limit, cursor });
  return { items: page.items.map(toTemplate), cursor: page.cursor };
}

/** A finished (or waiting) step's record. */
export const stepOutcome = z.object({
  status: z.enum(['done', 'skipped', 'failed', 'batched', 'throttled']),
  startedAt: z.number(),
  finishedAt: z.number().optional(),
  messageId: z.string().optional(),
  runId: z.string().optional(),
  canceled: z.number().int().optional(),
  error: z.string().optional(),
  /** A batch step: the run whose batch this run's event joined (`batched`), or the count of the batch this run released. */
  batchRunId: z.string().optional(),
  count: z.number().int().optional(),
  /** A throttle step: the window it counted in, and the step a throttled run went on at. */
  window: z.object({ start: z.number(), end: z.number() }).optional(),
  next: z.number().int().optional(),
});
export type StepOutcome = z.infer<typeof stepOutcome>;

const runDoc = z.object({
  steps: z.array(runStepSchema),
  context: z.object({
    recipient: z.string().optional(),
    brand: z.string().optional(),
    template: z.string().optional(),
    data: obj.optional(),
    profile: obj.optional(),
  }),
  cancelationToken: z.string().optional(),
  /** The template (and its revision) the run was invoked from, and the run that invoked it. */
  source: z.object({ template: z.string(), revision: z.number().int() }).optional(),
  parent: z.string().optional(),
  created: z.number(),
  // A step a run passed over (a throttle's on_throttle) has no outcome: null in the stored array.
  outcomes: z.array(stepOutcome.nullable()).transform((all) => all.map((o) => o ?? undefined)),
});
export type RunDoc = z.infer<typeof runDoc>;

export type RunStatus = 'running' | 'done' | 'failed' | 'canceled';
export interface Run {
  runId: string;
  doc: RunDoc;
  cursor: number;
  status: RunStatus;
  /** The end of the delay (or the close of the batch) the run waits in at `cursor`. */
  dueAt?: number;
  /** The batch the run opened at `cursor` and waits for (lambdas/store/batches.ts). */
  batchKey?: string;
  canceledAt?: number;
  updated: number;
}

const toRun = (item: StoredItem): Run => ({
  runId: String(item.runId),
  doc: parseStored(String(item.doc), runDoc, `${item.pk} / ${item.sk}`),
  cursor: Number(item.cursor),
  status: item.status as RunStatus,
  dueAt: typeof item.dueAt === 'number' ? item.dueAt : undefined,
  batchKey: typeof item.batchKey === 'string' ? item.batchKey : undefined,
  canceledAt: typeof item.canceledAt === 'number' ? item.canceledAt : undefined,
  updated: Number(item.updated),
});

export async function getRun(runId: string): Promise<Run | undefined> {
  const item = await getItem(runKeys.run(runId));
  return item ? toRun(item) : undefined;
}

/**
 * Stores a new run (only if no run has its id: a retried invocation finds the first one), woken by
 * the sweeper `wakeAt` unless a step job moves it first; its token's entry is written first, so a
 * cancel never misses a stored run. True when this call stored it.
 */
export async function createRun(runId: string, doc: RunDoc, wakeAt: number): Promise<boolean> {
  if (doc.cancelationToken) await putItem({ ...runKeys.tokenRun(doc.cancelationToken, runId), _t: 'RunToken', runId, doc: '{}' });
  return conditional(
    new PutCommand({
      TableName: TABLE,
      Item: {
        ...runKeys.run(runId),
        _t: 'AutomationRun',
        runId,
        doc: JSON.stringify(doc),
        cursor: 0,
        status: 'running',
        updated: now(),
        ...runKeys.wake(runId, wakeAt),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
}

/** How a step's job moves a run on: the step's outcome, the run's status after it, and where it goes next. */
export interface Advance {
  outcome: StepOutcome;
  status: 'running' | 'done' | 'failed';
  /** The sweeper's re-drive time if the next job is lost (a run still running). */
  wakeAt: number;
  /** The step to do next: the one after by default (a throttled run may go on at a later step). */
  next?: number;
}

/**
 * The conditional update that records step `run.cursor`'s outcome and moves the cursor on, only if
 * the run still stands at that step: for UpdateItem and for a transaction's Update. A run with
 * steps left is woken `wakeAt`; a finished one leaves the wake index. The delay's end and the
 * batch the run waited for at that step go.
 */
export function advanceUpdate(run: Run, a: Advance) {
  const outcomes = [...run.doc.outcomes];
  outcomes[run.cursor] = a.outcome;
  const doc = JSON.stringify({ ...run.doc, outcomes });
  const wake = a.status === 'running' ? runKeys.wake(run.runId, a.wakeAt) : undefined;
  return {
    TableName: TABLE,
    Key: runKeys.run(run.runId),
    UpdateExpression: `SET #doc = :doc, #cursor = :next, #status = :status, #updated = :now${wake ? ', gsi1pk = :wpk, gsi1sk = :wsk' : ''} REMOVE #dueAt, #batchKey${wake ? '' : ', gsi1pk, gsi1sk'}`,
    ConditionExpression: '#cursor = :from AND #status = :running',
    ExpressionAttributeNames: { '#doc': 'doc', '#cursor': 'cursor', '#status': 'status', '#updated': 'updated', '#dueAt': 'dueAt', '#batchKey': 'batchKey' },
    ExpressionAttributeValues: {
      ':doc': doc,
      ':next': a.next ?? run.cursor + 1,
      ':from': run.cursor,
      ':status': a.status,
      ':running': 'running',
      ':now': now(),
      ...(wake ? { ':wpk': wake.gsi1pk, ':wsk': wake.gsi1sk } : {}),
    },
  };
}

/** Records the step's outcome and moves the cursor on (advanceUpdate): false when another delivery did it first or the run was canceled. */
export const advanceRun = (run: Run, a: Advance): Promise<boolean> => conditional(new UpdateCommand(advanceUpdate(run, a)));

/**
 * Keeps a run waiting at its step until `until`: its wake time (the sweeper's re-drive) and the
 * time the run view shows, only while it stands there. False when it moved on or stopped.
 */
export function waitUntil(run: Run, until: number): Promise<boolean> {
  const wake = runKeys.wake(run.runId, until);
  return conditional(
    new UpdateCommand({
      TableName: TABLE,
      Key: runKeys.run(run.runId),
      UpdateExpression: 'SET #dueAt = :due, gsi1pk = :wpk, gsi1sk = :wsk, #updated = :now',
      ConditionExpression: '#cursor = :at AND #status = :running',
      ExpressionAttributeNames: { '#dueAt': 'dueAt', '#cursor': 'cursor', '#status': 'status', '#updated': 'updated' },
      ExpressionAttributeValues: { ':due': until, ':at': run.cursor, ':running': 'running', ':wpk': wake.gsi1pk, ':wsk': wake.gsi1sk, ':now': now() },
    }),
  );
}

/**
 * Starts the delay at the run's cursor: its end, stored once (a redelivered job reads it back), and
 * the run woken then. Returns the stored end; undefined when the run moved on or stopped meanwhile.
 */
export async function startDelay(run: Run, dueAt: number): Promise<number | undefined> {
  const wake = runKeys.wake(run.runId, dueAt);
  const out = await conditionalWrite(
    new UpdateCommand({
      TableName: TABLE,
      Key: runKeys.run(run.runId),
      UpdateExpression: 'SET #dueAt = if_not_exists(#dueAt, :due), gsi1pk = :wpk, gsi1sk = :wsk, #updated = :now',
      ConditionExpression: '#cursor = :at AND #status = :running AND attribute_not_exists(#dueAt)',
      ExpressionAttributeNames: { '#dueAt': 'dueAt', '#cursor': 'cursor', '#status': 'status', '#updated': 'updated' },
      ExpressionAttributeValues: { ':due': dueAt, ':at': run.cursor, ':running': 'running', ':wpk': wake.gsi1pk, ':wsk': wake.gsi1sk, ':now': now() },
      ReturnValues: 'ALL_NEW',
    }),
  );
  if (out) return Number(out.Attributes?.dueAt);
  const again = await getRun(run.runId);
  return again && again.status === 'running' && again.cursor === run.cursor ? again.dueAt : undefined;
}

/**
 * Cancels a running run, at whatever step it is, on behalf of `by` (the canceling run and step).
 * The canceled run when it is canceled by `by`, now or by an earlier attempt of the same step (so a
 * redelivered cancel counts the same runs); undefined when it had finished or another canceled it.
 */
export async function cancelRun(runId: string, by: string): Promise<Run | undefined> {
  const out = await conditionalWrite(
    new UpdateCommand({
      TableName: TABLE,
      Key: runKeys.run(runId),
      UpdateExpression: 'SET #status = :canceled, #canceledBy = :by, #canceledAt = if_not_exists(#canceledAt, :now), #updated = :now REMOVE gsi1pk, gsi1sk',
      ConditionExpression: '#status = :running OR #canceledBy = :by',
      ExpressionAttributeNames: { '#status': 'status', '#canceledAt': 'canceledAt', '#canceledBy': 'canceledBy', '#updated': 'updated' },
      ExpressionAttributeValues: { ':canceled': 'canceled', ':running': 'running', ':by': by, ':now': now() },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return out?.Attributes ? toRun(out.Attributes as StoredItem) : undefined;
}

/** How long a finished run's token entry stays (for a cancel that was on its way), before DynamoDB's TTL removes it. */
const TOKEN_ENTRY_KEEP_S = 86_400;

/**
 * A run that ended (done, failed, canceled) no longer needs its token entry: it expires a day on.
 * Only an entry that exists is touched (a run without a token has none).
 */
export async function endTokenEntry(run: Run): Promise<void> {
  if (!run.doc.cancelationToken) return;
  await conditional(
    new UpdateCommand({
      TableName: TABLE,
      Key: runKeys.tokenRun(run.doc.cancelationToken, run.runId),
      UpdateExpression: 'SET #ttl = :ttl',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#ttl': 'ttl' },
      ExpressionAttributeValues: { ':ttl': Math.ceil(now() / 1000) + TOKEN_ENTRY_KEEP_S },
    }),
  );
}

/** The runs that held a cancelation token, page by page (finished ones included: cancelRun skips them). */
export async function* runsOfToken(token: string): AsyncGenerator<string[]> {
  for await (const items of queryAll({ partition: runKeys.tokenRuns(token) })) yield items.map((i) => String(i.runId));
}

export interface DueRun {
  runId: string;
  cursor: number;
  wakeSk: string;
}

/** Running runs of a wake shard due before `at` (their wake time passed without their step being done). */
export async function dueRuns(shard: number, at: number, limit: number, cursor?: string): Promise<{ items: DueRun[]; cursor?: string }> {
  const page = await queryPage({ index: GSI1, partition: runKeys.wakeShard(shard), range: ['0', runKeys.wakeFrom(at)], limit, cursor });
  return { items: page.items.map((i) => ({ runId: String(i.runId), cursor: Number(i.cursor), wakeSk: String(i.gsi1sk) })), cursor: page.cursor };
}

/** Claims a due run for a re-drive: moves its wake time to `next`, only if no one moved it since it was read. */
export async function claimDueRun(run: DueRun, next: number): Promise<boolean> {
  const wake = runKeys.wake(run.runId, next);
  return conditional(
    new UpdateCommand({
      TableName: TABLE,
      Key: runKeys.run(run.runId),
      UpdateExpression: 'SET gsi1sk = :next',
      ConditionExpression: 'gsi1sk = :old AND #status = :running',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':next': wake.gsi1sk, ':old': run.wakeSk, ':running': 'running' },
    }),
  );
}

/** Step statuses of a run for `GET /automations/runs/:id`: finished steps as recorded, the rest from where the run stands. */
export function stepStatuses(run: Run): StepStatus[] {
  return run.doc.steps.map((_, i) => {
    const outcome = run.doc.outcomes[i];
    if (i < run.cursor) return outcome?.status ?? 'skipped';
    if (run.status === 'running') return i === run.cursor && run.dueAt !== undefined ? 'waiting' : 'pending';
    // Steps a run never reached: passed over (a throttle's on_throttle, an event that joined another run's batch, a throttled end), else canceled.
    if (run.status === 'done') return 'skipped';
    return 'canceled';
  });
}
