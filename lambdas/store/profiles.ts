import { z } from 'zod';
import { keys } from './keys';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditional, newRev, withExpectation } from './conditional';
import { batchGet, deleteItem, getItem, parseDoc, TABLE, updateDoc, updateExistingDoc, upsertItem, type StoredItem } from './table';

export type Profile = Record<string, unknown>;

/**
 * The largest profile document (UTF-8 bytes of its JSON), below DynamoDB's 400 KB item limit with
 * room for the item's keys and attributes: a larger one could never be stored.
 */
export const MAX_PROFILE_BYTES = 384 * 1024;

export const profileBytes = (profile: unknown): number => Buffer.byteLength(JSON.stringify(profile));

/** A change that would make the profile larger than MAX_PROFILE_BYTES; the handler names its field. */
export class ProfileTooLarge extends Error {
  constructor(readonly bytes: number) {
    super(`the profile would be ${bytes} bytes, more than the ${MAX_PROFILE_BYTES} bytes a profile may hold`);
  }
}

function sized(profile: Profile): Profile {
  const bytes = profileBytes(profile);
  if (bytes > MAX_PROFILE_BYTES) throw new ProfileTooLarge(bytes);
  return profile;
}

const fields = (userId: string) => ({ _t: 'Profile', userId, ...keys.profileIndex(userId) });

/** What a profile item stores: any JSON object. */
const profileSchema: z.ZodType<Profile> = z.record(z.string(), z.unknown());

/** The profile in a profile item (also its gsi1 copy). */
export const toProfile = (item: StoredItem): Profile => parseDoc(item, profileSchema);

export async function getProfile(userId: string): Promise<Profile | undefined> {
  const item = await getItem(keys.profile(userId));
  return item ? toProfile(item) : undefined;
}

/** The profile and its revision (every write changes it), or undefined when there is none. */
export async function readProfile(userId: string): Promise<{ profile: Profile; rev: string } | undefined> {
  const item = await getItem(keys.profile(userId));
  return item ? { profile: toProfile(item), rev: String(item.rev) } : undefined;
}

/**
 * Gives an existing profile a new revision without changing it: what audiences decide from the
 * user's tenant memberships changed, so a decision made before that must not be written after it
 * (audience member writes are conditional on the profile's revision). No-op without a profile.
 */
export async function touchProfile(userId: string): Promise<void> {
  await conditional(
    new UpdateCommand({
      TableName: TABLE,
      Key: keys.profile(userId),
      UpdateExpression: 'SET #rev = :next',
      ...withExpectation('present', { '#rev': 'rev' }, { ':next': newRev() }),
    }),
  );
}

/** Profiles of many users in BatchGetItem rounds; users without one are absent from the map. */
export async function getProfiles(userIds: string[]): Promise<Map<string, Profile>> {
  const items = await batchGet(userIds.map((u) => keys.profile(u)));
  return new Map(items.map((item) => [String(item.userId), toProfile(item)]));
}

export async function replaceProfile(userId: string, profile: Profile): Promise<void> {
  await upsertItem(keys.profile(userId), { ...fields(userId), doc: JSON.stringify(sized(profile)) });
}

/** Creates the profile only if none is stored (a send's implicit creation); true if it did. */
export async function createProfileIfMissing(userId: string, profile: Profile): Promise<boolean> {
  return (await upsertItem(keys.profile(userId), { ...fields(userId), doc: JSON.stringify(profile) }, 'absent')) !== undefined;
}

/** POST semantics: top-level keys of `partial` replace the stored ones; creates the profile if missing. ProfileTooLarge past the limit. */
export function mergeProfile(userId: string, partial: Profile): Promise<Profile> {
  return updateDoc(
    keys.profile(userId),
    profileSchema,
    (current) => sized({ ...current, ...partial }),
    () => fields(userId),
  );
}

/** Writes `change` of the stored profile (undefined when there is none), creating or replacing it. ProfileTooLarge past the limit. */
export function updateProfile(userId: string, change: (current: Profile | undefined) => Profile): Promise<Profile> {
  return updateDoc(
    keys.profile(userId),
    profileSchema,
    (current) => sized(change(current)),
    () => fields(userId),
  );
}

/** Applies `change` to an existing profile; undefined when there is none. */
export function changeProfile(userId: string, change: (current: Profile) => Profile): Promise<Profile | undefined> {
  return updateExistingDoc(
    keys.profile(userId),
    profileSchema,
    (current) => sized(change(current)),
    () => fields(userId),
  );
}

export async function deleteProfile(userId: string): Promise<boolean> {
  return deleteItem(keys.profile(userId));
}
