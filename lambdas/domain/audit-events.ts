/**
 * Audit events (GET /audit-events): what Courier's SDK reads, how long an event is kept, and how a
 * newest-first page is made from the pages of the partitions the events are spread over.
 */

export interface AuditEvent {
  auditEventId: string;
  actor: { id: string; email?: string | null };
  source: string;
  target: string;
  timestamp: string;
  type: string;
}

const DAY_MS = 86_400_000;

/** Whether an event that happened at `at` (epoch ms) is still kept at `now` with `days` of retention. */
export const isRetained = (at: number, now: number, days: number): boolean => at + days * DAY_MS > now;

/** The event's `ttl` (epoch seconds): DynamoDB deletes it some time after; it is hidden from then on (isRetained). */
export const expiresAt = (at: number, days: number): number => Math.ceil((at + days * DAY_MS) / 1000);

/**
 * One newest-first page of at most `limit` items from the pages of every partition. Each partition's
 * page holds its newest `limit + 1` items below the cursor, newest first, and ids sort by time, so
 * the newest `limit` of their union are the newest `limit` overall; more follow exactly when the
 * union (of kept items) has more than `limit`. Items that are no longer kept are the oldest of each
 * page, so dropping them loses nothing newer.
 */
export function mergeNewestFirst<T>(pages: T[][], idOf: (item: T) => string, limit: number, kept: (item: T) => boolean): { items: T[]; more: boolean } {
  const all = pages
    .flat()
    .filter(kept)
    .sort((a, b) => (idOf(a) < idOf(b) ? 1 : idOf(a) > idOf(b) ? -1 : 0));
  return { items: all.slice(0, limit), more: all.length > limit };
}
