import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { z } from 'zod';
import { parseClientMessage, subscription, type ClientMessage, type ServerAnswer } from '../domain/inbox-socket';
import { idSchema } from '../domain/ids';
import { inboxAccess } from '../domain/tokens';
import { closeConnection } from '../services/inbox-push';
import { now } from '../shared/clock';
import { config } from '../shared/config';
import { ApiError, AuthenticationError, AuthorizationError } from '../shared/errors';
import { logger } from '../shared/logger';
import { verifyUserToken } from '../shared/tokens';
import { deleteConnection, getConnection, listConnections, putConnection, setSubscription } from '../store/sockets';

/**
 * The realtime inbox socket (README "The realtime inbox socket"): the one function behind the
 * WebSocket API's `$connect`, `$disconnect` and `$default` routes, speaking what courier-js 3.4.0's
 * CourierInboxSocket speaks. `$default`'s answer is sent back to the client (the route's response).
 */
interface Result {
  statusCode: number;
  body?: string;
}

const refused = (e: ApiError): Result => ({ statusCode: e.status, body: JSON.stringify({ message: e.message, type: e.type }) });
const answer = (a: ServerAnswer | undefined): Result => ({ statusCode: 200, ...(a ? { body: JSON.stringify(a) } : {}) });

/** `?auth=<jwt>&userId=<id>&...` of the client's URL (the others, `cid`, `iwpv`, the SDK's name and version, are not used). */
const connectQuery = z.looseObject({ auth: z.string().min(1).max(8192), userId: idSchema.optional() });

/**
 * `$connect`: the user token in `?auth=` is verified as on the inbox routes (signature, expiry,
 * revocation: 401; exactly one `user_id` and `inbox:read:messages`: 403), `?userId=` must be its
 * user (403), and a token scoped to a tenant binds the connection to it; the token's issue and expiry
 * times are kept with the connection (a push closes it once the token no longer holds). Past the user's connection
 * limit the oldest connections are closed. A non-2xx answer fails the client's handshake.
 */
async function connect(event: APIGatewayProxyWebsocketEventV2): Promise<Result> {
  const query = connectQuery.safeParse(event.queryStringParameters ?? {});
  if (!query.success) {
    if (query.error.issues.every((i) => i.path[0] === 'userId')) throw new AuthorizationError('Forbidden: userId must be a user id of 1-256 characters');
    throw new AuthenticationError('Unauthorized: the socket URL needs ?auth=<user token>');
  }
  const token = await verifyUserToken(query.data.auth);
  const access = inboxAccess(token.scopes, 'inbox:read:messages');
  if (!access.ok) throw new AuthorizationError(`Forbidden: ${access.error}`);
  if (query.data.userId !== undefined && query.data.userId !== access.userId)
    throw new AuthorizationError('Forbidden: userId names another user than the token');
  const { connectionId } = event.requestContext;
  const open = await listConnections(access.userId);
  const excess = open.length + 1 - config.SOCKET_MAX_CONNECTIONS_PER_USER;
  for (const old of open.slice(0, Math.max(0, excess))) await closeConnection(old.connectionId);
  await putConnection({
    connectionId,
    userId: access.userId,
    tokenTenantId: access.tenantId,
    connectedAt: now(),
    tokenIssuedAt: token.issuedAt,
    tokenExpiresAt: token.expiresAt,
  });
  logger.info('socket connected', { connectionId, closedOldest: Math.max(0, excess) });
  return { statusCode: 200 };
}

/** A client action: its answer (none for `pong`), or an error answer for a message that is refused. */
async function act(connectionId: string, m: ClientMessage): Promise<ServerAnswer | undefined> {
  switch (m.action) {
    case 'ping':
      return { tid: m.tid, response: 'pong' };
    case 'pong':
      return undefined;
    case 'get-config':
      return {
        tid: m.tid,
        response: 'config',
        data: { pingInterval: config.SOCKET_PING_INTERVAL_SECONDS, maxOutstandingPings: config.SOCKET_MAX_OUTSTANDING_PINGS },
      };
    case 'subscribe':
    case 'unsubscribe': {
      const c = await getConnection(connectionId);
      if (!c) return { tid: m.tid, response: 'error', data: { message: 'this connection is closed; connect again' } };
      if (m.action === 'unsubscribe') {
        await setSubscription(connectionId, false, c.tenantId);
        return { tid: m.tid, response: 'ack' };
      }
      const s = subscription(c, m.data);
      if (!s.ok) return { tid: m.tid, response: 'error', data: { message: s.message } };
      if (!(await setSubscription(connectionId, true, s.tenantId))) return { tid: m.tid, response: 'error', data: { message: 'this connection is closed' } };
      return { tid: m.tid, response: 'ack' };
    }
  }
}

/** `$default`: one client message, at most SOCKET_MAX_CLIENT_MESSAGE_BYTES (a larger one closes the connection). */
async function message(event: APIGatewayProxyWebsocketEventV2): Promise<Result> {
  const { connectionId } = event.requestContext;
  const body = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  if (Buffer.byteLength(body) > config.SOCKET_MAX_CLIENT_MESSAGE_BYTES) {
    logger.warn('socket message too large: connection closed', { connectionId, bytes: Buffer.byteLength(body) });
    await closeConnection(connectionId);
    return { statusCode: 200 };
  }
  const parsed = parseClientMessage(body);
  return answer(parsed.ok ? await act(connectionId, parsed.message) : parsed.answer);
}

export async function handler(event: APIGatewayProxyWebsocketEventV2): Promise<Result> {
  try {
    switch (event.requestContext.eventType) {
      case 'CONNECT':
        return await connect(event);
      case 'DISCONNECT':
        await deleteConnection(event.requestContext.connectionId);
        return { statusCode: 200 };
      case 'MESSAGE':
        return await message(event);
    }
  } catch (e) {
    if (e instanceof ApiError) return refused(e);
    logger.error('socket route failed', { routeKey: event.requestContext.routeKey, error: String(e) });
    return { statusCode: 500, body: JSON.stringify({ message: 'Internal Server Error', type: 'api_error' }) };
  }
}
