import { ApiGatewayManagementApiClient, DeleteConnectionCommand, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { envelope, receives, tokenHolds, type InboxEvent } from '../domain/inbox-socket';
import { now } from '../shared/clock';
import { tokensValidAfter } from '../store/token-revocations';
import { observeCalls } from '../shared/aws';
import { config } from '../shared/config';
import { logger } from '../shared/logger';
import { deleteConnection, listConnections } from '../store/sockets';

/**
 * Pushes to the realtime inbox socket's connections (README "The realtime inbox socket") through
 * API Gateway's management API (`WEBSOCKET_MANAGEMENT_URL`; the local runner answers the same
 * calls). A connection API Gateway reports gone (410) is forgotten.
 */
let client: ApiGatewayManagementApiClient | undefined;
const management = (url: string): ApiGatewayManagementApiClient =>
  (client ??= observeCalls(new ApiGatewayManagementApiClient({ region: config.AWS_REGION, endpoint: url }), 'apigatewaymanagementapi'));

const isGone = (e: unknown): boolean => e instanceof GoneException || (e as { name?: string }).name === 'GoneException';

/** Sends `data` to one connection: true when sent, false when the connection is gone (its item is then deleted). */
export async function postToConnection(connectionId: string, data: unknown): Promise<boolean> {
  if (!config.WEBSOCKET_MANAGEMENT_URL) return false;
  try {
    await management(config.WEBSOCKET_MANAGEMENT_URL).send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: JSON.stringify(data) }));
    return true;
  } catch (e) {
    if (!isGone(e)) throw e;
    await deleteConnection(connectionId);
    return false;
  }
}

/** Closes a connection (API Gateway sends the client a close frame) and forgets it; one already gone is only forgotten. */
export async function closeConnection(connectionId: string): Promise<void> {
  if (config.WEBSOCKET_MANAGEMENT_URL) {
    try {
      await management(config.WEBSOCKET_MANAGEMENT_URL).send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (e) {
      if (!isGone(e)) throw e;
    }
  }
  await deleteConnection(connectionId);
}

/**
 * Pushes one inbox change to every connection of `userId` that receives it (domain/inbox-socket.ts
 * `receives`): one Query of the user's connections and, when one receives it, one GetItem of the
 * user's token revocation (a connection whose token expired or was revoked is closed instead),
 * then one post each. Never fails its caller: the
 * change is stored, and a client that missed it sees it at its next listing; a failure is logged.
 */
export async function pushInboxEvent(userId: string, event: InboxEvent): Promise<void> {
  if (!config.WEBSOCKET_MANAGEMENT_URL) return;
  try {
    const receiving = (await listConnections(userId)).filter((c) => receives(c, event));
    if (!receiving.length) return;
    // A connection outlives its token: one expired, or issued before the user's tokens were revoked, gets nothing and is closed.
    const validAfter = await tokensValidAfter(userId);
    const at = now();
    const stale = receiving.filter((c) => !tokenHolds(c, at, validAfter));
    await Promise.all(stale.map((c) => closeConnection(c.connectionId)));
    const targets = receiving.filter((c) => tokenHolds(c, at, validAfter));
    if (!targets.length) return;
    const data = envelope(event, config.SOCKET_MAX_PUSH_BYTES);
    const results = await Promise.allSettled(targets.map((c) => postToConnection(c.connectionId, data)));
    const failed = results.filter((r) => r.status === 'rejected');
    if (failed.length)
      logger.warn('inbox push failed for some connections', {
        event: event.event,
        connections: targets.length,
        failed: failed.length,
        error: String((failed[0] as PromiseRejectedResult).reason),
      });
  } catch (e) {
    logger.warn('inbox push failed', { event: event.event, error: String(e) });
  }
}
