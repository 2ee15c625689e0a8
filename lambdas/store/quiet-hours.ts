import { quietHoursSchema, type QuietHours } from '../domain/quiet-hours';
import { keys } from './keys';
import { deleteItem, getItem, parseDoc, upsertItem } from './table';

/** A user's own quiet hours; `consistent` false for the delivery's read (half a read unit). */
export async function getQuietHours(userId: string, consistent = true): Promise<QuietHours | undefined> {
  const item = await getItem(keys.quietHours(userId), consistent);
  return item ? parseDoc(item, quietHoursSchema) : undefined;
}

export async function putQuietHours(userId: string, quiet: QuietHours): Promise<void> {
  await upsertItem(keys.quietHours(userId), { _t: 'QuietHours', doc: JSON.stringify(quiet) });
}

export function deleteQuietHours(userId: string): Promise<boolean> {
  return deleteItem(keys.quietHours(userId));
}
