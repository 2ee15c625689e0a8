import { z } from 'zod';
import { SUPPRESSIBLE_CHANNELS, SUPPRESSION_REASONS, type SuppressibleChannel, type SuppressionReason } from '../domain/suppressions';
import { now } from '../shared/clock';
import { GSI1, keys } from './keys';
import { batchGet, deleteItem, getItem, parseDoc, putItem, queryPage, updateDoc, type StoredItem } from './table';

/**
 * The suppression list (docs/decisions.md D21): one item per (channel, normalized address), written
 * when a provider reports a hard bounce or a complaint (SUPPRESS_ON) or through the API, read once
 * by each email or sms target a send is about to try.
 */

const suppression = z.object({
  channel: z.enum(SUPPRESSIBLE_CHANNELS),
  address: z.string(),
  reason: z.enum(SUPPRESSION_REASONS),
  /** The provider and our message id whose event caused it (null for a manual entry). */
  provider: z.string().nullable(),
  message_id: z.string().nullable(),
  created: z.string(),
});
export type Suppression = z.infer<typeof suppression>;

const attributes = (s: Suppression) => ({ _t: 'Suppression', ...keys.suppressionIndex(s.channel, s.address) });
const toSuppression = (item: StoredItem): Suppression => parseDoc(item, suppression);

/** The entry of an address, if it is suppressed. */
export async function getSuppression(channel: SuppressibleChannel, address: string): Promise<Suppression | undefined> {
  const item = await getItem(keys.suppression(channel, address));
  return item && toSuppression(item);
}

/** Look-ups at send time waiting for the next BatchGetItem. */
let waiting: { channel: SuppressibleChannel; address: string; done: (entry: Promise<Suppression | undefined>) => void }[] | undefined;

/**
 * The entry of an address at send time: the look-ups of the recipients a delivery job runs at once
 * are gathered (until the event loop's next turn) into one BatchGetItem, eventually consistent. The
 * read units are the same as a GetItem each (half a unit an address); the requests are one per
 * hundred addresses instead of one each. An entry written a moment ago being missed by a send in
 * that moment is no worse than the send that went out just before it.
 */
export function lookUpSuppression(channel: SuppressibleChannel, address: string): Promise<Suppression | undefined> {
  return new Promise((resolve) => {
    if (!waiting) {
      waiting = [];
      setImmediate(readWaiting);
    }
    waiting.push({ channel, address, done: resolve });
  });
}

function readWaiting(): void {
  const batch = waiting ?? [];
  waiting = undefined;
  const wanted = [...new Map(batch.map((w) => [keys.suppression(w.channel, w.address).pk, keys.suppression(w.channel, w.address)])).values()];
  const read = batchGet(wanted, { consistent: false }).then((items) => new Map(items.map((item) => [item.pk, toSuppression(item)])));
  for (const w of batch) w.done(read.then((found) => found.get(keys.suppression(w.channel, w.address).pk)));
}

/** Suppresses an address for a provider's event, unless it already is (the first cause is kept); true when this call added it. */
export async function suppressForEvent(
  entry: Omit<Suppression, 'created'> & { reason: Exclude<SuppressionReason, 'manual'>; provider: string; message_id: string },
): Promise<boolean> {
  const s: Suppression = { ...entry, created: new Date(now()).toISOString() };
  return putItem({ ...keys.suppression(s.channel, s.address), ...attributes(s), doc: JSON.stringify(s) }, 'absent');
}

/** Puts an entry through the API (PUT): the reason given replaces the stored one; when it was first suppressed is kept. */
export function putSuppression(channel: SuppressibleChannel, address: string, reason: SuppressionReason): Promise<Suppression> {
  const created = new Date(now()).toISOString();
  return updateDoc(
    keys.suppression(channel, address),
    suppression,
    (current) => ({ channel, address, reason, provider: null, message_id: null, created: current?.created ?? created }),
    attributes,
  );
}

/** Removes an address from the list; whether it was there. */
export const deleteSuppression = (channel: SuppressibleChannel, address: string): Promise<boolean> => deleteItem(keys.suppression(channel, address));

/** A page of the list, by channel then address; one channel's when `channel` is given. */
export async function listSuppressions(limit: number, cursor?: string, channel?: SuppressibleChannel): Promise<{ items: Suppression[]; cursor?: string }> {
  const page = await queryPage({
    index: GSI1,
    partition: keys.suppressionsCollection,
    ...(channel ? { prefix: keys.suppressionsOfChannel(channel) } : {}),
    limit,
    cursor,
  });
  return { items: page.items.map(toSuppression), cursor: page.cursor };
}
