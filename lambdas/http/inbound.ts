import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { z } from 'zod';
import {
  basicAuthValid,
  InboundBodyError,
  parseCdpBody,
  segmentSignatureValid,
  tenantOfGroup,
  type InboundAction,
  type InboundSource,
} from '../domain/inbound';
import { apiHandler, handlerByPath, type ApiAuth } from '../shared/api';
import { config } from '../shared/config';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import { enqueueFanout } from '../shared/jobs';
import { mapLimit } from '../shared/pool';
import { accepted, ok, route } from '../shared/router';
import { secretSetting } from '../shared/secrets';
import { claimInbound, finishInbound, getInbound, type InboundRecord } from '../store/inbound';
import { mergeProfile, ProfileTooLarge, touchProfile } from '../store/profiles';
import { mappedTemplateId } from '../store/templates';
import { createTenantIfMissing, getMembership, putMembership } from '../store/tenants';
import { handler as providerEvents, routes as providerRoutes } from './provider-events';
import { bodyId, jsonObject } from './schemas';
import { acceptSend } from './send';

/** Events of one webhook request applied at once. */
const EVENTS_AT_ONCE = 8;

/**
 * A tracked event: sent to its user when a notification maps the event (`event_ids`), with the
 * properties as the send's data, through POST /send's path under an operation named after the
 * event (so a retry of a half-applied event finds the same request); else recorded UNMAPPED.
 */
async function applyTrack(record: InboundRecord, event: APIGatewayProxyEventV2): Promise<InboundRecord> {
  const notification = await mappedTemplateId(record.event!);
  if (notification === undefined) return { ...record, status: 'UNMAPPED' };
  if (record.userId === undefined) return { ...record, status: 'NO_USER', notification };
  const reply = await acceptSend(
    { to: { user_id: record.userId }, template: notification, data: record.properties ?? {}, metadata: { event: record.event } },
    event,
    { created: record.received, scope: `inbound:${record.source}:${record.messageId}` },
    { inline: false },
  );
  return { ...record, status: 'SENT', notification, requestId: (reply.body as { requestId: string }).requestId };
}

/** Audiences follow profiles and memberships: the user is re-evaluated, asynchronously. */
const audienceUser = (userId: string) => enqueueFanout([{ type: 'audience-user', userId }]);

/** Identify: the traits merged into the user's profile (POST /profiles/:id semantics). */
async function applyIdentify(record: InboundRecord, traits: Record<string, unknown>): Promise<InboundRecord> {
  if (record.userId === undefined) return { ...record, status: 'NO_USER' };
  try {
    await mergeProfile(record.userId, traits);
  } catch (e) {
    if (e instanceof ProfileTooLarge) return { ...record, status: 'FAILED', error: e.message };
    throw e;
  }
  await audienceUser(record.userId);
  return { ...record, status: 'APPLIED' };
}

/**
 * Group: the user becomes a member of the tenant named by groupId (seed 004), the tenant made from
 * the group's traits if there is none (domain/inbound.ts tenantOfGroup). An existing membership,
 * and its profile, stay as they are.
 */
async function applyGroup(record: InboundRecord, traits: Record<string, unknown>): Promise<InboundRecord> {
  if (record.userId === undefined) return { ...record, status: 'NO_USER' };
  const tenantId = record.groupId!;
  await createTenantIfMissing(tenantOfGroup(tenantId, traits));
  if (!(await getMembership(tenantId, record.userId))) {
    await putMembership(tenantId, record.userId);
    await touchProfile(record.userId);
    await audienceUser(record.userId);
  }
  return { ...record, status: 'APPLIED' };
}

/**
 * Claims the event's messageId and applies it: 'duplicate' when an earlier arrival applied it
 * already. An earlier arrival that stopped half-way (RECEIVED) is applied again, from what it
 * stored: each step is idempotent.
 */
async function receive(source: InboundSource, action: Exclude<InboundAction, { kind: 'ignored' }>, event: APIGatewayProxyEventV2) {
  const claim = await claimInbound({
    source,
    messageId: action.messageId,
    type: action.kind,
    ...(action.userId !== undefined ? { userId: action.userId } : {}),
    ...(action.kind === 'track' ? { event: action.event, properties: action.properties } : {}),
    ...(action.kind === 'group' ? { groupId: action.groupId } : {}),
  });
  if (!claim.claimed && claim.record.status !== 'RECEIVED') return { duplicate: true as const, record: claim.record };
  const record = claim.record;
  const done =
    record.type === 'track'
      ? await applyTrack(record, event)
      : record.type === 'identify'
        ? await applyIdentify(record, action.kind === 'identify' ? action.traits : {})
        : await applyGroup(record, action.kind === 'group' ? action.traits : {});
  await finishInbound(done);
  return { duplicate: false as const, record: done };
}

/** A webhook body's events applied (a refused body changes nothing); the destinations want a 2xx quickly. */
async function receiveBatch(source: InboundSource, body: unknown, event: APIGatewayProxyEventV2) {
  let actions: InboundAction[];
  try {
    actions = parseCdpBody(body);
  } catch (e) {
    if (e instanceof InboundBodyError) throw new ValidationError(e.message);
    throw e;
  }
  const results = await mapLimit(actions, EVENTS_AT_ONCE, (a) => (a.kind === 'ignored' ? Promise.resolve(undefined) : receive(source, a, event)));
  const handled = results.filter((r) => r !== undefined);
  return ok({
    received: actions.length,
    applied: handled.filter((r) => !r.duplicate).length,
    duplicates: handled.filter((r) => r.duplicate).length,
    ignored: results.length - handled.length,
  });
}

const header = (event: APIGatewayProxyEventV2, name: string): string | undefined =>
  Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1] ?? undefined;

const segmentAuth: ApiAuth = {
  webhook: async (event, rawBody) => {
    const secret = await secretSetting(config.SEGMENT_SHARED_SECRET, config.SEGMENT_SHARED_SECRET_PARAMETER);
    if (secret === undefined) return 'Unauthorized: the Segment webhook is not configured (SEGMENT_SHARED_SECRET)';
    if (!segmentSignatureValid(secret, rawBody, header(event, 'x-signature')))
      return 'Unauthorized: X-Signature must be the hex HMAC-SHA1 of the body under the shared secret';
    return undefined;
  },
};

const rudderstackAuth: ApiAuth = {
  webhook: async (event) => {
    const secret = await secretSetting(config.RUDDERSTACK_SHARED_SECRET, config.RUDDERSTACK_SHARED_SECRET_PARAMETER);
    if (secret === undefined) return 'Unauthorized: the RudderStack webhook is not configured (RUDDERSTACK_SHARED_SECRET)';
    if (!basicAuthValid(secret, header(event, 'authorization'))) return 'Unauthorized: Authorization must be Basic auth whose password is the shared secret';
    return undefined;
  },
};

const trackBody = z.object({
  type: z.literal('track'),
  event: bodyId,
  messageId: bodyId,
  properties: jsonObject,
  userId: bodyId.nullish(),
});

const courierRoutes = [
  route({
    method: 'POST',
    path: '/inbound/courier',
    body: trackBody,
    handler: async ({ body, event }) => {
      const { duplicate, record } = await receive(
        'courier',
        { kind: 'track', messageId: body.messageId, event: body.event, userId: body.userId ?? undefined, properties: body.properties },
        event,
      );
      // Courier: "If not unique, will respond with 409 Conflict status" (not to be retried).
      if (duplicate) throw new ConflictError(`Invalid request: body.messageId: event ${body.messageId} was received already (${record.status})`);
      return accepted({ messageId: body.messageId });
    },
  }),
  route({
    method: 'GET',
    path: '/inbound/events/:message_id',
    query: z.object({ source: z.enum(['courier', 'segment', 'rudderstack']).default('courier') }),
    handler: async ({ params, query }) => {
      const record = await getInbound(query.source, params.message_id);
      if (!record) throw new NotFoundError(`No ${query.source} inbound event ${params.message_id}`);
      return ok(record);
    },
  }),
];

const segmentRoutes = [route({ method: 'POST', path: '/inbound/segment', handler: async ({ event }) => receiveBatch('segment', event.body, event) })];
const rudderstackRoutes = [
  route({ method: 'POST', path: '/inbound/rudderstack', handler: async ({ event }) => receiveBatch('rudderstack', event.body, event) }),
];

export const routes = [...courierRoutes, ...segmentRoutes, ...rudderstackRoutes, ...providerRoutes];

/** The routes authenticated by a webhook's shared secret instead of an API key (the auth matrix reads it). */
export const WEBHOOK_PATHS = ['/inbound/segment', '/inbound/rudderstack', ...new Set(providerRoutes.map((r) => r.path))];

const courier = apiHandler(courierRoutes);
const segment = apiHandler(segmentRoutes, { auth: segmentAuth });
const rudderstack = apiHandler(rudderstackRoutes, { auth: rudderstackAuth });
export const handler = handlerByPath((path) => {
  const p = path.replace(/\/+$/, '');
  if (p.startsWith('/inbound/providers/')) return providerEvents;
  return p === '/inbound/segment' ? segment : p === '/inbound/rudderstack' ? rudderstack : courier;
});
