import { z } from 'zod';
import { compileListPattern } from '../domain/lists';
import { esc, GSI1, keys } from './keys';
import { batchGet, deleteItem, getItem, parseDoc, queryPage, upsertItem, type StoredItem } from './table';

export interface ListRecord {
  id: string;
  name: string;
  preferences?: Record<string, unknown>;
  /** Soft-deleted lists keep their subscriptions and can be restored. */
  archived?: boolean;
  created: number;
  updated: number;
}

export interface Subscription {
  listId: string;
  recipientId: string;
  preferences?: Record<string, unknown>;
  created: number;
}

const jsonObject = z.record(z.string(), z.unknown());
/** What a list item stores. */
const listSchema: z.ZodType<Omit<ListRecord, 'created' | 'updated'>> = z.looseObject({
  id: z.string(),
  name: z.string(),
  preferences: jsonObject.optional(),
  archived: z.boolean().optional(),
});
/** What a subscription item stores. */
const subscriptionSchema: z.ZodType<Omit<Subscription, 'created'>> = z.looseObject({
  listId: z.string(),
  recipientId: z.string(),
  preferences: jsonObject.optional(),
});

const toList = (item: StoredItem): ListRecord => ({ ...parseDoc(item, listSchema), created: Number(item.created), updated: Number(item.updated) });
const toSubscription = (item: StoredItem): Subscription => ({ ...parseDoc(item, subscriptionSchema), created: Number(item.created) });

/** A list, archived or not. */
export async function getList(listId: string): Promise<ListRecord | undefined> {
  const item = await getItem(keys.list(listId));
  return item ? toList(item) : undefined;
}

/** Writes the list; with `createOnly`, only if it does not exist (undefined when it does). */
export async function putList(list: Omit<ListRecord, 'created' | 'updated'>, createOnly = false): Promise<ListRecord | undefined> {
  const item = await upsertItem(keys.list(list.id), { _t: 'List', doc: JSON.stringify(list), ...keys.listIndex(list.id) }, createOnly ? 'absent' : undefined);
  return item && toList(item);
}

/** Creates the list (named after its id) unless it exists; subscribing auto-creates lists. */
export async function ensureList(listId: string): Promise<ListRecord> {
  return (await putList({ id: listId, name: listId }, true)) ?? (await getList(listId))!;
}

/**
 * Lists whose id matches a pattern (or equals an id), not archived: a begins_with query on the
 * pattern's literal prefix, filtered in code. Reads at most `maxPages` index pages per call, so
 * a page of results may be short; the cursor continues.
 */
export async function findLists(pattern: string | undefined, limit: number, cursor?: string, maxPages = 10): Promise<{ items: ListRecord[]; cursor?: string }> {
  const compiled = pattern === undefined ? undefined : compileListPattern(pattern);
  const items: ListRecord[] = [];
  let next = cursor;
  for (let pages = 0; pages < maxPages && items.length < limit; pages++) {
    const page = await queryPage({
      index: GSI1,
      partition: keys.listsCollection,
      prefix: compiled?.prefix ? esc(compiled.prefix) : undefined,
      limit,
      cursor: next,
    });
    for (const list of page.items.map(toList)) if (!list.archived && (!compiled || compiled.matches(list.id))) items.push(list);
    next = page.cursor;
    if (!next) break;
  }
  return { items, cursor: next };
}

export async function putSubscription(listId: string, userId: string, preferences?: Record<string, unknown>): Promise<void> {
  await upsertItem(keys.subscription(listId, userId), {
    _t: 'Subscription',
    doc: JSON.stringify({ listId, recipientId: userId, ...(preferences ? { preferences } : {}) }),
    ...keys.subscriptionIndex(userId, listId),
  });
}

/** One user's subscription to a list, if any. */
export async function getSubscription(listId: string, userId: string): Promise<Subscription | undefined> {
  const item = await getItem(keys.subscription(listId, userId));
  return item ? toSubscription(item) : undefined;
}

export function deleteSubscription(listId: string, userId: string): Promise<boolean> {
  return deleteItem(keys.subscription(listId, userId));
}

export async function listSubscribers(listId: string, limit: number, cursor?: string): Promise<{ items: Subscription[]; cursor?: string }> {
  const page = await queryPage({ partition: keys.list(listId).pk, prefix: keys.subscriptionsPrefix, limit, cursor });
  return { items: page.items.map(toSubscription), cursor: page.cursor };
}

/** A user's subscriptions through gsi1, with their lists. */
export async function listUserSubscriptions(
  userId: string,
  limit: number,
  cursor?: string,
): Promise<{ items: { subscription: Subscription; list?: ListRecord }[]; cursor?: string }> {
  const page = await queryPage({ index: GSI1, partition: keys.userLists(userId), limit, cursor });
  const subs = page.items.map(toSubscription);
  const lists = new Map((await batchGet(subs.map((s) => keys.list(s.listId)))).map((i) => [toList(i).id, toList(i)]));
  return { items: subs.map((subscription) => ({ subscription, list: lists.get(subscription.listId) })), cursor: page.cursor };
}
