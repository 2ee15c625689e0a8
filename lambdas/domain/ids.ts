import { z } from 'zod';

/** The one id schema: a user, tenant, list, template, brand, provider, job or topic id, in a path, a query or a body. */
export const idSchema = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');
