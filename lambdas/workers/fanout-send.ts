import type { Context } from 'aws-lambda';
import { now as clock } from '../shared/clock';
import { dedupeMode, recipientKey, type DedupeMode, messageIdFor, targetsOf, toTarget, type Target } from '../domain/send';
import { enqueueDelivery, enqueueFanout, type DeliveryRecipient, type SendJob } from '../shared/jobs';
import { logger } from '../shared/logger';
import { bulkStep } from './bulk-fanout';
import { getAudience, listMembers } from '../store/audiences';
import { findLists, getList, listSubscribers } from '../store/lists';
import { getMessage, getRequest, newMessageRecord, updateRequest, writeMessage, type RequestRecord } from '../store/messages';
import { getMembership, getTenant, listTenantMembers, listTenants, tenantChain } from '../store/tenants';

/** Recipients per delivery job (one SQS message): fewer SQS requests per recipient. */
export const RECIPIENTS_PER_JOB = 25;
/** Rows read per page of a list, audience or tenant. */
const PAGE_SIZE = 250;
/** Recipients one invocation expands before it hands over to a fresh one. */
export const MAX_PER_INVOCATION = 5000;
/** Time an invocation keeps in reserve to flush and re-enqueue. */
const RESERVE_MS = 15_000;
/** The BFS frontier rides in the job; past this many tenants in one level the job would outgrow SQS. */
const MAX_FRONTIER = 4000;

type State = NonNullable<SendJob['state']>;
/** A recipient before its message id; `shared`: a tenant member who is in other tenants too. */
type Candidate = Omit<DeliveryRecipient, 'messageId'> & { shared?: boolean };
const strip = ({ shared: _, ...r }: DeliveryRecipient & { shared?: boolean }): DeliveryRecipient => r;

/**
 * Buffers expanded recipients and emits them as delivery jobs. When a user may be reached twice,
 * each recipient's message record is created here first (conditionally): the first reach wins and
 * keeps its tenant context, a later reach is skipped, and a replayed page re-emits only recipients
 * whose record this same reach created.
 */
class Emitter {
  private buffer: DeliveryRecipient[] = [];
  private seen = new Set<string>();
  emitted = 0;

  constructor(
    private readonly req: RequestRecord,
    private readonly dedupe: DedupeMode,
  ) {}

  add(r: Candidate, reach: string): Promise<void> {
    return this.addMany([r], reach);
  }

  /** Adds a page of recipients; the dedupe checks of a page run concurrently, in page order of emission. */
  async addMany(rs: Candidate[], reach: string): Promise<void> {
    const fresh: (DeliveryRecipient & { shared?: boolean })[] = [];
    for (const r of rs) {
      const key = recipientKey(r);
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      fresh.push({ ...r, messageId: messageIdFor(this.req.requestId, key) });
    }
    const keep = await mapLimit(fresh, 16, async (r) => {
      if (this.dedupe === 'none' || (this.dedupe === 'members' && !r.shared)) return strip(r);
      return (await this.claimReach(r, reach)) ? { ...strip(r), recorded: true } : undefined;
    });
    for (const r of keep) if (r) this.buffer.push(r);
    if (this.buffer.length >= RECIPIENTS_PER_JOB * 10) await this.flush();
  }

  private async claimReach(r: DeliveryRecipient, reach: string): Promise<boolean> {
    const record = newMessageRecord(this.req, r, 'ENQUEUED', clock(), reach);
    if (await writeMessage(record, 0)) return true;
    const existing = await getMessage(this.req.requestId, r.messageId.slice(this.req.requestId.length + 1));
    return existing?.record.reach === reach && existing.record.status === 'ENQUEUED';
  }

  async flush(): Promise<void> {
    const jobs = [];
    for (let i = 0; i < this.buffer.length; i += RECIPIENTS_PER_JOB) {
      jobs.push({ type: 'deliver' as const, requestId: this.req.requestId, recipients: this.buffer.slice(i, i + RECIPIENTS_PER_JOB) });
    }
    await enqueueDelivery(jobs);
    this.emitted += this.buffer.length;
    this.buffer = [];
  }

  get pending(): number {
    return this.buffer.length + this.emitted;
  }
}

/** `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]);
    }),
  );
  return out;
}

/** Users of a list/audience page that pass the MEMBER_OF filters (member of every named tenant). */
async function passesFilters(userId: string, memberOf: string[]): Promise<boolean> {
  for (const tenantId of memberOf) if (!(await getMembership(tenantId, userId))) return false;
  return true;
}

/**
 * Expands one page of target `t` from `state` and returns the next state; `target` advances when
 * the target is exhausted. Every branch reads at most one page, so an invocation can stop between
 * any two calls.
 */
async function step(t: Target, state: State, out: Emitter): Promise<State> {
  const reach = `${state.target}`;
  const done = (): State => ({ target: state.target + 1, emitted: state.emitted });
  switch (t.kind) {
    case 'user':
      await out.add({ userId: t.userId, inline: t.inline, data: t.data, tenantId: t.tenantId }, reach);
      return done();
    case 'inline':
      await out.add({ inline: t.inline, data: t.data, tenantId: t.tenantId }, reach);
      return done();
    case 'list': {
      if (state.cursor === undefined) {
        const list = await getList(t.listId);
        if (!list || list.archived) return done();
      }
      const page = await listSubscribers(t.listId, PAGE_SIZE, state.cursor);
      for (const s of page.items) if (await passesFilters(s.recipientId, t.memberOf)) await out.add({ userId: s.recipientId, data: t.data, listId: t.listId }, reach);
      return page.cursor ? { ...state, cursor: page.cursor } : done();
    }
    case 'pattern': {
      if (state.list === undefined) {
        if (state.listCursor === 'END') return done();
        const lists = await findLists(t.pattern, 100, state.listCursor);
        const [first, ...rest] = lists.items.map((l) => l.id);
        return { ...state, list: first, level: rest, listCursor: lists.cursor ?? 'END', cursor: undefined };
      }
      const page = await listSubscribers(state.list, PAGE_SIZE, state.cursor);
      for (const s of page.items) if (await passesFilters(s.recipientId, t.memberOf)) await out.add({ userId: s.recipientId, data: t.data, listId: state.list }, `${reach}:${state.list}`);
      if (page.cursor) return { ...state, cursor: page.cursor };
      const [next, ...rest] = state.level ?? [];
      return { ...state, list: next, level: rest, cursor: undefined };
    }
    case 'audience': {
      if (state.cursor === undefined && !(await getAudience(t.audienceId))) return done();
      const page = await listMembers(t.audienceId, PAGE_SIZE, state.cursor);
      for (const m of page.items) if (await passesFilters(m.member_id, t.memberOf)) await out.add({ userId: m.member_id, data: t.data, audienceId: t.audienceId }, reach);
      return page.cursor ? { ...state, cursor: page.cursor } : done();
    }
    case 'tenant':
      return tenantStep(t, state, out, reach);
    case 'bulk':
      return bulkStep(t, state, out);
  }
}

/**
 * A tenant target walks tenants in BFS order from the target (`level` is the current level,
 * `next` the one below), so a user in several tenants is first reached through the nearest.
 * include_parent walks the chain upwards instead: the target, its parent, and so on.
 */
async function tenantStep(t: Extract<Target, { kind: 'tenant' }>, state: State, out: Emitter, reach: string): Promise<State> {
  if (state.level === undefined) {
    if (!(await getTenant(t.tenantId))) return { target: state.target + 1, emitted: state.emitted };
    const level = t.includeParent ? (await tenantChain(t.tenantId)).map((x) => x.id) : [t.tenantId];
    return { ...state, level, next: [], cursor: undefined };
  }
  const [current, ...rest] = state.level;
  if (current === undefined) {
    if (!t.includeChildren || !state.next?.length) return { target: state.target + 1, emitted: state.emitted };
    return { ...state, level: state.next, next: [], cursor: undefined };
  }
  if (state.phase !== 'children') {
    const page = await listTenantMembers(current, PAGE_SIZE, state.cursor);
    await out.addMany(page.items.map((m) => ({ userId: m.user_id, data: t.data, fanoutTenantId: current, membershipProfile: m.profile, shared: m.shared })), `${reach}:${current}`);
    if (page.cursor) return { ...state, cursor: page.cursor };
    if (!t.includeChildren) return { ...state, level: rest, cursor: undefined };
    return { ...state, phase: 'children', cursor: undefined };
  }
  const children = await listTenants({ parentId: current, limit: PAGE_SIZE, cursor: state.cursor });
  const next = [...(state.next ?? []), ...children.items.map((c) => c.id)];
  if (next.length > MAX_FRONTIER) throw new Error(`tenant ${t.tenantId}: more than ${MAX_FRONTIER} tenants on one level of the hierarchy`);
  if (children.cursor) return { ...state, next, cursor: children.cursor };
  return { ...state, level: rest, next, phase: 'members', cursor: undefined };
}

/** Seconds until `at` (epoch ms), rounded up; 0 when due (within a second). */
export const secondsUntil = (at: number | undefined): number => (at === undefined || at - clock() < 1000 ? 0 : Math.ceil((at - clock()) / 1000));

/** The targets of a request: its `to`, or the users of the bulk job it runs. */
export const requestTargets = (req: RequestRecord): Target[] => (req.bulkJobId ? [{ kind: 'bulk', jobId: req.bulkJobId }] : targetsOf(req.message.to).map(toTarget));

/**
 * Expands a send request's `to` page by page and emits delivery jobs in chunks. When the budget
 * of one invocation (recipients or time) runs out it saves its progress on the request and
 * re-enqueues itself with that state, so any size of audience is many short invocations.
 */
export async function expandSend(job: SendJob, context: Context): Promise<void> {
  const req = await getRequest(job.requestId);
  if (!req) {
    logger.error('send job for an unknown request', { requestId: job.requestId });
    return;
  }
  const wait = secondsUntil(req.dueAt === undefined ? undefined : Math.min(req.dueAt, req.expiresAt ?? Infinity));
  if (wait > 0) {
    // A delayed send: hop through the queue (at most 15 minutes a hop) until it is due, or until it
    // expires if that comes first (then it is expanded, and each recipient ends UNDELIVERABLE).
    await enqueueFanout([job], wait);
    return;
  }
  const targets = requestTargets(req);
  const out = new Emitter(req, dedupeMode(targets));
  let state: State = job.state ?? { target: 0, emitted: 0 };
  while (state.target < targets.length) {
    if (out.pending >= MAX_PER_INVOCATION || context.getRemainingTimeInMillis() < RESERVE_MS) {
      await out.flush();
      state = { ...state, emitted: state.emitted + out.emitted };
      await updateRequest({ ...req, fanout: { done: false, emitted: state.emitted, state } });
      await enqueueFanout([{ ...job, state }]);
      return;
    }
    state = await step(targets[state.target], state, out);
  }
  await out.flush();
  await updateRequest({ ...req, fanout: { done: true, emitted: state.emitted + out.emitted } });
  logger.info('send expanded', { requestId: req.requestId, recipients: state.emitted + out.emitted });
}
