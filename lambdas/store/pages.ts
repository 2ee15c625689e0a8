/** One page of a store listing, and the cursor of the next (undefined after the last). */
export interface Page<T> {
  items: T[];
  cursor?: string;
}

/**
 * Every page of a store listing, in order, as an async iterator: `for await (const items of
 * everyPage((limit, cursor) => listSubscribers(listId, limit, cursor)))`. For walks that must
 * visit everything (a replace, a cascade delete); API listings answer one page and its cursor.
 */
export async function* everyPage<T>(list: (limit: number, cursor?: string) => Promise<Page<T>>, pageSize = 100): AsyncGenerator<T[]> {
  let cursor: string | undefined;
  do {
    const page = await list(pageSize, cursor);
    yield page.items;
    cursor = page.cursor;
  } while (cursor);
}
