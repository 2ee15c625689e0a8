import { z } from 'zod';

/** `?cursor=` of the classic (P1) envelopes. */
export const cursorQuery = z.object({ cursor: z.string().max(2048).optional() });

/** `?cursor=&limit=` of the tenants-style (P2) envelopes: limit 1-100, default 20. */
export const limitQuery = cursorQuery.extend({ limit: z.coerce.number().int().min(1).max(100).default(20) });

/** Courier's classic envelope: `{ paging: { cursor, more }, results|items }`. */
export function classicPage<T>(key: 'results' | 'items', items: T[], cursor: string | undefined) {
  return { [key]: items, paging: { cursor: cursor ?? null, more: cursor !== undefined } };
}

/** Courier's tenants-style envelope: `{ items, has_more, type: "list", url, cursor, next_url }`. */
export function listPage<T>(url: string, items: T[], cursor: string | undefined, limit: number) {
  return {
    items,
    has_more: cursor !== undefined,
    type: 'list' as const,
    url,
    cursor: cursor ?? null,
    next_url: cursor ? `${url}?${new URLSearchParams({ cursor, limit: String(limit) })}` : null,
  };
}

/** Default page size of P1 listings (they take no limit). */
export const CLASSIC_PAGE_SIZE = 100;
