import { z } from 'zod';
import { keys } from './keys';
import { deleteItem, getItem, parseDoc, updateDoc } from './table';

/**
 * The checks of a template submission (`/notifications/:id/:submission_id/checks`): one item per
 * template and submission, in the template's partition, replaced whole by PUT.
 */
const check = z.object({ id: z.string(), type: z.literal('custom'), status: z.enum(['RESOLVED', 'FAILED', 'PENDING']), updated: z.number() });
export type Check = z.infer<typeof check>;
const checksDoc = z.object({ checks: z.array(check) });
/** What a checks item stores; keys beyond these are kept as stored. */
export const checksDocSchema: z.ZodType<z.infer<typeof checksDoc>> = checksDoc.loose();

export async function getChecks(templateId: string, submissionId: string): Promise<Check[] | undefined> {
  const item = await getItem(keys.templateChecks(templateId, submissionId));
  return item ? parseDoc(item, checksDocSchema).checks : undefined;
}

/**
 * Replaces a submission's checks. A check keeps the `updated` time it had while its status is
 * unchanged; a new check, or one whose status changed, gets `at`.
 */
export async function putChecks(templateId: string, submissionId: string, next: Omit<Check, 'updated'>[], at: number): Promise<Check[]> {
  const written = await updateDoc(
    keys.templateChecks(templateId, submissionId),
    checksDocSchema,
    (current) => {
      const before = new Map((current?.checks ?? []).map((c) => [c.id, c]));
      return { checks: next.map((c) => ({ ...c, updated: before.get(c.id)?.status === c.status ? before.get(c.id)!.updated : at })) };
    },
    () => ({ _t: 'TemplateChecks' }),
  );
  return written.checks;
}

/** Cancels a submission: its checks are deleted; false when it had none. */
export const deleteChecks = (templateId: string, submissionId: string): Promise<boolean> => deleteItem(keys.templateChecks(templateId, submissionId));
