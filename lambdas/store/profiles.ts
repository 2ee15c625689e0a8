import { NotFoundError } from '../shared/errors';
import { keys } from './keys';
import { deleteItem, getItem, newRev, putItem } from './table';

export type Profile = Record<string, unknown>;

interface Versioned {
  profile: Profile;
  rev?: string;
}

async function load(userId: string): Promise<Versioned | undefined> {
  const item = await getItem(keys.profile(userId));
  return item ? { profile: JSON.parse(item.doc) as Profile, rev: item.rev } : undefined;
}

const write = (userId: string, profile: Profile, expectRev?: { rev: string | undefined }) =>
  putItem({ ...keys.profile(userId), _t: 'Profile', doc: JSON.stringify(profile), rev: newRev(), updated: Date.now() }, expectRev);

export async function getProfile(userId: string): Promise<Profile | undefined> {
  return (await load(userId))?.profile;
}

export async function replaceProfile(userId: string, profile: Profile): Promise<void> {
  await write(userId, profile);
}

/** Creates the profile only if none is stored (a send's implicit creation); true if it did. */
export async function createProfileIfMissing(userId: string, profile: Profile): Promise<boolean> {
  return write(userId, profile, { rev: undefined });
}

/**
 * Read-modify-write under optimistic concurrency: the write is conditional on the revision read,
 * and a lost race re-reads and re-applies, so concurrent merges never drop each other's keys.
 */
async function update(userId: string, change: (current: Profile | undefined) => Profile): Promise<Profile> {
  for (let attempt = 0; ; attempt++) {
    const current = await load(userId);
    const next = change(current?.profile);
    if (await write(userId, next, { rev: current?.rev })) return next;
    if (attempt >= 9) throw new Error(`profile ${userId} kept changing during an update`);
  }
}

/** POST semantics: top-level keys of `partial` replace the stored ones; creates the profile if missing. */
export function mergeProfile(userId: string, partial: Profile): Promise<Profile> {
  return update(userId, (current) => ({ ...current, ...partial }));
}

/** Applies `change` to an existing profile; 404 when there is none. */
export function changeProfile(userId: string, change: (current: Profile) => Profile): Promise<Profile> {
  return update(userId, (current) => {
    if (!current) throw new NotFoundError(`Profile ${userId} not found`);
    return change(current);
  });
}

export async function deleteProfile(userId: string): Promise<boolean> {
  return deleteItem(keys.profile(userId));
}
