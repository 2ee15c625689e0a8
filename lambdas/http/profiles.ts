import { applyOperation, deepClone, JsonPatchError, type Operation } from 'fast-json-patch';
import { z } from 'zod';
import { apiHandler } from '../shared/api';
import { listUserPreferences, type UserPreference } from '../store/preferences';
import { listIdSchema } from '../domain/lists';
import { recipientPreferencesSchema } from '../domain/preferences';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import { noContent, ok, route } from '../shared/router';
import { enqueueFanout } from '../shared/jobs';
import { deleteSubscription, ensureList, listUserSubscriptions, putSubscription } from '../store/lists';
import { describeList } from './views';
import { CLASSIC_PAGE_SIZE, classicPage, cursorQuery } from './paging';
import { jsonObject } from './schemas';
import {
  changeProfile,
  deleteProfile,
  getProfile,
  MAX_PROFILE_BYTES,
  mergeProfile,
  ProfileTooLarge,
  profileBytes,
  replaceProfile,
  type Profile,
} from '../store/profiles';
import { everyPage } from '../store/pages';

/** Audiences follow profiles: every change re-evaluates the user, asynchronously. */
const profileChanged = (userId: string) => enqueueFanout([{ type: 'audience-user', userId }]);

const profileBody = z.object({ profile: jsonObject });

/** JSON-Patch operations in one PATCH. */
export const MAX_PATCH_OPERATIONS = 100;

/** Path segments that reach an object's prototype machinery instead of its data. */
const PROTOTYPE_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
const namesPrototype = (pointer: string): boolean =>
  pointer.split('/').some((segment) => PROTOTYPE_SEGMENTS.has(segment.replace(/~1/g, '/').replace(/~0/g, '~')));
const pointer = z
  .string()
  .max(4096)
  .refine((p) => !namesPrototype(p), 'may not name __proto__, constructor or prototype');

const patchBody = z.object({
  patch: z
    .array(
      z.object({
        op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']),
        path: pointer.refine((p) => p.startsWith('/'), 'must be a JSON pointer starting with /'),
        value: z.unknown().optional(),
        from: pointer.optional(),
      }),
    )
    .min(1, 'must hold at least one operation')
    .max(MAX_PATCH_OPERATIONS, `at most ${MAX_PATCH_OPERATIONS} operations`),
});

/**
 * Applies the operations one by one, measuring the document after each: `copy` doubles it at
 * most, so a patch that would grow past the profile limit is refused at the operation that
 * crosses it (before any larger document is built), naming that operation. An operation the
 * document cannot take (a JSON-Patch error, or one the library fails on, such as moving a value
 * into itself) is a 400 naming it too.
 */
function applyJsonPatch(profile: Profile, ops: z.infer<typeof patchBody>['patch']): Profile {
  let doc: unknown = deepClone(profile);
  ops.forEach((op, i) => {
    try {
      doc = applyOperation(doc, op as Operation, true, true, true, i).newDocument;
    } catch (e) {
      const detail = e instanceof JsonPatchError ? e.message.split('\n')[0] : 'this operation cannot be applied to the profile';
      throw new ValidationError(`Invalid request: body.patch.${i}: ${detail}`);
    }
    const bytes = profileBytes(doc);
    if (bytes > MAX_PROFILE_BYTES) throw new ValidationError(`Invalid request: body.patch.${i}: ${new ProfileTooLarge(bytes).message}`);
  });
  return doc as Profile;
}

/** A profile that would outgrow the limit is a 400 naming the field that made it so. */
const tooLargeAs =
  (field: string) =>
  (e: unknown): never => {
    if (e instanceof ProfileTooLarge) throw new ValidationError(`Invalid request: ${field}: ${e.message}`);
    throw e;
  };

const profileListRoutes = [
  route({
    method: 'GET',
    path: '/profiles/:user_id/lists',
    greedy: 'user_id',
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
    greedy: 'user_id',
    audit: { type: 'user:subscriptions:added', target: ({ params }) => `user:${params.user_id}` },
    body: z.object({
      lists: z
        .array(z.object({ listId: listIdSchema, preferences: recipientPreferencesSchema.nullish() }))
        .min(1)
        .max(100),
    }),
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
    greedy: 'user_id',
    audit: { type: 'user:subscriptions:deleted', target: ({ params }) => `user:${params.user_id}` },
    handler: async ({ params }) => {
      for await (const subscriptions of everyPage((limit, cursor) => listUserSubscriptions(params.user_id, limit, cursor))) {
        for (const i of subscriptions) await deleteSubscription(i.subscription.listId, params.user_id);
      }
      return ok({ status: 'SUCCESS' });
    },
  }),
];

/**
 * The user's own (workspace-wide) preferences, as Courier's ProfileRetrieveResponse carries them:
 * by topic, each with its status and, when the user chose channels, `channel_preferences`.
 */
const recipientPreferences = (prefs: Map<string, UserPreference>) => ({
  notifications: Object.fromEntries(
    [...prefs].map(([topicId, p]) => [
      topicId,
      {
        status: p.status,
        ...(p.has_custom_routing && p.custom_routing?.length ? { channel_preferences: p.custom_routing.map((channel) => ({ channel })) } : {}),
      },
    ]),
  ),
});

export const routes = [
  ...profileListRoutes,
  route({
    method: 'GET',
    path: '/profiles/:user_id',
    greedy: 'user_id',
    handler: async ({ params }) => {
      const [profile, preferences] = await Promise.all([getProfile(params.user_id), listUserPreferences(params.user_id)]);
      if (!profile) throw new NotFoundError(`Profile ${params.user_id} not found`);
      return ok({ profile, preferences: recipientPreferences(preferences) });
    },
  }),
  route({
    method: 'PUT',
    path: '/profiles/:user_id',
    greedy: 'user_id',
    body: profileBody,
    handler: async ({ params, body }) => {
      await replaceProfile(params.user_id, body.profile).catch(tooLargeAs('body.profile'));
      await profileChanged(params.user_id);
      return ok({ status: 'SUCCESS' });
    },
  }),
  route({
    method: 'POST',
    path: '/profiles/:user_id',
    greedy: 'user_id',
    body: profileBody,
    handler: async ({ params, body }) => {
      await mergeProfile(params.user_id, body.profile).catch(tooLargeAs('body.profile'));
      await profileChanged(params.user_id);
      return ok({ status: 'SUCCESS' });
    },
  }),
  route({
    method: 'PATCH',
    path: '/profiles/:user_id',
    greedy: 'user_id',
    body: patchBody,
    handler: async ({ params, body }) => {
      const patched = await changeProfile(params.user_id, (current) => applyJsonPatch(current, body.patch)).catch(tooLargeAs('body.patch'));
      if (!patched) throw new NotFoundError(`Profile ${params.user_id} not found`);
      await profileChanged(params.user_id);
      return ok({ status: 'SUCCESS' });
    },
  }),
  route({
    method: 'DELETE',
    path: '/profiles/:user_id',
    greedy: 'user_id',
    handler: async ({ params }) => {
      await deleteProfile(params.user_id);
      await profileChanged(params.user_id);
      return noContent();
    },
  }),
];

export const handler = apiHandler(routes);
