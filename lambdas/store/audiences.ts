import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { FilterConfig } from '../domain/audience';
import { ddb } from '../shared/aws';
import { GSI1, keys } from './keys';
import { claimChainStep } from './job-claims';
import { changed, conditional, expectation, expectedOf, newRev, retryOnConflict } from './conditional';
import { batchGet, deleteItem, getItem, parseDoc, queryAll, queryPage, TABLE, upsertItem, type StoredItem } from './table';
import { now as clockNow } from '../shared/clock';

/** A filter node as PUT /audiences/:id stored it (domain/audience validated it on the way in): read structurally. */
const filterConfig: z.ZodType<FilterConfig> = z.lazy(() =>
  z.looseObject({
    operator: z.string(),
    path: z.string().optional(),
    value: z.union([z.string(), z.array(z.string())]).optional(),
    filters: z.array(filterConfig).optional(),
  }),
);

const audience = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  operator: z.enum(['AND', 'OR']).nullish(),
  filter: z.object({ filters: z.array(filterConfig) }).nullish(),
  /**
   * The audience's generation: a new one on every save, from a counter that survives the
   * audience's deletion, so a re-created audience never reuses one. Members carry the generation
   * that admitted them.
   */
  version: z.number(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Audience = z.infer<typeof audience>;
/** What an audience item stores (saveAudience writes it whole); keys beyond these are kept as stored. */
export const audienceSchema: z.ZodType<Audience> = audience.loose();

/** An audience as read, with the item's revision: member writes are conditional on it. */
export interface AudienceRead {
  audience: Audience;
  rev: string;
}

export interface AudienceMember {
  member_id: string;
  audience_id: string;
  audience_version: number;
  added_at: string;
  reason: string;
}

const fields = (id: string) => ({ _t: 'Audience', ...keys.audienceIndex(id) });

/** The generation counter of an audience id: kept when the audience is deleted. */

const toRead = (item: StoredItem): AudienceRead => ({ audience: parseDoc(item, audienceSchema), rev: String(item.rev) });

export async function getAudience(audienceId: string): Promise<Audience | undefined> {
  return (await readAudience(audienceId))?.audience;
}

/** The audience and its revision (a consistent read). */
export async function readAudience(audienceId: string): Promise<AudienceRead | undefined> {
  const item = await getItem(keys.audience(audienceId));
  return item ? toRead(item) : undefined;
}

/** Takes the next generation of an audience id; `floor` starts a counter (audiences saved before it existed). */
async function nextGeneration(audienceId: string, floor: number): Promise<number> {
  const out = await ddb.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: keys.audienceGeneration(audienceId),
      UpdateExpression: 'SET #g = if_not_exists(#g, :floor) + :one, #t = :t',
      ExpressionAttributeNames: { '#g': 'generation', '#t': '_t' },
      ExpressionAttributeValues: { ':floor': floor, ':one': 1, ':t': 'AudienceGeneration' },
      ReturnValues: 'UPDATED_NEW',
    }),
  );
  return Number(out.Attributes?.generation);
}

/**
 * Creates or updates an audience under a new generation (which starts a backfill). Generations
 * only grow: each save takes the next one after reading the audience, and writes only if the
 * audience is still as read (else it reads again and takes another).
 */
export async function saveAudience(
  audienceId: string,
  change: (current: Audience | undefined) => Omit<Audience, 'version' | 'created_at' | 'updated_at'>,
): Promise<Audience> {
  return retryOnConflict(
    async () => {
      const item = await getItem(keys.audience(audienceId));
      const current = item ? parseDoc(item, audienceSchema) : undefined;
      const version = await nextGeneration(audienceId, current?.version ?? 0);
      const now = new Date(clockNow()).toISOString();
      const next: Audience = { ...change(current), version, created_at: current?.created_at ?? now, updated_at: now };
      const written = await upsertItem(keys.audience(audienceId), { ...fields(audienceId), doc: JSON.stringify(next) }, expectedOf(item));
      if (!written) throw changed(`Audience ${audienceId}`);
      return next;
    },
    { attempts: 10 },
  );
}

export function deleteAudience(audienceId: string): Promise<boolean> {
  return deleteItem(keys.audience(audienceId));
}

export async function listAudiences(limit: number, cursor?: string): Promise<{ items: Audience[]; cursor?: string }> {
  const page = await queryPage({ index: GSI1, partition: keys.audiencesCollection, limit, cursor });
  return { items: page.items.map((i) => parseDoc(i, audienceSchema)), cursor: page.cursor };
}

/**
 * Every audience definition (a workspace has tens to hundreds), for re-evaluating one user. Read
 * through gsi1, so a copy may lag behind a save: member writes made from it are conditional on its
 * revision and fail (to be decided again from consistent reads) when it did.
 */
export async function allAudiences(): Promise<AudienceRead[]> {
  const out: AudienceRead[] = [];
  for await (const page of queryAll({ index: GSI1, partition: keys.audiencesCollection })) out.push(...page.map(toRead));
  return out;
}

/** Why a member item was written: the only reason a member is admitted here. */
export const MEMBER_REASON = 'filter matched';

/** What a member item stores in its document (the generation is an attribute). */
const memberSchema = z.looseObject({ member_id: z.string(), audience_id: z.string(), reason: z.string() });

/** `added_at` is the item's first write (`created`, kept by every later write). */
const toMember = (item: StoredItem): AudienceMember => ({
  ...parseDoc(item, memberSchema),
  audience_version: Number(item.version),
  added_at: new Date(Number(item.created)).toISOString(),
});

/** One user's member item, if any (a consistent read). */
export async function getMember(audienceId: string, userId: string): Promise<AudienceMember | undefined> {
  const item = await getItem(keys.audienceMember(audienceId, userId));
  return item ? toMember(item) : undefined;
}

/** The user's member items of these audiences (consistent reads), by audience id. */
export async function getMembers(audienceIds: string[], userId: string): Promise<Map<string, AudienceMember>> {
  const items = await batchGet(
    audienceIds.map((a) => keys.audienceMember(a, userId)),
    { consistent: true },
  );
  return new Map(items.map((item) => toMember(item)).map((m) => [m.audience_id, m]));
}

/** These users' member items of one audience (consistent reads), by user id. */
export async function getMembersOf(audienceId: string, userIds: string[]): Promise<Map<string, AudienceMember>> {
  if (!userIds.length) return new Map();
  const items = await batchGet(
    userIds.map((u) => keys.audienceMember(audienceId, u)),
    { consistent: true },
  );
  return new Map(items.map((item) => toMember(item)).map((m) => [m.member_id, m]));
}

/**
 * What a membership decision was made from: the audience as read (undefined: it did not exist)
 * and the profile's revision (undefined: there was no profile). A member write made from it only
 * succeeds if both are still so when it lands, so a decision made from an older profile revision
 * or an older audience generation never overwrites a newer one (it fails, and is made again).
 */
export interface Basis {
  audience: AudienceRead | undefined;
  profileRev: string | undefined;
}

const profileCheck = (userId: string, rev: string | undefined) => ({
  ConditionCheck: {
    TableName: TABLE,
    Key: keys.profile(userId),
    ...expectation(rev === undefined ? 'absent' : { rev }),
  },
});

const audienceCheck = (audienceId: string, read: AudienceRead | undefined) => ({
  ConditionCheck: {
    TableName: TABLE,
    Key: keys.audience(audienceId),
    ...expectation(read === undefined ? 'absent' : { rev: read.rev }),
  },
});

/**
 * True if written; false if a condition failed (the basis changed). A concurrent transaction on the
 * same items is contention: the same transaction, conditional on the same basis, runs again.
 */
const transact = (items: Record<string, unknown>[]): Promise<boolean> =>
  retryOnConflict(() => conditional(new TransactWriteCommand({ TransactItems: items as never })), { attempts: 3 });

/** Admits the user under the audience's generation, if the basis still holds; false if it no longer does. */
export function admitMember(userId: string, basis: Basis & { audience: AudienceRead; profileRev: string }): Promise<boolean> {
  const { audience } = basis.audience;
  const now = clockNow();
  return transact([
    audienceCheck(audience.id, basis.audience),
    profileCheck(userId, basis.profileRev),
    {
      Update: {
        TableName: TABLE,
        Key: keys.audienceMember(audience.id, userId),
        UpdateExpression:
          'SET #created = if_not_exists(#created, :now), #updated = :now, #t = :t, #doc = :doc, #version = :version, #profileRev = :profileRev, #rev = :rev, #gpk = :gpk, #gsk = :gsk',
        ExpressionAttributeNames: {
          '#created': 'created',
          '#updated': 'updated',
          '#t': '_t',
          '#doc': 'doc',
          '#version': 'version',
          '#profileRev': 'profile_rev',
          '#rev': 'rev',
          '#gpk': 'gsi1pk',
          '#gsk': 'gsi1sk',
        },
        ExpressionAttributeValues: {
          ':now': now,
          ':t': 'AudienceMember',
          ':doc': JSON.stringify({ member_id: userId, audience_id: audience.id, reason: MEMBER_REASON }),
          ':version': audience.version,
          ':profileRev': basis.profileRev,
          ':rev': newRev(),
          ':gpk': keys.audienceMemberIndex(userId, audience.id).gsi1pk,
          ':gsk': keys.audienceMemberIndex(userId, audience.id).gsi1sk,
        },
      },
    },
  ]);
}

/**
 * Claims step `step` of a backfill chain for queue message `by` (store/job-claims.ts claimChainStep):
 * every job of a chain enqueues the next one, so without this a duplicate delivery of one job would
 * run the rest of the chain twice, and each duplicate after it would double it again.
 */
export function claimBackfillStep(audienceId: string, chain: string, step: number, by: string): Promise<boolean> {
  return claimChainStep(keys.audienceBackfill(audienceId, chain), 'AudienceBackfill', step, by);
}

/**
 * Removes the user from the audience, if the basis still holds: the audience is still as read
 * (or still absent) and, when it exists, the profile is still at the revision read (or still absent).
 */
export function removeMember(audienceId: string, userId: string, basis: Basis): Promise<boolean> {
  return transact([
    audienceCheck(audienceId, basis.audience),
    ...(basis.audience ? [profileCheck(userId, basis.profileRev)] : []),
    { Delete: { TableName: TABLE, Key: keys.audienceMember(audienceId, userId) } },
  ]);
}

export async function listMembers(audienceId: string, limit: number, cursor?: string): Promise<{ items: AudienceMember[]; cursor?: string }> {
  const page = await queryPage({ partition: keys.audience(audienceId).pk, prefix: keys.audienceMembersPrefix, limit, cursor });
  return { items: page.items.map(toMember), cursor: page.cursor };
}

/** The audiences a user is a member of, through gsi1 (may lag): by audience id -> admitting generation. */
export async function userAudiences(userId: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const page of queryAll({ index: GSI1, partition: keys.userAudiences(userId) })) {
    for (const item of page) {
      const m = toMember(item);
      out.set(m.audience_id, m.audience_version);
    }
  }
  return out;
}
