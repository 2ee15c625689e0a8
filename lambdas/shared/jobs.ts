import { z } from 'zod';
import { targetsOf, type SendMessage } from '../domain/send';
import { config, required } from './config';
import { enqueue } from './queue';

/**
 * Jobs on the fan-out queue. Each is small and resumable: a long piece of work (a backfill over
 * every profile, a send to a large tenant) does one page and re-enqueues itself with a cursor.
 */
/**
 * A job that re-enqueues itself (a chain: one page a job) names its chain and its place in it: each
 * step is done by one queue message (store/job-claims.ts claimChainStep), so a duplicate delivery of
 * one job does not enqueue the rest of the chain twice (and each later duplicate double it again).
 * Without them (a job enqueued before they existed), no claim.
 */
const chainFields = { chain: z.string().optional(), step: z.number().int().min(0).optional() };

/** The place of a chained job's successor in its chain. */
export const nextStep = (job: { chain?: string; step?: number }): { step?: number } => (job.chain === undefined ? {} : { step: (job.step ?? 0) + 1 });

export const audienceUserJob = z.object({ type: z.literal('audience-user'), userId: z.string() });
export const audienceBackfillJob = z.object({
  type: z.literal('audience-backfill'),
  audienceId: z.string(),
  version: z.number().int(),
  /** 'scan' walks the profile shards; 'prune' then removes members the new version no longer holds. */
  phase: z.enum(['scan', 'prune']),
  shard: z.number().int().min(0),
  cursor: z.string().optional(),
  /** Profiles the scan has evaluated so far and how many matched (`audiences:calculated`, D23). */
  counted: z.object({ total: z.number().int().min(0), matched: z.number().int().min(0) }).optional(),
  /** The chain: one save or deletion of the audience (claimBackfillStep). */
  ...chainFields,
});

/** A deleted tenant's memberships are removed page by page (only those older than the deletion). */
export const tenantCleanupJob = z.object({
  type: z.literal('tenant-cleanup'),
  tenantId: z.string(),
  deletedAt: z.number(),
  cursor: z.string().optional(),
  /** The chain: one deletion of the tenant. */
  ...chainFields,
});

/**
 * Where a tenant target's walk stands. The walk is iterative deepening: pass `level` goes down the
 * tree depth-first from the target to the tenants exactly `level` below it and emits their members,
 * so members are reached nearest tenant first (as breadth-first would) while the whole state is one
 * root-to-tenant `path`, never a frontier. `path` is also the walk's visited set: in a parent index
 * every tenant has one parent, so a walk down can only meet a tenant again by coming back to one on
 * its own path (a cycle), which ends the send with a terminal error.
 */
export const tenantWalk = z.object({
  level: z.number().int().min(0),
  /** From the target down to the tenant being read or left. */
  path: z.array(z.string()),
  /** `down`: find the first child of the path's end; `next`: leave it for its next sibling; `members`: read its members; `up` / `ancestor`: include_parent's next ancestor and its members. */
  mode: z.enum(['members', 'down', 'next', 'up', 'ancestor']),
  /** A tenant `level` deep was reached in this pass (so the next level may hold some). */
  found: z.boolean(),
  /** include_parent: the target and the ancestors reached so far, nearest last. */
  ups: z.array(z.string()).optional(),
  upDone: z.boolean().optional(),
  downDone: z.boolean().optional(),
  /** Index reads so far: a hard cap on the walk, whatever the tree does meanwhile. */
  steps: z.number().int().min(0),
});
export type TenantWalk = z.infer<typeof tenantWalk>;

/**
 * Where a send's expansion stands (which target, which page, where in a hierarchy walk). It is
 * saved on the request item only (RequestRecord.fanout.state), never in the job, so nothing large
 * rides twice: the longest it gets is a 64-tenant walk path or one pattern page of list ids.
 */
export const fanoutState = z.object({
  target: z.number().int().min(0),
  cursor: z.string().optional(),
  /** A tenant target's walk of its hierarchy (include_children / include_parent): see tenantWalk. */
  walk: tenantWalk.optional(),
  /** A list pattern: the lists of the current pattern page still to expand. */
  level: z.array(z.string()).optional(),
  /** Lists of a list pattern: the pattern page cursor and the list being expanded. */
  listCursor: z.string().optional(),
  list: z.string().optional(),
  emitted: z.number().int().min(0),
});
export type FanoutState = z.infer<typeof fanoutState>;

/**
 * A send's expansion: one step of it, from the state saved on the request, by the fan-out chain
 * `seq` (absent: the first). Only the chain the request names may advance it; a job of an older
 * chain (the sweeper started a new one meanwhile) stops without emitting.
 */
export const sendJob = z.object({
  type: z.literal('send'),
  requestId: z.string(),
  seq: z.number().int().min(0).optional(),
});
export type SendJob = z.infer<typeof sendJob>;

/**
 * The sweeper's look at one open request: page through its message records (`cursor`), re-drive
 * those stuck unfinished, and close, postpone or re-run the request when the pages end.
 */
export const checkRequestJob = z.object({
  type: z.literal('check-request'),
  requestId: z.string(),
  /** The open marker's sort key, moved or deleted at the end, and its partition (the shard; absent: the request's own). */
  marker: z.string(),
  markerPk: z.string().optional(),
  cursor: z.string().optional(),
  seen: z.number().int().min(0).default(0),
  unfinished: z.number().int().min(0).default(0),
  /** The chain: one claim of the request's marker by a sweep. */
  ...chainFields,
});
export type CheckRequestJob = z.infer<typeof checkRequestJob>;

export type AudienceUserJob = z.infer<typeof audienceUserJob>;
export type AudienceBackfillJob = z.infer<typeof audienceBackfillJob>;

export type TenantCleanupJob = z.infer<typeof tenantCleanupJob>;

/**
 * A look at the Expo push receipts of one message's tickets (lambdas/services/expo-receipts.ts),
 * enqueued with EXPO_RECEIPT_DELAY_SECONDS of delay after the send and again while receipts are
 * missing or Expo fails. It names the configured provider whose settings (api_url, the access token)
 * to read: no secret rides in the queue.
 */
export const expoReceiptsJob = z.object({
  type: z.literal('expo-receipts'),
  messageId: z.string(),
  userId: z.string().optional(),
  providerId: z.string(),
  tickets: z.array(z.object({ id: z.string(), token: z.string() })).min(1),
  /** Errors of the receipts read by earlier checks (their tickets are no longer listed). */
  errors: z.array(z.string()).optional(),
  /** Checks made so far. */
  checks: z.number().int().min(0).default(0),
});
export type ExpoReceiptsJob = z.infer<typeof expoReceiptsJob>;

/**
 * One step of an automation run (lambdas/workers/automation-run.ts): does step `step` if the run
 * still stands there, records it, and enqueues the next. A delay's job hops (re-enqueues itself with
 * at most 15 minutes of delay) until the delay ends.
 */
export const automationStepJob = z.object({ type: z.literal('automation-step'), runId: z.string(), step: z.number().int().min(0) });
export type AutomationStepJob = z.infer<typeof automationStepJob>;

export const fanoutJob = z.discriminatedUnion('type', [
  sendJob,
  checkRequestJob,
  audienceUserJob,
  audienceBackfillJob,
  tenantCleanupJob,
  expoReceiptsJob,
  automationStepJob,
]);

/** One recipient of a delivery job: who, and what the fan-out already knows about them. */
export const deliveryRecipient = z.object({
  messageId: z.string(),
  userId: z.string().optional(),
  /** Inline profile fields of the `to` entry (highest in the profile merge). */
  inline: z.record(z.string(), z.unknown()).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  /**
   * The `to` entry (index into the request's targets) whose `data` this recipient gets, when it is
   * not copied into `data`: list, pattern, audience and tenant recipients share their entry's data,
   * which stays on the request instead of riding in every recipient of every job.
   */
  target: z.number().int().min(0).optional(),
  /** The recipient's own context.tenant_id. */
  tenantId: z.string().optional(),
  /** The tenant a fan-out reached the user through, and that membership's profile. */
  fanoutTenantId: z.string().optional(),
  membershipProfile: z.record(z.string(), z.unknown()).optional(),
  listId: z.string().optional(),
  /** The subscriber's `preferences` on that list (as stored; checked against the message at delivery). */
  subscriptionPreferences: z.record(z.string(), z.unknown()).optional(),
  /** A bulk user's own `preferences` (or its `to.preferences`), validated when the user was added: the recipient layer. */
  preferences: z.record(z.string(), z.unknown()).optional(),
  audienceId: z.string().optional(),
  /** The fan-out already wrote this recipient's message record (dedupe): read it first. */
  recorded: z.boolean().optional(),
});
export type DeliveryRecipient = z.infer<typeof deliveryRecipient>;

/** The data of a recipient's `to` entry: its own copy, else its entry's on the request (`target`). */
export function targetData(message: Pick<SendMessage, 'to'>, r: Pick<DeliveryRecipient, 'data' | 'target'>): Record<string, unknown> | undefined {
  if (r.data !== undefined || r.target === undefined) return r.data;
  return targetsOf(message.to)[r.target]?.data;
}

export const deliveryJob = z.object({
  type: z.literal('deliver'),
  requestId: z.string(),
  recipients: z.array(deliveryRecipient).min(1),
  /** Retries of recipients that failed unexpectedly (they are re-enqueued alone, with backoff). */
  attempt: z.number().int().min(0).optional(),
  /** The recipients' message records exist (a scheduled retry, a delay hop, a sweeper re-drive): read them first. */
  resume: z.boolean().optional(),
});
export type DeliveryJob = z.infer<typeof deliveryJob>;
export type FanoutJob = z.infer<typeof fanoutJob>;

let fanoutUrl: string | undefined;
export function enqueueFanout(jobs: FanoutJob[], delaySeconds?: number): Promise<void> {
  fanoutUrl ??= required(config.FANOUT_QUEUE_URL, 'FANOUT_QUEUE_URL');
  return enqueue(
    fanoutUrl,
    jobs.map((body) => ({ body, delaySeconds })),
  );
}

let deliveryUrl: string | undefined;
export function enqueueDelivery(jobs: DeliveryJob[], delaySeconds?: number): Promise<void> {
  deliveryUrl ??= required(config.DELIVERY_QUEUE_URL, 'DELIVERY_QUEUE_URL');
  return enqueue(
    deliveryUrl,
    jobs.map((body) => ({ body, delaySeconds })),
  );
}

/** Recipients per delivery job (one SQS message): fewer SQS requests per recipient. */
export const RECIPIENTS_PER_JOB = 25;
