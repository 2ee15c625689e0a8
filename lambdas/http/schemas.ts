import { z } from 'zod';
import { idSchema } from '../domain/ids';

/** A JSON object of anything (profiles, properties, data). */
export const jsonObject = z.record(z.string(), z.unknown());

export const preferenceStatus = z.enum(['OPTED_IN', 'OPTED_OUT', 'REQUIRED']);

/** A channel id or provider key in custom routing. */
export const routingEntry = z.string().min(1).max(64);

/** A preference setting as tenants' default items and users' topics carry it. */
export const preferenceSetting = z.object({
  status: preferenceStatus,
  has_custom_routing: z.boolean().optional(),
  custom_routing: z.array(routingEntry).max(10).optional(),
});

/** Ids named inside bodies, with the same limits as ids in paths. */
export const bodyId = idSchema;
