import type { Context } from 'aws-lambda';
import { now as clock } from '../shared/clock';
import { dedupeMode, recipientKey, type DedupeMode, messageIdFor, slotMessageId, targetsOf, toDestination, type Destination } from '../domain/send';
import { putOutbox, type Outbox } from '../store/outbox';
import { enqueueDelivery, enqueueFanout, type DeliveryRecipient, type FanoutState, type SendJob, type TenantWalk, RECIPIENTS_PER_JOB } from '../shared/jobs';
import { logger } from '../shared/logger';
import { bulkStep } from './bulk-fanout';
import { getAudience, listMembers } from '../store/audiences';
import { findLists, getList, listSubscribers, type Subscription } from '../store/lists';
import { delaySecondsUntil, packBySize, sqsSafeJson } from '../shared/queue';
import {
  claimFanout,
  failRequest,
  getMessage,
  getRequest,
  newMessageRecord,
  releaseFanout,
  saveFanout,
  writeMessage,
  type FanoutOwner,
  type RequestRecord,
} from '../store/messages';
import { QUEUES } from '../shared/topology';
import { getMembership, getTenant, listTenantMembers, MAX_TENANT_DEPTH, nextChild } from '../store/tenants';
import { mapLimit } from '../shared/pool';

/**
 * Bytes of one delivery job at most (as sent: escaped JSON), whatever its recipients carry (each
 * member's membership profile, an inline profile): a batch of ten stays well inside both SQS's
 * 1 MiB per batch (queue.ts splits by bytes too) and Lambda's 6 MB event payload.
 */
export const JOB_MAX_BYTES = 256 * 1024;
/** Fan-out invocations of one request that fail in a row before it ends for good (FANOUT_FAILED). */
export const MAX_FANOUT_ATTEMPTS = 3;
/**
 * How long one invocation holds a request's fan-out (longer than the worker can run): nobody else
 * advances it meanwhile, and only once it expires may the sweeper start a new chain.
 */
export const FANOUT_LEASE_MS = QUEUES.fanout.timeoutSeconds * 1000 + 30_000;
/** Rows read per page of a list, audience or tenant. */
const PAGE_SIZE = 250;
/** Recipients one invocation expands before it hands over to a fresh one. */
export const MAX_PER_INVOCATION = 5000;
/** Time an invocation keeps in reserve to flush and re-enqueue. */
const RESERVE_MS = 15_000;
/** Index reads one tenant target's walk may make: a hard stop, whatever happens to the tree meanwhile. */
export const MAX_WALK_STEPS = 2_000_000;

/** A send that can never be expanded (a corrupt tenant tree): it ends with this reason in its log. */
export class FanoutFailure extends Error {}

type State = FanoutState;
/** A recipient before its message id; `shared`: a tenant member who is in other tenants too. */
type Candidate = Omit<DeliveryRecipient, 'messageId'> & { shared?: boolean };
const strip = ({ shared: _, ...r }: DeliveryRecipient & { shared?: boolean }): DeliveryRecipient => r;

/**
 * Buffers expanded recipients and emits them as delivery jobs, through the request's outbox: each
 * flush first writes its jobs and the fan-out state after them to an outbox item keyed by how many
 * recipients were emitted before it, conditional on there being none, and only then sends them. A
 * replayed invocation (same saved state, so the same keys) that finds an outbox there sends that
 * outbox's jobs again and goes on from its state, whatever its own pages held meanwhile (members
 * added or removed since): a recipient is only ever in one job, and its message id names its slot
 * there (slotMessageId), stable however often the fan-out runs. When a user may be reached twice,
 * each recipient's message record is created here first (conditionally) under a message id derived
 * from the recipient: the first reach wins and keeps its tenant context, a later reach is skipped.
 * A bulk run's ids are derived from the recipient too (the bulk API names them before delivery).
 */
class Emitter {
  private buffer: (Candidate & { messageId?: string; recorded?: boolean })[] = [];
  private seen = new Set<string>();
  /** Recipients this invocation emitted (its own, or an earlier run's from the outbox). */
  emitted = 0;

  constructor(
    private readonly req: RequestRecord,
    private readonly dedupe: DedupeMode,
    /** Recipients emitted before this invocation (the saved state's `emitted`). */
    private readonly base: number,
  ) {}

  add(r: Candidate, reach: string): Promise<void> {
    return this.addMany([r], reach);
  }

  /** Adds a page of recipients; the dedupe checks of a page run concurrently, in page order of emission. */
  async addMany(rs: Candidate[], reach: string): Promise<void> {
    const fresh: Candidate[] = [];
    for (const r of rs) {
      const key = recipientKey(r);
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      fresh.push(r);
    }
    const keep = await mapLimit(fresh, 16, async (r) => {
      if (this.dedupe === 'none' || (this.dedupe === 'members' && !r.shared)) {
        return this.req.bulkJobId ? { ...r, messageId: messageIdFor(this.req.requestId, recipientKey(r)) } : r;
      }
      const recorded = { ...r, messageId: messageIdFor(this.req.requestId, recipientKey(r)), recorded: true };
      return (await this.claimReach(strip(recorded), reach)) ? recorded : undefined;
    });
    for (const r of keep) if (r) this.buffer.push(r);
  }

  private async claimReach(r: DeliveryRecipient, reach: string): Promise<boolean> {
    const record = newMessageRecord(this.req, r, 'ENQUEUED', clock(), reach);
    if (await writeMessage(record, 'absent')) return true;
    const existing = await getMessage(this.req.requestId, r.messageId.slice(this.req.requestId.length + 1));
    return existing?.record.reach === reach && existing.record.status === 'ENQUEUED';
  }

  /** Enough buffered for a flush of whole jobs (ten of them). */
  get full(): boolean {
    return this.buffer.length >= RECIPIENTS_PER_JOB * 10;
  }

  /**
   * Sends what is buffered, through the outbox; `next` is where the fan-out stands after it. Returns
   * where to go on from: `next`, or the state an earlier run of this invocation stored with the
   * outbox it finds (and sends again).
   */
  async flush(next: State): Promise<State> {
    if (!this.buffer.length) return next;
    const outbox = this.base + this.emitted;
    // Jobs of up to 25 recipients and JOB_MAX_BYTES (a recipient larger than that alone; 40 bytes for its id).
    const envelope = sqsSafeJson({ type: 'deliver', requestId: this.req.requestId, recipients: [] }).length;
    const runs = packBySize(this.buffer, (r) => sqsSafeJson(r).length + 40, JOB_MAX_BYTES - envelope, RECIPIENTS_PER_JOB).map((run, job) =>
      run.map((r, slot) => strip({ ...r, messageId: r.messageId ?? slotMessageId(this.req.requestId, { outbox, job, slot }) })),
    );
    const mine: Outbox = { jobs: runs, next: { ...next, emitted: this.base } };
    const sent = (await putOutbox(this.req.requestId, outbox, mine)) ?? mine;
    await enqueueDelivery(sent.jobs.map((recipients) => ({ type: 'deliver' as const, requestId: this.req.requestId, recipients })));
    this.emitted += sent.jobs.reduce((n, job) => n + job.length, 0);
    this.buffer = [];
    // The loop adds what this invocation emitted to the state's count as it stood at its start.
    return { ...sent.next, emitted: this.base };
  }

  get pending(): number {
    return this.buffer.length + this.emitted;
  }
}

/** A subscriber's `preferences` on the list, carried to delivery (read with the page: no read of its own). */
const subscribed = (s: Subscription): Pick<DeliveryRecipient, 'subscriptionPreferences'> =>
  s.preferences && Object.keys(s.preferences).length ? { subscriptionPreferences: s.preferences } : {};

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
async function step(t: Destination, state: State, out: Emitter, inlinePreferences = false): Promise<State> {
  const reach = `${state.target}`;
  // Recipients of a list, pattern, audience or tenant share their entry's data and `preferences`: referenced, not copied.
  const ref = inlinePreferences ? { target: state.target } : {};
  const data = t.kind !== 'bulk' && (t.data !== undefined || inlinePreferences) ? { target: state.target } : {};
  const done = (): State => ({ target: state.target + 1, emitted: state.emitted });
  switch (t.kind) {
    case 'user':
      await out.add({ userId: t.userId, inline: t.inline, data: t.data, tenantId: t.tenantId, ...ref }, reach);
      return done();
    case 'inline':
      await out.add({ inline: t.inline, data: t.data, tenantId: t.tenantId, ...ref }, reach);
      return done();
    case 'list': {
      if (state.cursor === undefined) {
        const list = await getList(t.listId);
        if (!list || list.archived) return done();
      }
      const page = await listSubscribers(t.listId, PAGE_SIZE, state.cursor);
      for (const s of page.items)
        if (await passesFilters(s.recipientId, t.memberOf)) await out.add({ userId: s.recipientId, ...data, listId: t.listId, ...subscribed(s) }, reach);
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
      for (const s of page.items)
        if (await passesFilters(s.recipientId, t.memberOf))
          await out.add({ userId: s.recipientId, ...data, listId: state.list, ...subscribed(s) }, `${reach}:${state.list}`);
      if (page.cursor) return { ...state, cursor: page.cursor };
      const [next, ...rest] = state.level ?? [];
      return { ...state, list: next, level: rest, cursor: undefined };
    }
    case 'audience': {
      if (state.cursor === undefined && !(await getAudience(t.audienceId))) return done();
      const page = await listMembers(t.audienceId, PAGE_SIZE, state.cursor);
      for (const m of page.items)
        if (await passesFilters(m.member_id, t.memberOf)) await out.add({ userId: m.member_id, ...data, audienceId: t.audienceId }, reach);
      return page.cursor ? { ...state, cursor: page.cursor } : done();
    }
    case 'tenant':
      return tenantStep(t, state, out, reach, inlinePreferences);
    case 'bulk':
      return bulkStep(t, state, out);
  }
}

/**
 * A tenant target: its members, then with include_children its descendants' and with
 * include_parent its ancestors', nearest first. Level by level (iterative deepening, see
 * TenantWalk in shared/jobs.ts): pass L emits the members of the ancestor L up, then walks down
 * depth-first to the tenants L below and emits theirs. Each call makes one index read. A tenant met
 * again on the way down or up (a cycle), a tree deeper than MAX_TENANT_DEPTH, or a walk past
 * MAX_WALK_STEPS reads throws FanoutFailure: the send ends, it never loops.
 */
async function tenantStep(t: Extract<Destination, { kind: 'tenant' }>, state: State, out: Emitter, reach: string, inlinePreferences: boolean): Promise<State> {
  const root = t.tenantId;
  const finish = (): State => ({ target: state.target + 1, emitted: state.emitted });
  const at = (walk: TenantWalk, cursor?: string): State => ({ ...state, walk, cursor });
  const corrupt = (why: string) => new FanoutFailure(`tenant ${root}: the tenant hierarchy is corrupt (${why}); the send stopped there`);
  const nextLevel = (w: TenantWalk): State => {
    const more = (t.includeParent && !w.upDone) || (t.includeChildren && !w.downDone);
    if (!more) return finish();
    if (w.level >= MAX_TENANT_DEPTH) throw corrupt(`deeper than ${MAX_TENANT_DEPTH} tenants`);
    const next = { ...w, level: w.level + 1 };
    return t.includeParent && !next.upDone ? at({ ...next, mode: 'up' }) : downPass(next);
  };
  const downPass = (w: TenantWalk): State => (t.includeChildren && !w.downDone ? at({ ...w, mode: 'down', path: [root], found: false }) : nextLevel(w));
  const enter = (w: TenantWalk, path: string[], child: string): State => {
    if (path.includes(child)) throw corrupt(`${child} is its own ancestor`);
    if (path.length >= MAX_TENANT_DEPTH) throw corrupt(`deeper than ${MAX_TENANT_DEPTH} tenants`);
    const next = [...path, child];
    return at({ ...w, path: next, mode: next.length - 1 === w.level ? 'members' : 'down' });
  };
  const members = async (tenantId: string): Promise<string | undefined> => {
    const page = await listTenantMembers(tenantId, PAGE_SIZE, state.cursor);
    const data = t.data === undefined && !inlinePreferences ? {} : { target: state.target };
    await out.addMany(
      page.items.map((m) => ({ userId: m.user_id, ...data, fanoutTenantId: tenantId, membershipProfile: m.profile, shared: m.shared })),
      `${reach}:${tenantId}`,
    );
    return page.cursor;
  };

  const current = state.walk;
  if (!current) {
    if (!(await getTenant(root))) return finish();
    return at({ level: 0, path: [root], mode: 'members', found: false, ...(t.includeParent ? { ups: [root] } : {}), steps: 0 });
  }
  if (current.steps >= MAX_WALK_STEPS) throw corrupt(`still walking after ${MAX_WALK_STEPS} reads`);
  const w: TenantWalk = { ...current, steps: current.steps + 1 };
  switch (w.mode) {
    case 'members': {
      const cursor = await members(w.path.at(-1)!);
      return cursor ? at(w, cursor) : at({ ...w, found: true, mode: 'next' });
    }
    case 'down': {
      const child = await nextChild(w.path.at(-1)!);
      return child ? enter(w, w.path, child) : at({ ...w, mode: 'next' });
    }
    case 'next': {
      const left = w.path.at(-1)!;
      const path = w.path.slice(0, -1);
      // Back at the target: this pass is over; a pass that reached nothing `level` deep was the last.
      if (!path.length) return nextLevel({ ...w, path, downDone: w.downDone || !w.found });
      const sibling = await nextChild(path.at(-1)!, left);
      return sibling ? enter(w, path, sibling) : at({ ...w, path, mode: 'next' });
    }
    case 'up': {
      const ups = w.ups ?? [root];
      const parent = (await getTenant(ups.at(-1)!))?.parent_tenant_id;
      if (!parent) return downPass({ ...w, upDone: true });
      if (ups.includes(parent)) throw corrupt(`${parent} is its own ancestor`);
      if (ups.length >= MAX_TENANT_DEPTH) throw corrupt(`deeper than ${MAX_TENANT_DEPTH} tenants`);
      return at({ ...w, ups: [...ups, parent], mode: 'ancestor' });
    }
    case 'ancestor': {
      const cursor = await members(w.ups!.at(-1)!);
      return cursor ? at(w, cursor) : downPass(w);
    }
  }
}

/** The targets of a request: its `to`, or the users of the bulk job it runs. */
export const requestTargets = (req: RequestRecord): Destination[] =>
  req.bulkJobId ? [{ kind: 'bulk', jobId: req.bulkJobId }] : targetsOf(req.message.to).map(toDestination);

/**
 * Expands a send request's `to` page by page and emits delivery jobs in chunks. When the budget
 * of one invocation (recipients or time) runs out it saves its progress on the request and
 * re-enqueues itself, so any size of audience is many short invocations. Exactly one chain of jobs
 * advances a request: a job runs only if the request names its chain (`seq`) and it wins the
 * lease (claimFanout), emits only while it holds it, and hands over to the chain's next job with
 * a write conditional on that lease (saveFanout). A second chain (the sweeper's, under a backlog)
 * makes the first one's jobs stale: they stop without emitting.
 */
export async function expandSend(job: SendJob, context: Context): Promise<void> {
  const req = await getRequest(job.requestId);
  if (!req) {
    logger.error('send job for an unknown request', { requestId: job.requestId });
    return;
  }
  const due = req.dueAt === undefined ? undefined : Math.min(req.dueAt, req.expiresAt ?? Infinity);
  const now = clock();
  // Due within a second counts as due, as in the delivery worker.
  const wait = due === undefined || due - now < 1000 ? 0 : delaySecondsUntil(due, now);
  if (wait > 0) {
    // A delayed send: hop through the queue (at most 15 minutes a hop) until it is due, or until it
    // expires if that comes first (then it is expanded, and each recipient ends UNDELIVERABLE).
    await enqueueFanout([job], wait);
    return;
  }
  const seq = job.seq ?? 0;
  if (req.fanout?.done) return; // expanded already: a duplicate or late job
  if ((req.fanout?.seq ?? 0) !== seq) {
    logger.info('a newer fan-out chain owns this request; this job stops', { requestId: req.requestId, seq, owner: req.fanout?.seq });
    return;
  }
  const owner: FanoutOwner = { seq, lease: clock() + FANOUT_LEASE_MS };
  const tries = await claimFanout(req.requestId, seq, clock(), owner.lease);
  if (tries === undefined) {
    logger.info('another invocation holds this fan-out; this job stops', { requestId: req.requestId, seq });
    return;
  }
  if (tries > MAX_FANOUT_ATTEMPTS) {
    const reason = `the fan-out failed ${tries - 1} times in a row; the last error: ${req.fanout?.lastError ?? 'unknown'}`;
    await failRequest(req.requestId, owner, reason, req.fanout?.emitted ?? 0);
    logger.error('send expansion failed for good', { requestId: req.requestId, reason });
    return;
  }
  const targets = requestTargets(req);
  // Entries with `to.preferences`: their recipients carry the entry's index (resolve.ts reads them there).
  const withPreferences = req.bulkJobId ? [] : targetsOf(req.message.to).map((e) => e.preferences != null);
  let state: State = req.fanout?.state ?? { target: 0, emitted: 0 };
  const out = new Emitter(req, dedupeMode(targets), state.emitted);
  try {
    // The last flush may find an earlier run's outbox that puts the fan-out back before the end.
    while (state.target < targets.length) {
      if (out.pending >= MAX_PER_INVOCATION || context.getRemainingTimeInMillis() < RESERVE_MS) {
        state = await out.flush(state);
        state = { ...state, emitted: state.emitted + out.emitted };
        if (!(await saveFanout(req.requestId, owner, { done: false, emitted: state.emitted, state }))) {
          logger.warn('the fan-out lease was lost; this chain stops', { requestId: req.requestId, seq });
          return;
        }
        await enqueueFanout([{ type: 'send', requestId: req.requestId, seq: seq + 1 }]);
        return;
      }
      state = await step(targets[state.target], state, out, withPreferences[state.target]);
      // Flushes happen between steps, so the state stored with an outbox is one to go on from.
      if (out.full || state.target >= targets.length) state = await out.flush(state);
    }
    await saveFanout(req.requestId, owner, { done: true, emitted: state.emitted + out.emitted });
    logger.info('send expanded', { requestId: req.requestId, recipients: state.emitted + out.emitted });
  } catch (e) {
    if (!(e instanceof FanoutFailure)) {
      // Retried through the queue (and, if the job is lost, by the sweeper) until MAX_FANOUT_ATTEMPTS;
      // the lease ends now so the retry need not wait for it.
      await releaseFanout(req.requestId, owner, (e as Error).message ?? String(e)).catch((undo: unknown) =>
        // The lease then runs out by itself: the retry waits for it.
        logger.warn('could not release the fan-out lease after a failure', { requestId: req.requestId, error: undo as Error }),
      );
      throw e;
    }
    // Whatever was expanded before the failure is delivered (each of those recipients ends in a
    // terminal status); the request ends with the reason in its log, and nothing re-runs it.
    await out.flush(state);
    await failRequest(req.requestId, owner, e.message, state.emitted + out.emitted);
    logger.error('send expansion failed for good', { requestId: req.requestId, reason: e.message, recipients: state.emitted + out.emitted });
  }
}
