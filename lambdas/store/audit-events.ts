import { randomBytes } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ddb } from '../shared/aws';
import { now } from '../shared/clock';
import { config } from '../shared/config';
import { packCursor, unpackCursor } from '../shared/cursor';
import { expiresAt, isRetained, mergeNewestFirst, type AuditEvent } from '../domain/audit-events';
import { AUDIT_SHARDS, auditKeys } from './keys';
import { getItem, parseDoc, putItem, TABLE, type StoredItem } from './table';

const storedEvent = z
  .object({
    actor: z.object({ id: z.string(), email: z.string().nullish() }),
    source: z.string(),
    target: z.string(),
    type: z.string(),
  })
  .loose();
/** What an audit event item stores in `doc` (recordAuditEvent); its time is its id's. */
export const auditEventSchema: z.ZodType<z.infer<typeof storedEvent>> = storedEvent;

export type NewAuditEvent = Omit<AuditEvent, 'auditEventId' | 'timestamp'>;

const describe = (item: StoredItem): AuditEvent => {
  const { actor, source, target, type } = parseDoc(item, auditEventSchema);
  return { auditEventId: item.sk, actor, source, target, timestamp: new Date(auditKeys.timeOf(item.sk)).toISOString(), type };
};

/** Stores an event that happens now; it expires AUDIT_RETENTION_DAYS later. */
export async function recordAuditEvent(e: NewAuditEvent): Promise<AuditEvent> {
  const at = now();
  const id = auditKeys.newId(at, randomBytes(6).toString('hex'));
  const item: StoredItem = {
    ...auditKeys.event(id),
    _t: 'AuditEvent',
    doc: JSON.stringify({ actor: e.actor, source: e.source, target: e.target, type: e.type }),
    ttl: expiresAt(at, config.AUDIT_RETENTION_DAYS),
  };
  await putItem(item);
  return describe(item);
}

const kept = (eventId: string, at = now()) => isRetained(auditKeys.timeOf(eventId), at, config.AUDIT_RETENTION_DAYS);

/** An event by id; undefined when there is none, or it is past retention (DynamoDB's TTL deletes lazily). */
export async function getAuditEvent(eventId: string): Promise<AuditEvent | undefined> {
  if (!auditKeys.idPattern.test(eventId) || !kept(eventId)) return undefined;
  const item = await getItem(auditKeys.event(eventId));
  return item ? describe(item) : undefined;
}

const cursorSchema = z.object({ before: z.string().regex(auditKeys.idPattern) });

/**
 * A page of the events still kept, newest first: each shard's newest `limit + 1` events older than
 * the cursor (one Query each; small items, far below a Query's 1 MB), merged.
 */
export async function listAuditEvents(limit: number, cursor?: string): Promise<{ items: AuditEvent[]; cursor?: string }> {
  const before = cursor ? unpackCursor(cursor, cursorSchema).before : undefined;
  const pages = await Promise.all(
    Array.from({ length: AUDIT_SHARDS }, async (_, shard) => {
      const out = await ddb.send(
        new QueryCommand({
          TableName: TABLE,
          KeyConditionExpression: before ? 'pk = :pk AND sk < :before' : 'pk = :pk',
          ExpressionAttributeValues: { ':pk': auditKeys.shard(shard), ...(before ? { ':before': before } : {}) },
          ScanIndexForward: false,
          Limit: limit + 1,
          // A listing right after a write shows it (an operator checking what a change recorded).
          ConsistentRead: true,
        }),
      );
      return (out.Items ?? []) as StoredItem[];
    }),
  );
  const at = now();
  const page = mergeNewestFirst(
    pages,
    (i) => i.sk,
    limit,
    (i) => kept(i.sk, at),
  );
  return { items: page.items.map(describe), cursor: page.more ? packCursor({ before: page.items[page.items.length - 1].sk }) : undefined };
}
