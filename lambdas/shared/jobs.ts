import { z } from 'zod';
import { config, required } from './config';
import { enqueue } from './queue';

/**
 * Jobs on the fan-out queue. Each is small and resumable: a long piece of work (a backfill over
 * every profile, a send to a large tenant) does one page and re-enqueues itself with a cursor.
 */
export const audienceUserJob = z.object({ type: z.literal('audience-user'), userId: z.string() });
export const audienceBackfillJob = z.object({
  type: z.literal('audience-backfill'),
  audienceId: z.string(),
  version: z.number().int(),
  /** 'scan' walks the profile shards; 'prune' then removes members the new version no longer holds. */
  phase: z.enum(['scan', 'prune']),
  shard: z.number().int().min(0),
  cursor: z.string().optional(),
});

/** A deleted tenant's memberships are removed page by page (only those older than the deletion). */
export const tenantCleanupJob = z.object({ type: z.literal('tenant-cleanup'), tenantId: z.string(), deletedAt: z.number(), cursor: z.string().optional() });

export type AudienceUserJob = z.infer<typeof audienceUserJob>;
export type AudienceBackfillJob = z.infer<typeof audienceBackfillJob>;

export type TenantCleanupJob = z.infer<typeof tenantCleanupJob>;

export const fanoutJob = z.discriminatedUnion('type', [audienceUserJob, audienceBackfillJob, tenantCleanupJob]);
export type FanoutJob = z.infer<typeof fanoutJob>;

let fanoutUrl: string | undefined;
export function enqueueFanout(jobs: FanoutJob[]): Promise<void> {
  fanoutUrl ??= required(config.FANOUT_QUEUE_URL, 'FANOUT_QUEUE_URL');
  return enqueue(fanoutUrl, jobs.map((body) => ({ body })));
}
