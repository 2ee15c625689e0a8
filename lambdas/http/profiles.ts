import { applyPatch, JsonPatchError, deepClone, type Operation } from 'fast-json-patch';
import { z } from 'zod';
import { apiHandler } from '../shared/api';
import { NotFoundError, ValidationError } from '../shared/errors';
import { noContent, ok, route } from '../shared/router';
import { changeProfile, deleteProfile, getProfile, mergeProfile, replaceProfile, type Profile } from '../store/profiles';

const profileBody = z.object({ profile: z.record(z.string(), z.unknown()) });

const patchBody = z.object({
  patch: z
    .array(
      z.object({
        op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
        path: z.string().startsWith('/', 'must be a JSON pointer starting with /'),
        value: z.unknown().optional(),
        from: z.string().optional(),
      }),
    )
    .min(1, 'must hold at least one operation'),
});

function applyJsonPatch(profile: Profile, ops: z.infer<typeof patchBody>['patch']): Profile {
  try {
    const result = applyPatch(deepClone(profile), ops as Operation[], true, false).newDocument;
    return result as Profile;
  } catch (e) {
    if (e instanceof JsonPatchError) {
      throw new ValidationError(`Invalid request: body.patch.${e.index ?? 0}: ${e.message.split('\n')[0]}`);
    }
    throw e;
  }
}

export const routes = [
  route({
    method: 'GET',
    path: '/profiles/:user_id',
    handler: async ({ params }) => {
      const profile = await getProfile(params.user_id);
      if (!profile) throw new NotFoundError(`Profile ${params.user_id} not found`);
      return ok({ profile });
    },
  }),
  route({
    method: 'PUT',
    path: '/profiles/:user_id',
    body: profileBody,
    handler: async ({ params, body }) => {
      await replaceProfile(params.user_id, body.profile);
      return ok({ status: 'SUCCESS' });
    },
  }),
  route({
    method: 'POST',
    path: '/profiles/:user_id',
    body: profileBody,
    handler: async ({ params, body }) => {
      await mergeProfile(params.user_id, body.profile);
      return ok({ status: 'SUCCESS' });
    },
  }),
  route({
    method: 'PATCH',
    path: '/profiles/:user_id',
    body: patchBody,
    handler: async ({ params, body }) => {
      await changeProfile(params.user_id, (current) => applyJsonPatch(current, body.patch));
      return ok({ status: 'SUCCESS' });
    },
  }),
  route({
    method: 'DELETE',
    path: '/profiles/:user_id',
    handler: async ({ params }) => {
      await deleteProfile(params.user_id);
      return noContent();
    },
  }),
];

export const handler = apiHandler(routes);
