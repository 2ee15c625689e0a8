import { z } from 'zod';
import type { Routing } from '../domain/routing';
import type { StrategyChannels } from '../domain/routing-strategy';
import { changed, expectedOf, retryOnConflict } from './conditional';
import { documents, toStored, type StoredDoc } from './documents';
import { keys } from './keys';
import type { Page } from './pages';
import { getItem, parseDoc, upsertItem, UPDATE_ATTEMPTS } from './table';
import { getPublishedVersion, templates, type TemplateDoc } from './templates';

const KIND = 'ROUTING_STRATEGY';

const strategyDoc = z.object({
  name: z.string(),
  routing: z.custom<Routing>((v) => typeof v === 'object' && v !== null),
  channels: z.record(z.string(), z.object({ providers: z.array(z.string()).optional(), if: z.string().optional() })),
  providers: z.record(z.string(), z.object({ override: z.record(z.string(), z.never()).optional(), if: z.string().optional() })),
  description: z.string().nullable(),
  tags: z.array(z.string()).nullable(),
  /** Archived strategies are kept (a template naming one is told so at send time) but no longer served. */
  archived: z.boolean().optional(),
});
export type StrategyDoc = z.infer<typeof strategyDoc> & { channels: StrategyChannels };
/** What a strategy item stores (create and replace write it whole); keys beyond these are kept as stored. */
export const strategyDocSchema = strategyDoc.loose() as unknown as z.ZodType<StrategyDoc>;

export const strategies = documents(KIND, strategyDocSchema);

const strategyKey = (id: string) => keys.document(KIND, id);

/**
 * Writes the strategy `change` makes of the current one (undefined: write nothing), conditional on
 * the revision read, so a replace and an archive never undo each other: a lost race re-reads.
 */
export function writeStrategy(id: string, change: (current: StrategyDoc) => StrategyDoc | undefined): Promise<StoredDoc<StrategyDoc> | undefined> {
  return retryOnConflict(
    async () => {
      const item = await getItem(strategyKey(id));
      if (!item) return undefined;
      const next = change(parseDoc(item, strategyDocSchema));
      if (!next) return undefined;
      const written = await upsertItem(strategyKey(id), { _t: KIND, id, doc: JSON.stringify(next), ...keys.documentIndex(KIND, id) }, expectedOf(item));
      if (!written) throw changed(`Routing strategy ${id}`);
      return toStored(written, strategyDocSchema);
    },
    { attempts: UPDATE_ATTEMPTS },
  );
}

/** Items a filtered listing reads at most for one page, so a sparse match never makes one request walk a whole collection. */
const MAX_SCANNED = 1000;

/**
 * One page of at most `limit` items of a collection that `keep` selects, from `cursor`: it reads
 * pages of the collection, each no larger than what is still missing, so the cursor it answers
 * resumes exactly after the last item read. It stops at `limit` items, at the end, or after
 * MAX_SCANNED items read (a page may then hold fewer than `limit`, with a cursor).
 */
export async function filteredPage<T>(
  list: (limit: number, cursor?: string) => Promise<Page<T>>,
  keep: (items: T[]) => Promise<boolean[]>,
  limit: number,
  cursor?: string,
): Promise<Page<T>> {
  const kept: T[] = [];
  let scanned = 0;
  let next = cursor;
  do {
    const page = await list(limit - kept.length, next);
    const verdicts = await keep(page.items);
    kept.push(...page.items.filter((_, i) => verdicts[i]));
    scanned += page.items.length;
    next = page.cursor;
  } while (next && kept.length < limit && scanned < MAX_SCANNED);
  return { items: kept, cursor: next };
}

/** A page of the strategies not archived, in id order. */
export const listStrategies = (limit: number, cursor?: string) =>
  filteredPage(strategies.list, async (items) => items.map((s) => !s.doc.archived), limit, cursor);

/** The strategy id a template body's routing names, if any. */
const strategyIdOf = (routing: { strategy_id?: string } | null | undefined): string | undefined => routing?.strategy_id;

/**
 * Whether a template is associated with strategy `id`: not archived, and its draft or its published
 * version (the one sends use) names the strategy.
 */
async function references(t: StoredDoc<TemplateDoc>, id: string): Promise<boolean> {
  if (t.doc.archived) return false;
  if (strategyIdOf(t.doc.draft.routing) === id) return true;
  if (!t.doc.published) return false;
  return strategyIdOf((await getPublishedVersion(t.id, t.doc.published))?.notification.routing) === id;
}

/** A page of the templates associated with strategy `id` (listNotifications), in template id order. */
export const templatesUsing = (id: string, limit: number, cursor?: string) =>
  filteredPage(templates.list, (items) => Promise.all(items.map((t) => references(t, id))), limit, cursor);

/** Up to `max` ids of templates associated with strategy `id`, across the whole collection (archive's check). */
export async function someTemplatesUsing(id: string, max: number): Promise<string[]> {
  const found: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await templates.list(100, cursor);
    const verdicts = await Promise.all(page.items.map((t) => references(t, id)));
    found.push(...page.items.filter((_, i) => verdicts[i]).map((t) => t.id));
    cursor = page.cursor;
  } while (cursor && found.length < max);
  return found.slice(0, max);
}
