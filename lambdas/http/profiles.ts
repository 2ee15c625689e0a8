import { applyPatch, JsonPatchError, deepClone, type Operation } from 'fast-json-patch';
import { z } from 'zod';
import { apiHandler } from '../shared/api';
import { listIdSchema } from '../domain/lists';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import { noContent, ok, route } from '../shared/router';
import { enqueueFanout } from '../shared/jobs';
import { deleteSubscription, ensureList, listUserSubscriptions, putSubscription } from '../store/lists';
import { describeList } from './views';
import { CLASSIC_PAGE_SIZE, classicPage, cursorQuery } from './paging';
import { jsonObject } from './schemas';
import { changeProfile, deleteProfile, getProfile, mergeProfile, replaceProfile, type Profile } from '../store/profiles';

/** Audiences follow profiles: every change re-evaluates the user, asynchronously. */
const profileChanged = (userId: string) => enqueueFanout([{ type: 'audience-user', userId }]);

const profileBody = z.object({ profile: jsonObject });

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

const profileListRoutes = [
  route({
    method: 'GET',
    path: '/profiles/:user_id/lists',
    query: cursorQuery,
    handler: async ({ params, query }) => {
      const page = await listUserSubscriptions(params.user_id, CLASSIC_PAGE_SIZE, query.cursor);
      const results = page.items
        .filter((i) => i.list && !i.list.archived)
        .map((i) => ({ ...describeList(i.list!), ...(i.subscription.preferences ? { preferences: i.subscription.preferences } : {}) }));
      return ok(classicPage('results', results, page.cursor));
    },
  }),
  route({
    method: 'POST',
    path: '/profiles/:user_id/lists',
    body: z.object({ lists: z.array(z.object({ listId: listIdSchema, preferences: jsonObject.nullish() })).min(1).max(100) }),
    handler: async ({ params, body }) => {
      for (const l of body.lists) {
        const list = await ensureList(l.listId);
        if (list.archived) throw new ConflictError(`List ${l.listId} is deleted; restore it first`);
        await putSubscription(l.listId, params.user_id, l.preferences ?? undefined);
      }
      return ok({ status: 'SUCCESS' });
    },
  }),
  route({
    method: 'DELETE',
    path: '/profiles/:user_id/lists',
    handler: async ({ params }) => {
      let cursor: string | undefined;
      do {
        const page = await listUserSubscriptions(params.user_id, 100, cursor);
        for (const i of page.items) await deleteSubscription(i.subscription.listId, params.user_id);
        cursor = page.cursor;
      } while (cursor);
      return ok({ status: 'SUCCESS' });
    },
  }),
];

export const routes = [
  ...profileListRoutes,
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
      await profileChanged(params.user_id);
      return ok({ status: 'SUCCESS' });
    },
  }),
  route({
    method: 'POST',
    path: '/profiles/:user_id',
    body: profileBody,
    handler: async ({ params, body }) => {
      await mergeProfile(params.user_id, body.profile);
      await profileChanged(params.user_id);
      return ok({ status: 'SUCCESS' });
    },
  }),
  route({
    method: 'PATCH',
    path: '/profiles/:user_id',
    body: patchBody,
    handler: async ({ params, body }) => {
      await changeProfile(params.user_id, (current) => applyJsonPatch(current, body.patch));
      await profileChanged(params.user_id);
      return ok({ status: 'SUCCESS' });
    },
  }),
  route({
    method: 'DELETE',
    path: '/profiles/:user_id',
    handler: async ({ params }) => {
      await deleteProfile(params.user_id);
      await profileChanged(params.user_id);
      return noContent();
    },
  }),
];

export const handler = apiHandler(routes);
