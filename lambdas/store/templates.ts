import { TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ConflictError } from '../shared/errors';
import { changed, conditional, expectedOf, newRev, retryOnConflict, withExpectation } from './conditional';
import { documents, toStored, type StoredDoc } from './documents';
import { keys } from './keys';
import { getItem, parseDoc, queryPage, TABLE, upsertItem, type StoredItem } from './table';
import { now as clockNow } from '../shared/clock';

/**
 * A template's body, as POST/PUT /notifications carry it (Elemental content). Its content and
 * routing were validated on the way in (domain/render contentSchema, domain/routing routingSchema);
 * a read checks their structure and keeps every key stored.
 */
const notificationBody = z.object({
  name: z.string(),
  tags: z.array(z.string()),
  brand: z.object({ id: z.string() }).nullable(),
  subscription: z.object({ topic_id: z.string() }).nullable(),
  routing: z
    .looseObject({ strategy_id: z.string().optional(), method: z.enum(['single', 'all']).optional(), channels: z.array(z.unknown()).optional() })
    .nullable(),
  content: z.looseObject({
    version: z.string().optional(),
    elements: z.array(z.unknown()).optional(),
    title: z.string().optional(),
    body: z.string().optional(),
  }),
  /** Inbound events mapped to this notification (an event id sent as `template`, or tracked, sends it). */
  event_ids: z.array(z.string()).optional(),
});
export type NotificationBody = z.infer<typeof notificationBody>;
/** Read loose: keys stored beyond these are kept as stored. */
export const notificationBodySchema: z.ZodType<NotificationBody> = notificationBody.loose();

const templateDoc = z.object({
  draft: notificationBodySchema,
  state: z.enum(['DRAFT', 'PUBLISHED']),
  /** Number of published versions; the current one is `v${published}`. */
  published: z.number(),
  published_at: z.number().optional(),
  archived: z.boolean().optional(),
});
export type TemplateDoc = z.infer<typeof templateDoc>;
/** What a template item stores (saveDraft, archiveTemplate and publish write it whole); keys beyond these are kept as stored. */
export const templateDocSchema: z.ZodType<TemplateDoc> = templateDoc.loose();

/** Reads and lists (writes go through the conditional functions below). */
export const templates = documents('NOTIFICATION', templateDocSchema);

const publishedVersion = z.object({ version: z.string(), notification: notificationBodySchema, created: z.number() });
export type PublishedVersion = z.infer<typeof publishedVersion>;
/** What a published version item stores (publish writes it once); keys beyond these are kept as stored. */
export const publishedVersionSchema: z.ZodType<PublishedVersion> = publishedVersion.loose();

/** A template as read, with its item revision: every write is conditional on it. */
export interface TemplateRead {
  stored: StoredDoc<TemplateDoc>;
  rev: string;
}

const KIND = 'NOTIFICATION';
const templateKey = (id: string) => keys.document(KIND, id);
const templateFields = (id: string) => ({ _t: KIND, id, ...keys.documentIndex(KIND, id) });
const toRead = (item: StoredItem): TemplateRead => ({ stored: toStored(item, templateDocSchema), rev: String(item.rev) });

export async function readTemplate(id: string): Promise<TemplateRead | undefined> {
  const item = await getItem(templateKey(id));
  return item ? toRead(item) : undefined;
}

/** Read-modify-write rounds of a template before its contention is a 409 to retry. */
const WRITE_ATTEMPTS = 10;

/**
 * Writes the template's document from what `change` makes of the current one, conditional on the
 * revision read (re-read and re-applied on a lost race), so a concurrent publish is never undone:
 * the count of published versions only grows. `change` may answer undefined to write nothing (the
 * result is then undefined). `createOnly`: undefined if the template exists.
 */
async function writeTemplate(
  id: string,
  change: (current: TemplateDoc | undefined) => TemplateDoc | undefined,
  createOnly = false,
): Promise<TemplateRead | undefined> {
  return retryOnConflict(
    async () => {
      const item = createOnly ? undefined : await getItem(templateKey(id));
      const current = item ? parseDoc(item, templateDocSchema) : undefined;
      const next = change(current);
      if (next === undefined) return undefined;
      const written = await writeWithMappings(id, item, current, next);
      if (written) return written;
      if (createOnly) return undefined;
      throw changed(`Notification ${id}`);
    },
    { attempts: WRITE_ATTEMPTS },
  );
}

/** An event id of the notification being written is mapped to another notification: a 409. */
export class EventMappedElsewhere extends ConflictError {
  constructor(eventId: string, templateId: string) {
    super(`Invalid request: body.notification.event_ids: event ${eventId} is mapped to notification ${templateId} already`);
  }
}

/** The events a template document maps: its draft's `event_ids`, none once archived. */
const mappedEvents = (doc: TemplateDoc | undefined): string[] => (doc && !doc.archived ? (doc.draft.event_ids ?? []) : []);

/**
 * Writes the template item, conditional on the item read, and keeps its event mappings right in
 * the same transaction: a mapping item per event id it gains (conditional on the event being free
 * or already this template's) and none for the ones it loses (conditional on their being this
 * template's). Undefined when the template changed since it was read; EventMappedElsewhere when
 * an event it gains is another notification's.
 */
async function writeWithMappings(
  id: string,
  item: StoredItem | undefined,
  current: TemplateDoc | undefined,
  next: TemplateDoc,
): Promise<TemplateRead | undefined> {
  const before = new Set(mappedEvents(current));
  const after = new Set(mappedEvents(next));
  const added = [...after].filter((e) => !before.has(e));
  const removed = [...before].filter((e) => !after.has(e));
  const fields = { ...templateFields(id), doc: JSON.stringify(next) };
  if (!added.length && !removed.length) {
    const written = await upsertItem(templateKey(id), fields, expectedOf(item));
    return written ? toRead(written) : undefined;
  }
  const now = clockNow();
  const rev = newRev();
  const names: Record<string, string> = { '#created': 'created', '#updated': 'updated', '#rev': 'rev' };
  const values: Record<string, unknown> = { ':now': now, ':next': rev };
  const sets = ['#created = if_not_exists(#created, :now)', '#updated = :now', '#rev = :next'];
  Object.entries(fields).forEach(([name, value], i) => {
    names[`#a${i}`] = name;
    values[`:v${i}`] = value;
    sets.push(`#a${i} = :v${i}`);
  });
  // An event's mapping item is free or this template's (an item missing for an event it had is no refusal).
  const mine = {
    ConditionExpression: 'attribute_not_exists(pk) OR #tid = :tid',
    ExpressionAttributeNames: { '#tid': 'templateId' },
    ExpressionAttributeValues: { ':tid': id },
  };
  const transaction: TransactWriteCommandInput = {
    TransactItems: [
      {
        Update: { TableName: TABLE, Key: templateKey(id), UpdateExpression: `SET ${sets.join(', ')}`, ...withExpectation(expectedOf(item), names, values) },
      },
      ...added.map((eventId) => ({
        Put: {
          TableName: TABLE,
          Item: { ...keys.eventMapping(eventId), _t: 'EventMapping', eventId, templateId: id, created: now, updated: now, rev: newRev() },
          ...mine,
        },
      })),
      ...removed.map((eventId) => ({ Delete: { TableName: TABLE, Key: keys.eventMapping(eventId), ...mine } })),
    ],
  };
  if (await conditional(new TransactWriteCommand(transaction))) {
    return { stored: { id, doc: next, created: Number(item?.created ?? now), updated: now }, rev };
  }
  // Refused: an event another notification holds is a 409; anything else is this template changing.
  const holders = await Promise.all(added.map((e) => getItem(keys.eventMapping(e))));
  const taken = holders.find((h) => h !== undefined && h.templateId !== id);
  if (taken) throw new EventMappedElsewhere(String(taken.eventId), String(taken.templateId));
  return undefined;
}

/** The notification an event id is mapped to, if any. */
export async function mappedTemplateId(eventId: string): Promise<string | undefined> {
  const item = await getItem(keys.eventMapping(eventId));
  return item ? String(item.templateId) : undefined;
}

/** Saves the draft (POST / PUT), keeping the published versions; undefined when `createOnly` and it exists. */
export function saveDraft(id: string, draft: NotificationBody, createOnly: boolean): Promise<TemplateRead | undefined> {
  return writeTemplate(
    id,
    (current) => ({
      draft,
      state: 'DRAFT',
      published: current?.published ?? 0,
      ...(current?.published_at !== undefined ? { published_at: current.published_at } : {}),
    }),
    createOnly,
  );
}

/**
 * Changes the draft of an existing template (PUT content, an element, a locale) from what `edit`
 * makes of the current draft, under the same conditional write as saveDraft (a lost race re-reads
 * and re-applies `edit`; errors `edit` throws end it). Undefined, and nothing written, when the
 * template does not exist or is archived.
 */
export function editDraft(id: string, edit: (draft: NotificationBody) => NotificationBody): Promise<TemplateRead | undefined> {
  return writeTemplate(id, (current) => (current && !current.archived ? { ...current, draft: edit(current.draft), state: 'DRAFT' } : undefined));
}

/** Archives the template (DELETE), conditional on the revision read, so it never undoes a concurrent publish. */
export async function archiveTemplate(id: string): Promise<void> {
  await retryOnConflict(
    async () => {
      const item = await getItem(templateKey(id));
      if (!item) return;
      const current = parseDoc(item, templateDocSchema);
      if (current.archived) return;
      if (!(await writeWithMappings(id, item, current, { ...current, archived: true }))) throw changed(`Notification ${id}`);
    },
    { attempts: WRITE_ATTEMPTS },
  );
}

/**
 * Snapshots the draft (or `source`, a historical version being published again) as version v(n+1)
 * and points the template at it, in one transaction: the
 * version item must not exist yet (a published version is never overwritten) and the template
 * must still be at the revision read. A lost race (a concurrent publish took v(n+1), or the
 * template changed since it was read) is a 409; nothing is written then.
 */
export async function publish(id: string, read: TemplateRead, source?: NotificationBody): Promise<TemplateDoc> {
  const current = read.stored.doc;
  const n = current.published + 1;
  const now = clockNow();
  const next: TemplateDoc = { ...current, state: 'PUBLISHED', published: n, published_at: now };
  const version: PublishedVersion = { version: `v${n}`, notification: source ?? current.draft, created: now };
  const transaction: TransactWriteCommandInput = {
    TransactItems: [
      {
        Put: {
          TableName: TABLE,
          Item: {
            ...keys.documentVersion(KIND, id, `v${n}`),
            _t: 'NotificationVersion',
            doc: JSON.stringify(version),
            created: now,
            updated: now,
            rev: newRev(),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Update: {
          TableName: TABLE,
          Key: templateKey(id),
          UpdateExpression: 'SET #doc = :doc, #updated = :now, #rev = :next',
          ...withExpectation(
            { rev: read.rev },
            { '#doc': 'doc', '#updated': 'updated', '#rev': 'rev' },
            { ':doc': JSON.stringify(next), ':now': now, ':next': newRev() },
          ),
        },
      },
    ],
  };
  // A transaction conflict is retried as it is: still conditional on the revision read, so a lost race ends in the 409 below.
  if (!(await retryOnConflict(() => conditional(new TransactWriteCommand(transaction)), { attempts: 3 }))) {
    throw new ConflictError(`Notification ${id} changed while it was being published (another request published v${n} or changed it): read it again`);
  }
  return next;
}

export async function getPublishedVersion(id: string, n: number): Promise<PublishedVersion | undefined> {
  const item = await getItem(keys.documentVersion(KIND, id, `v${n}`));
  return item ? parseDoc(item, publishedVersionSchema) : undefined;
}

export async function listVersions(id: string, limit: number, cursor?: string): Promise<{ items: PublishedVersion[]; cursor?: string }> {
  const page = await queryPage({ partition: keys.document(KIND, id).pk, prefix: keys.documentVersionsPrefix, limit, cursor, newestFirst: true });
  return { items: page.items.map((i) => parseDoc(i, publishedVersionSchema)), cursor: page.cursor };
}
