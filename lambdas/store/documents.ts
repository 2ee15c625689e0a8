import { keys, type DocumentKind, GSI1 } from './keys';
import type { Expected } from './conditional';
import { deleteItem, getItem, queryPage, upsertItem, type StoredItem } from './table';

export interface StoredDoc<T> {
  id: string;
  doc: T;
  /** Epoch ms of the first write and of the last one. */
  created: number;
  updated: number;
}

const toStored = <T>(item: StoredItem): StoredDoc<T> => ({
  id: String(item.id),
  doc: JSON.parse(item.doc) as T,
  created: Number(item.created),
  updated: Number(item.updated),
});

/**
 * A workspace collection (topics, brands, templates, providers): one item per document keyed by
 * kind and id, listed in id order through gsi1.
 */
export function documents<T>(kind: DocumentKind) {
  const write = (id: string, doc: T, expected?: Expected) =>
    upsertItem(keys.document(kind, id), { _t: kind, id, doc: JSON.stringify(doc), ...keys.documentIndex(kind, id) }, expected);
  return {
    async get(id: string): Promise<StoredDoc<T> | undefined> {
      const item = await getItem(keys.document(kind, id));
      return item ? toStored<T>(item) : undefined;
    },
    /** Creates or replaces. */
    async put(id: string, doc: T): Promise<StoredDoc<T>> {
      return toStored<T>((await write(id, doc))!);
    },
    /** Creates; undefined, and nothing written, when it exists. */
    async create(id: string, doc: T): Promise<StoredDoc<T> | undefined> {
      const item = await write(id, doc, 'absent');
      return item ? toStored<T>(item) : undefined;
    },
    delete(id: string): Promise<boolean> {
      return deleteItem(keys.document(kind, id));
    },
    async list(limit: number, cursor?: string): Promise<{ items: StoredDoc<T>[]; cursor?: string }> {
      const page = await queryPage({ index: GSI1, partition: keys.documentCollection(kind), limit, cursor });
      return { items: page.items.map((i) => toStored<T>(i)), cursor: page.cursor };
    },
  };
}
