import { matchesAudience, usesMembership } from '../domain/audience';
import { membershipChange, type MembershipChange } from '../domain/webhooks';
import { announce, anySubscribed, audienceCalculated, membershipEvent } from '../services/webhook-events';
import { now as clockNow } from '../shared/clock';
import { enqueueFanout, nextStep, type AudienceBackfillJob, type AudienceUserJob, type TenantCleanupJob } from '../shared/jobs';
import { logger } from '../shared/logger';
import {
  admitMember,
  allAudiences,
  claimBackfillStep,
  getMember,
  getMembers,
  getMembersOf,
  listMembers,
  MEMBER_REASON,
  readAudience,
  removeMember,
  userAudiences,
  type AudienceRead,
} from '../store/audiences';
import { changed, retryOnConflict } from '../store/conditional';
import { GSI1, keys, PROFILE_SHARDS } from '../store/keys';
import { readProfile, toProfile, touchProfile, type Profile } from '../store/profiles';
import { mayRunStep } from '../store/job-claims';
import { deleteItem, queryAll, queryPage } from '../store/table';
import { deleteMembership, getTenant, listTenantMembers, toMembership } from '../store/tenants';

/** Profiles evaluated per backfill job before it re-enqueues itself. */
const BACKFILL_PAGE = 200;
/** Attempts to land one membership decision before the job fails (and SQS retries it). */
const SETTLE_ATTEMPTS = 5;

/** The tenants the user belongs to, from the markers in the user's own partition (a consistent read, unlike gsi1). */
async function tenantIdsOf(userId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of queryAll({ partition: keys.profile(userId).pk, prefix: keys.memberOfPrefix, consistent: true }))
    ids.push(...page.map((i) => String(i.tenantId)));
  return ids;
}

/** What a user's memberships are decided from: the profile (with its revision) and, for MEMBER_OF, the user's tenants. */
interface Subject {
  profile?: { profile: Profile; rev: string };
  tenantIds: string[];
}

/**
 * The profile is read before the memberships: a membership change gives the profile a new
 * revision after it is written, so memberships read after the profile are at least that new.
 */
async function subjectOf(userId: string, needsTenants: boolean): Promise<Subject> {
  const profile = await readProfile(userId);
  return { profile, tenantIds: profile && needsTenants ? await tenantIdsOf(userId) : [] };
}

const matches = (read: AudienceRead, s: Subject): boolean =>
  s.profile !== undefined && matchesAudience(read.audience, { profile: s.profile.profile, tenantIds: s.tenantIds });

/** Membership changes a job made, announced to the outbound webhooks when it ends (D23). */
type Changes = MembershipChange[];

/** A written membership decision, as a change a receiver is told of (none for a re-admission under a new generation). */
function noteChange(
  out: Changes,
  d: { audienceId: string; userId: string; read: AudienceRead | undefined; profileRev: string | undefined; admitted: number | undefined; admit: boolean },
): void {
  const type = membershipChange(d.admitted !== undefined, d.admit);
  if (!type) return;
  out.push({
    type,
    audienceId: d.audienceId,
    userId: d.userId,
    audienceVersion: d.admit ? d.read!.audience.version : d.admitted!,
    reason: MEMBER_REASON,
    // The same decision from the same reads is the same event, whichever worker wrote it.
    basis: `${d.read?.rev ?? '-'}/${d.profileRev ?? '-'}/${d.admitted ?? '-'}`,
    at: clockNow(),
  });
}

const announceChanges = (out: Changes, context: Record<string, unknown>) => announce(out.map(membershipEvent), context);

/**
 * Writes the decision for one user and one audience (`read`: undefined when it does not exist;
 * `admitted`: the generation of the user's member item, if any), conditional on what it was
 * decided from, and notes the change in `out`. True when nothing needed writing or the write
 * landed; false when the basis had changed (the caller decides again).
 */
async function apply(
  audienceId: string,
  read: AudienceRead | undefined,
  userId: string,
  s: Subject,
  admitted: number | undefined,
  out: Changes,
): Promise<boolean> {
  const admit = read !== undefined && matches(read, s);
  if (admit ? admitted === read.audience.version : admitted === undefined) return true;
  const profileRev = s.profile?.rev;
  const written = admit
    ? await admitMember(userId, { audience: read, profileRev: profileRev! })
    : await removeMember(audienceId, userId, { audience: read, profileRev: read ? profileRev : undefined });
  if (written) noteChange(out, { audienceId, userId, read, profileRev, admitted, admit });
  return written;
}

/** Decides one user's membership of one audience from consistent reads, again until the decision lands. */
async function settle(audienceId: string, userId: string, out: Changes): Promise<void> {
  await retryOnConflict(
    async () => {
      const [read, member] = await Promise.all([readAudience(audienceId), getMember(audienceId, userId)]);
      const s = read ? await subjectOf(userId, usesMembership(read.audience)) : { tenantIds: [] };
      if (!(await apply(audienceId, read, userId, s, member?.audience_version, out))) throw changed(`The membership of a user in audience ${audienceId}`);
    },
    { attempts: SETTLE_ATTEMPTS },
  );
}

/**
 * Re-evaluates one user against every audience after a profile or membership change, writing only
 * the differences: joins, leaves, and members admitted by another generation of the audience. Each
 * write is conditional on the profile revision and audience revision it was decided from, so a
 * re-evaluation that read older data than a concurrent one can never overwrite its decision.
 */
export async function reevaluateUser(job: AudienceUserJob): Promise<void> {
  const [audiences, indexed] = await Promise.all([allAudiences(), userAudiences(job.userId)]);
  const s = await subjectOf(
    job.userId,
    audiences.some((a) => usesMembership(a.audience)),
  );
  const members = await getMembers(
    audiences.map((a) => a.audience.id),
    job.userId,
  );
  const out: Changes = [];
  for (const read of audiences) {
    const id = read.audience.id;
    if (!(await apply(id, read, job.userId, s, members.get(id)?.audience_version, out))) await settle(id, job.userId, out);
  }
  // Memberships of audiences the listing does not hold (deleted, or saved too recently for gsi1).
  const listed = new Set(audiences.map((a) => a.audience.id));
  for (const audienceId of indexed.keys()) if (!listed.has(audienceId)) await settle(audienceId, job.userId, out);
  await announceChanges(out, { userId: job.userId });
}

/**
 * Materialises an audience generation page by page: 'scan' evaluates one page of one profile
 * shard (gsi1 copies: an admission is conditional on the copy's revision, and decided again from
 * consistent reads if the profile changed since) and re-enqueues itself (next page, next shard);
 * 'prune' then decides again every member admitted by any other generation. A job whose
 * generation is no longer the audience's stops: the newer one's jobs take over. Each step of the
 * chain is claimed by the queue message `messageId` that carries it: another message with the same
 * step (enqueued by a duplicate delivery of the step before) stops.
 */
export async function backfillAudience(job: AudienceBackfillJob, messageId?: string): Promise<void> {
  if (job.chain !== undefined && messageId !== undefined && !(await claimBackfillStep(job.audienceId, job.chain, job.step ?? 0, messageId))) return;
  const read = await readAudience(job.audienceId);
  if (job.phase === 'prune') return prune(job, read);
  if (!read || read.audience.version !== job.version) return;
  const page = await queryPage({ index: GSI1, partition: keys.profileShard(job.shard), limit: BACKFILL_PAGE, cursor: job.cursor });
  const needsTenants = usesMembership(read.audience);
  const subjects: { userId: string; s: Subject }[] = [];
  for (const item of page.items) {
    const userId = String(item.userId);
    const s: Subject = { profile: { profile: toProfile(item), rev: String(item.rev) }, tenantIds: needsTenants ? await tenantIdsOf(userId) : [] };
    if (matches(read, s)) subjects.push({ userId, s });
  }
  // Who was a member before, read only when an endpoint is told of users who start matching.
  const before = (await anySubscribed('audiences:user:matched'))
    ? await getMembersOf(
        job.audienceId,
        subjects.map((m) => m.userId),
      )
    : undefined;
  const out: Changes = [];
  try {
    for (const { userId, s } of subjects) {
      // Non-matches write nothing: the prune removes members this generation did not admit.
      if (await admitMember(userId, { audience: read, profileRev: s.profile!.rev })) {
        // Without `before` (nobody subscribed) the admission is noted as a re-admission: nothing to tell.
        const admitted = before ? before.get(userId)?.audience_version : read.audience.version;
        noteChange(out, { audienceId: job.audienceId, userId, read, profileRev: s.profile!.rev, admitted, admit: true });
        continue;
      }
      if ((await readAudience(job.audienceId))?.rev !== read.rev) return;
      await settle(job.audienceId, userId, out);
    }
  } finally {
    await announceChanges(out, { audienceId: job.audienceId });
  }
  const counted = { total: (job.counted?.total ?? 0) + page.items.length, matched: (job.counted?.matched ?? 0) + subjects.length };
  const step = nextStep(job);
  const next: AudienceBackfillJob | undefined = page.cursor
    ? { ...job, ...step, cursor: page.cursor, counted }
    : job.shard + 1 < PROFILE_SHARDS
      ? { ...job, ...step, shard: job.shard + 1, cursor: undefined, counted }
      : { ...job, ...step, phase: 'prune', shard: 0, cursor: undefined, counted };
  await enqueueFanout([next]);
}

/** Members of another generation (any other: generations are never reused), or of a deleted audience. */
async function prune(job: AudienceBackfillJob, read: AudienceRead | undefined): Promise<void> {
  if (read && read.audience.version !== job.version) return;
  const page = await listMembers(job.audienceId, BACKFILL_PAGE, job.cursor);
  const out: Changes = [];
  try {
    for (const member of page.items) {
      if (read && member.audience_version === read.audience.version) continue;
      // Gone: removed unless the audience was created again meanwhile. Another generation: decided again.
      const s: Subject = { tenantIds: [] };
      if (!read && (await apply(job.audienceId, undefined, member.member_id, s, member.audience_version, out))) continue;
      await settle(job.audienceId, member.member_id, out);
    }
  } finally {
    await announceChanges(out, { audienceId: job.audienceId });
  }
  if (page.cursor) return enqueueFanout([{ ...job, ...nextStep(job), cursor: page.cursor }]);
  logger.info('audience materialised', { audienceId: job.audienceId, version: job.version });
  // A generation's materialisation is done (a deleted audience's removal is not one): `audiences:calculated`.
  if (read && job.counted) await announce([audienceCalculated(job.audienceId, job.version, job.counted)], { audienceId: job.audienceId });
}

/**
 * Removes a deleted tenant's memberships and templates, page by page; memberships made after the
 * deletion (the tenant was re-created) are kept. Each removed member's audiences are re-evaluated.
 * Each page is claimed by the queue message `messageId` that carries it, as a backfill's is.
 */
export async function cleanupTenant(job: TenantCleanupJob, messageId?: string): Promise<void> {
  if (!(await mayRunStep(job, (chain) => keys.tenantCleanup(job.tenantId, chain), 'TenantCleanup', messageId))) return;
  if (await getTenant(job.tenantId)) {
    const page = await listTenantMembers(job.tenantId, BACKFILL_PAGE, job.cursor);
    const stale = page.items.filter((m) => m.created < job.deletedAt);
    await removeMemberships(
      job,
      stale.map((m) => m.user_id),
    );
    if (page.cursor) await enqueueFanout([{ ...job, ...nextStep(job), cursor: page.cursor }]);
    return;
  }
  const page = await queryPage({ partition: keys.tenant(job.tenantId).pk, limit: BACKFILL_PAGE, cursor: job.cursor });
  const members: string[] = [];
  for (const item of page.items) {
    if (item.sk.startsWith(keys.membersPrefix)) members.push(toMembership(item).user_id);
    else if (Number(item.created) < job.deletedAt) await deleteItem({ pk: item.pk, sk: item.sk });
  }
  await removeMemberships(job, members);
  if (page.cursor) await enqueueFanout([{ ...job, ...nextStep(job), cursor: page.cursor }]);
}

async function removeMemberships(job: TenantCleanupJob, userIds: string[]): Promise<void> {
  for (const userId of userIds) {
    await deleteMembership(job.tenantId, userId);
    await touchProfile(userId);
  }
  if (userIds.length) await enqueueFanout(userIds.map((userId) => ({ type: 'audience-user' as const, userId })));
}
