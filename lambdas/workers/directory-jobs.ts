import { matchesAudience, usesMembership } from '../domain/audience';
import { enqueueFanout, type AudienceBackfillJob, type AudienceUserJob, type TenantCleanupJob } from '../shared/jobs';
import { logger } from '../shared/logger';
import { allAudiences, deleteMember, getAudience, listMembers, putMember, userAudiences, type Audience } from '../store/audiences';
import { GSI1, keys, PROFILE_SHARDS } from '../store/keys';
import { getProfile, type Profile } from '../store/profiles';
import { deleteItem, queryPage } from '../store/table';
import { deleteMembership, getTenant, listTenantMembers, listUserTenants } from '../store/tenants';

/** Profiles evaluated per backfill job before it re-enqueues itself. */
const BACKFILL_PAGE = 200;

async function tenantIdsOf(userId: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listUserTenants(userId, 100, cursor);
    ids.push(...page.items.map((m) => m.tenant_id));
    cursor = page.cursor;
  } while (cursor);
  return ids;
}

/**
 * Re-evaluates one user against every audience after a profile or membership change, writing only
 * the differences: joins, leaves, and members admitted by an older version of the audience.
 */
export async function reevaluateUser(job: AudienceUserJob): Promise<void> {
  const [audiences, current, profile] = await Promise.all([allAudiences(), userAudiences(job.userId), getProfile(job.userId)]);
  const needsTenants = audiences.some(usesMembership);
  const subject = { profile: profile ?? {}, tenantIds: profile && needsTenants ? await tenantIdsOf(job.userId) : [] };
  const live = new Set<string>();
  for (const audience of audiences) {
    live.add(audience.id);
    const match = profile !== undefined && matchesAudience(audience, subject);
    const admittedBy = current.get(audience.id);
    if (match && admittedBy !== audience.version) await putMember(audience.id, job.userId, audience.version);
    if (!match && admittedBy !== undefined) await deleteMember(audience.id, job.userId);
  }
  // Memberships of audiences that no longer exist.
  for (const audienceId of current.keys()) if (!live.has(audienceId)) await deleteMember(audienceId, job.userId);
}

/**
 * Materialises an audience version page by page: 'scan' evaluates one page of one profile shard
 * and re-enqueues itself (next page, next shard); 'prune' then deletes members that the version
 * did not re-admit. A job whose version is no longer the audience's stops: a newer one took over.
 */
export async function backfillAudience(job: AudienceBackfillJob): Promise<void> {
  const audience = await getAudience(job.audienceId);
  if (job.phase === 'scan') {
    if (!audience || audience.version !== job.version) return;
    const page = await queryPage({ index: GSI1, partition: keys.profileShard(job.shard), limit: BACKFILL_PAGE, cursor: job.cursor });
    for (const item of page.items) {
      const userId = String(item.userId);
      const profile = JSON.parse(item.doc) as Profile;
      const tenantIds = usesMembership(audience) ? await tenantIdsOf(userId) : [];
      if (matchesAudience(audience, { profile, tenantIds })) await putMember(audience.id, userId, audience.version);
    }
    const next: AudienceBackfillJob | undefined = page.cursor
      ? { ...job, cursor: page.cursor }
      : job.shard + 1 < PROFILE_SHARDS
        ? { ...job, shard: job.shard + 1, cursor: undefined }
        : { ...job, phase: 'prune', shard: 0, cursor: undefined };
    await enqueueFanout([next]);
    return;
  }
  await prune(job, audience);
}

async function prune(job: AudienceBackfillJob, audience: Audience | undefined): Promise<void> {
  if (audience && audience.version !== job.version) return;
  const page = await listMembers(job.audienceId, BACKFILL_PAGE, job.cursor);
  for (const member of page.items) {
    if (!audience || member.audience_version < audience.version) await deleteMember(job.audienceId, member.member_id);
  }
  if (page.cursor) await enqueueFanout([{ ...job, cursor: page.cursor }]);
  else logger.info('audience materialised', { audienceId: job.audienceId, version: job.version });
}

/**
 * Removes a deleted tenant's memberships and templates, page by page; memberships made after the
 * deletion (the tenant was re-created) are kept. Each removed member's audiences are re-evaluated.
 */
export async function cleanupTenant(job: TenantCleanupJob): Promise<void> {
  if (await getTenant(job.tenantId)) {
    const page = await listTenantMembers(job.tenantId, BACKFILL_PAGE, job.cursor);
    const stale = page.items.filter((m) => m.created < job.deletedAt);
    await removeMemberships(job, stale.map((m) => m.user_id));
    if (page.cursor) await enqueueFanout([{ ...job, cursor: page.cursor }]);
    return;
  }
  const page = await queryPage({ partition: keys.tenant(job.tenantId).pk, limit: BACKFILL_PAGE, cursor: job.cursor });
  const members: string[] = [];
  for (const item of page.items) {
    if (item.sk.startsWith(keys.membersPrefix)) members.push((JSON.parse(item.doc) as { user_id: string }).user_id);
    else if (Number(item.created) < job.deletedAt) await deleteItem({ pk: item.pk, sk: item.sk });
  }
  await removeMemberships(job, members);
  if (page.cursor) await enqueueFanout([{ ...job, cursor: page.cursor }]);
}

async function removeMemberships(job: TenantCleanupJob, userIds: string[]): Promise<void> {
  for (const userId of userIds) await deleteMembership(job.tenantId, userId);
  if (userIds.length) await enqueueFanout(userIds.map((userId) => ({ type: 'audience-user' as const, userId })));
}
