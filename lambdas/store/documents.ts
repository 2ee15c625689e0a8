import type { z } from 'zod';
import { keys, type DocumentKind, GSI1 } from './keys';
import type { Expected } from './conditional';
import { deleteItem, getItem, parseDoc, queryPage, upsertItem, type StoredItem } from './table';

export interface StoredDoc<T> {
  id: string;
  doc: T;
  /** Epoch ms of the first write and of the last one. */
  created: number;
  updated: number;
}

/** A stored item as a document of the collection, its `doc` parsed by the collection's schema. */
export const toStored = <T>(item: StoredItem, schema: z.ZodType<T>): StoredDoc<T> => ({
  id: String(item.id),
  doc: parseDoc(item, schema),
  created: Number(item.created),
  updated: Number(item.updated),
});

/**
 * A workspace collection (topics, brands, templates, providers): one item per document keyed by
 * kind and id, listed in id order through gsi1. Every read parses the document by `schema`, the
 * shape the collection stores.
 */
export function documents<T>(kind: DocumentKind, schema: z.ZodType<T>) {
  const write = (id: string, doc: T, expected?: Expected) =>
    upsertItem(keys.document(kind, id), { _t: kind, id, doc: JSON.stringify(doc), ...keys.documentIndex(kind, id) }, expected);
  return {
    async get(id: string): Promise<StoredDoc<T> | undefined> {
      const item = await getItem(keys.document(kind, id));
      return item ? toStored(item, schema) : undefined;
    },
    /** Creates or replaces. */
    async put(id: string, doc: T): Promise<StoredDoc<T>> {
      return toStored((await write(id, doc))!, schema);
    },
    /** Creates; undefined, and nothing written, when it exists. */
    async create(id: string, doc: T): Promise<StoredDoc<T> | undefined> {
      const item = await write(id, doc, 'absent');
      return item ? toStored(item, schema) : undefined;
    },
    delete(id: string): Promise<boolean> {
      return deleteItem(keys.document(kind, id));
    },
    async list(limit: number, cursor?: string): Promise<{ items: StoredDoc<T>[]; cursor?: string }> {
      const page = await queryPage({ index: GSI1, partition: keys.documentCollection(kind), limit, cursor });
      return { items: page.items.map((i) => toStored(i, schema)), cursor: page.cursor };
    },
  };
}

/** The store of one collection, as `documents` makes it. */
export type Documents<T> = ReturnType<typeof documents<T>>;
