import { z } from 'zod';
import { changed, retryOnConflict } from './conditional';
import { keys } from './keys';
import { getItem, parseDoc, queryPage, updateDoc, upsertItem } from './table';
import { now as clockNow } from '../shared/clock';

export interface TemplateBody {
  content: unknown;
  channels?: Record<string, unknown>;
  providers?: Record<string, unknown>;
  routing?: unknown;
}

/** The head item: which version is latest and which is published. */
export interface TemplateHead {
  id: string;
  latest: number;
  published?: number;
  created_at: string;
  updated_at: string;
  published_at?: string;
}

export interface TemplateVersion {
  version: string;
  template: TemplateBody;
  created_at: string;
}

const vname = (n: number) => `v${n}`;

const jsonObject = z.record(z.string(), z.unknown());
/** What a head item stores. */
const headSchema: z.ZodType<TemplateHead> = z.looseObject({
  id: z.string(),
  latest: z.number(),
  published: z.number().optional(),
  created_at: z.string(),
  updated_at: z.string(),
  published_at: z.string().optional(),
});
/** What a version item stores (its template as PUT validated it). */
const versionSchema: z.ZodType<TemplateVersion> = z.looseObject({
  version: z.string(),
  template: z.looseObject({ content: z.unknown(), channels: jsonObject.optional(), providers: jsonObject.optional(), routing: z.unknown().optional() }),
  created_at: z.string(),
});

export async function getTemplateHead(tenantId: string, templateId: string): Promise<TemplateHead | undefined> {
  const item = await getItem(keys.tenantTemplate(tenantId, templateId));
  return item ? parseDoc(item, headSchema) : undefined;
}

/**
 * Stores a new version (v1, v2, ...) and moves the head to it; publishes it too when asked. The
 * version item is claimed first (a conditional create, so two writers never share a number), so a
 * head never points at a missing version.
 */
export async function saveTemplate(
  tenantId: string,
  templateId: string,
  template: TemplateBody,
  publish: boolean,
): Promise<{ head: TemplateHead; created: boolean }> {
  // Claims the next free version number (another save that took it: read the head again).
  const { n, now } = await retryOnConflict(
    async () => {
      const now = new Date(clockNow()).toISOString();
      const n = ((await getTemplateHead(tenantId, templateId))?.latest ?? 0) + 1;
      const claimed = await upsertItem(
        keys.tenantTemplateVersion(tenantId, templateId, vname(n)),
        { _t: 'TenantTemplateVersion', doc: JSON.stringify({ version: vname(n), template, created_at: now } satisfies TemplateVersion) },
        'absent',
      );
      if (!claimed) throw changed(`Template ${templateId} of tenant ${tenantId}`);
      return { n, now };
    },
    { attempts: 10 },
  );
  let created = false;
  const head = await updateDoc(
    keys.tenantTemplate(tenantId, templateId),
    headSchema,
    (current) => {
      created = !current;
      return {
        id: templateId,
        latest: Math.max(current?.latest ?? 0, n),
        created_at: current?.created_at ?? now,
        updated_at: now,
        ...(publish ? { published: n, published_at: now } : current?.published ? { published: current.published, published_at: current.published_at } : {}),
      };
    },
    () => ({ _t: 'TenantTemplate' }),
  );
  return { head, created };
}

export async function publishTemplate(tenantId: string, templateId: string, version: number): Promise<TemplateHead> {
  const now = new Date(clockNow()).toISOString();
  return updateDoc(
    keys.tenantTemplate(tenantId, templateId),
    headSchema,
    (current) => ({ ...current!, published: version, published_at: now, updated_at: now }),
    () => ({ _t: 'TenantTemplate' }),
  );
}

export async function getTemplateVersion(tenantId: string, templateId: string, version: number): Promise<TemplateVersion | undefined> {
  const item = await getItem(keys.tenantTemplateVersion(tenantId, templateId, vname(version)));
  return item ? parseDoc(item, versionSchema) : undefined;
}

export async function listTemplateHeads(tenantId: string, limit: number, cursor?: string): Promise<{ items: TemplateHead[]; cursor?: string }> {
  const page = await queryPage({ partition: keys.tenant(tenantId).pk, prefix: keys.tenantTemplatesPrefix, limit, cursor });
  return { items: page.items.map((i) => parseDoc(i, headSchema)), cursor: page.cursor };
}
