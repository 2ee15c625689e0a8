import { documents } from './documents';
import { keys } from './keys';
import { getItem, queryPage, upsertItem } from './table';

/** A template's body, as POST/PUT /notifications carry it (Elemental content). */
export interface NotificationBody {
  name: string;
  tags: string[];
  brand: { id: string } | null;
  subscription: { topic_id: string } | null;
  routing: { strategy_id?: string; method?: 'single' | 'all'; channels?: unknown[] } | null;
  content: { version?: string; elements?: unknown[]; title?: string; body?: string };
}

export interface TemplateDoc {
  draft: NotificationBody;
  state: 'DRAFT' | 'PUBLISHED';
  /** Number of published versions; the current one is `v${published}`. */
  published: number;
  published_at?: number;
  archived?: boolean;
}

export const templates = documents<TemplateDoc>('NOTIFICATION');

export interface PublishedVersion {
  version: string;
  notification: NotificationBody;
  created: number;
}

/** Snapshots the draft as version v(n+1), then points the template at it. */
export async function publish(id: string, current: TemplateDoc): Promise<TemplateDoc> {
  const n = current.published + 1;
  const now = Date.now();
  await upsertItem(keys.documentVersion('NOTIFICATION', id, `v${n}`), {
    _t: 'NotificationVersion',
    doc: JSON.stringify({ version: `v${n}`, notification: current.draft, created: now } satisfies PublishedVersion),
  });
  const next: TemplateDoc = { ...current, state: 'PUBLISHED', published: n, published_at: now };
  await templates.put(id, next);
  return next;
}

export async function getPublishedVersion(id: string, n: number): Promise<PublishedVersion | undefined> {
  const item = await getItem(keys.documentVersion('NOTIFICATION', id, `v${n}`));
  return item ? (JSON.parse(item.doc) as PublishedVersion) : undefined;
}

export async function listVersions(id: string, limit: number, cursor?: string): Promise<{ items: PublishedVersion[]; cursor?: string }> {
  const page = await queryPage({ partition: keys.document('NOTIFICATION', id).pk, prefix: keys.documentVersionsPrefix, limit, cursor, newestFirst: true });
  return { items: page.items.map((i) => JSON.parse(i.doc) as PublishedVersion), cursor: page.cursor };
}
