import type { AudienceDefinition } from '../domain/audience';
import { GSI1, keys } from './keys';
import { deleteItem, getItem, queryAll, queryPage, updateDoc, upsertItem, type StoredItem } from './table';

export interface Audience extends AudienceDefinition {
  id: string;
  name: string;
  description: string;
  /** Incremented on every save; members carry the version that admitted them. */
  version: number;
  created_at: string;
  updated_at: string;
}

export interface AudienceMember {
  member_id: string;
  audience_id: string;
  audience_version: number;
  added_at: string;
  reason: string;
}

const fields = (id: string) => ({ _t: 'Audience', ...keys.audienceIndex(id) });

export async function getAudience(audienceId: string): Promise<Audience | undefined> {
  const item = await getItem(keys.audience(audienceId));
  return item ? (JSON.parse(item.doc) as Audience) : undefined;
}

/** Creates or updates an audience, bumping its version (which starts a backfill). */
export function saveAudience(audienceId: string, change: (current: Audience | undefined) => Omit<Audience, 'version' | 'created_at' | 'updated_at'>): Promise<Audience> {
  const now = new Date().toISOString();
  return updateDoc<Audience>(
    keys.audience(audienceId),
    (current) => ({ ...change(current), version: (current?.version ?? 0) + 1, created_at: current?.created_at ?? now, updated_at: now }),
    () => fields(audienceId),
  );
}

export function deleteAudience(audienceId: string): Promise<boolean> {
  return deleteItem(keys.audience(audienceId));
}

export async function listAudiences(limit: number, cursor?: string): Promise<{ items: Audience[]; cursor?: string }> {
  const page = await queryPage({ index: GSI1, partition: keys.audiencesCollection, limit, cursor });
  return { items: page.items.map((i) => JSON.parse(i.doc) as Audience), cursor: page.cursor };
}

/** Every audience definition (a workspace has tens to hundreds), for re-evaluating one user. */
export async function allAudiences(): Promise<Audience[]> {
  const out: Audience[] = [];
  for await (const page of queryAll({ index: GSI1, partition: keys.audiencesCollection })) out.push(...page.map((i) => JSON.parse(i.doc) as Audience));
  return out;
}

/** `added_at` is the item's first write (`created`, kept by every later upsert). */
const toMember = (item: StoredItem): AudienceMember => ({
  ...(JSON.parse(item.doc) as Pick<AudienceMember, 'member_id' | 'audience_id' | 'reason'>),
  audience_version: Number(item.version),
  added_at: new Date(Number(item.created)).toISOString(),
});

/** Adds a member, or refreshes the version that admits it. */
export async function putMember(audienceId: string, userId: string, version: number): Promise<void> {
  await upsertItem(keys.audienceMember(audienceId, userId), {
    _t: 'AudienceMember',
    doc: JSON.stringify({ member_id: userId, audience_id: audienceId, reason: 'filter matched' }),
    version,
    ...keys.audienceMemberIndex(userId, audienceId),
  });
}

export function deleteMember(audienceId: string, userId: string): Promise<boolean> {
  return deleteItem(keys.audienceMember(audienceId, userId));
}

export async function listMembers(audienceId: string, limit: number, cursor?: string): Promise<{ items: AudienceMember[]; cursor?: string }> {
  const page = await queryPage({ partition: keys.audience(audienceId).pk, prefix: 'MEMBER#', limit, cursor });
  return { items: page.items.map(toMember), cursor: page.cursor };
}

/** The audiences a user is currently a member of (gsi1), by audience id -> admitting version. */
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
