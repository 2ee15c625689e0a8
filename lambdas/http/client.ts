import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { clientCaller, MAX_QUERY_CHARS, type ClientCaller } from '../domain/client-graphql';
import { MAX_TOPICS, runClientQuery, type ClientLoader } from '../services/client-graphql';
import { listIdSchema } from '../domain/lists';
import { loadedLayers, MAX_CONTEXT_LAYERS } from '../domain/tenant-context';
import { apiHandler } from '../shared/api';
import { config } from '../shared/config';
import { AuthorizationError, NotFoundError } from '../shared/errors';
import { noContent, ok, pathId, route } from '../shared/router';
import { tokenScopes } from '../shared/tokens';
import { brands } from '../store/brands';
import { deleteSubscription, getList, putSubscription } from '../store/lists';
import { listUserPreferences, putUserPreference, topics } from '../store/preferences';
import { tenantChain } from '../store/tenants';

/** The token's one user (and tenant), as the REST inbox requires; 403 otherwise. */
function caller(event: APIGatewayProxyEventV2): ClientCaller {
  const header = event.headers?.['x-courier-user-id'];
  const c = clientCaller(tokenScopes(event), header === undefined || header === '' ? undefined : header);
  if (!c.ok) throw new AuthorizationError(`Forbidden: ${c.error}`);
  return c.caller;
}

const loader: ClientLoader = {
  topics: async () => (await topics.list(MAX_TOPICS)).items,
  topic: async (topicId) => (await topics.get(topicId))?.doc,
  tenantLayers: async (tenantId) => {
    const chain = await tenantChain(tenantId, MAX_CONTEXT_LAYERS);
    return chain.length ? loadedLayers(chain) : undefined;
  },
  userPreferences: listUserPreferences,
  putUserPreference,
  brand: async (brandId) => {
    const b = await brands.get(brandId);
    return b && { id: b.id, settings: b.doc.settings };
  },
  defaultBrandId: config.DEFAULT_BRAND_ID,
};

const graphqlBody = z.object({
  query: z.string().min(1).max(MAX_QUERY_CHARS),
  variables: z.record(z.string(), z.unknown()).nullish(),
  operationName: z.string().max(256).nullish(),
});

/** A list the user may join: it exists and is not deleted (an end user never creates lists). */
async function openList(listId: string): Promise<void> {
  const list = await getList(listId);
  if (!list || list.archived) throw new NotFoundError(`List ${listId} not found`);
}

/** The token's own user only, with `write:preferences` (a subscription is the user's choice of what they receive). */
function subscriber(event: APIGatewayProxyEventV2, userId: string): void {
  const c = caller(event);
  if (c.userId !== userId) throw new AuthorizationError(`Forbidden: the token is not scoped to user ${userId}`);
  if (!c.scopes.has('write:preferences')) throw new AuthorizationError('Forbidden: the token lacks the write:preferences scope');
}

const listParams = z.object({ list_id: listIdSchema, user_id: pathId });

/**
 * What Courier's browser client (`@trycourier/courier-js` 3.x) sends to `apiUrls.courier.graphql`
 * (Courier's `/client/q`) and to its REST `/client/lists/...`, for a user token only.
 */
export const routes = [
  route({
    method: 'POST',
    path: '/client/q',
    body: graphqlBody,
    handler: async ({ body, event }) => ok(await runClientQuery(body, caller(event), loader)),
  }),
  route({
    method: 'PUT',
    path: '/client/lists/:list_id/subscribe/:user_id',
    params: listParams,
    handler: async ({ params, event }) => {
      subscriber(event, params.user_id);
      await openList(params.list_id);
      await putSubscription(params.list_id, params.user_id);
      return noContent();
    },
  }),
  route({
    method: 'DELETE',
    path: '/client/lists/:list_id/unsubscribe/:user_id',
    params: listParams,
    handler: async ({ params, event }) => {
      subscriber(event, params.user_id);
      await deleteSubscription(params.list_id, params.user_id);
      return noContent();
    },
  }),
];

export const handler = apiHandler(routes, { auth: 'userToken' });
