import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { SocketConnection } from '../domain/inbox-socket';
import { ddb } from '../shared/aws';
import { now } from '../shared/clock';
import { SOCKET_MAX_MS } from '../shared/topology';
import { conditional } from './conditional';
import { GSI1, keys } from './keys';
import { checkStored, TABLE } from './table';

/**
 * Open connections of the realtime inbox socket: one item per connection (keys.socketConnection),
 * listed per user through gsi1, oldest first. The item expires (DynamoDB TTL) a minute after API
 * Gateway's 2-hour maximum, so a connection whose `$disconnect` never ran goes too; until TTL deletes
 * it, reads skip it.
 */
const SOCKET = 'SOCKET';
const EXPIRY_MARGIN_MS = 60_000;

export interface StoredConnection extends SocketConnection {
  /** The token's `tenant_id` scope, if any: a subscription may not name another tenant. */
  tokenTenantId?: string;
}

const stored = z.object({
  connectionId: z.string(),
  userId: z.string(),
  tenantId: z.string().optional(),
  tokenTenantId: z.string().optional(),
  subscribed: z.boolean(),
  connectedAt: z.number(),
  tokenIssuedAt: z.number().optional(),
  tokenExpiresAt: z.number().optional(),
  ttl: z.number(),
});

const toConnection = (item: Record<string, unknown>): StoredConnection | undefined => {
  const c = checkStored(item, stored.loose(), `${String(item.pk)} / ${String(item.sk)}`);
  if (c.ttl * 1000 <= now()) return undefined;
  return {
    connectionId: c.connectionId,
    userId: c.userId,
    subscribed: c.subscribed,
    connectedAt: c.connectedAt,
    ...(c.tenantId !== undefined ? { tenantId: c.tenantId } : {}),
    ...(c.tokenTenantId !== undefined ? { tokenTenantId: c.tokenTenantId } : {}),
    ...(c.tokenIssuedAt !== undefined ? { tokenIssuedAt: c.tokenIssuedAt } : {}),
    ...(c.tokenExpiresAt !== undefined ? { tokenExpiresAt: c.tokenExpiresAt } : {}),
  };
};

/** Stores a new connection, not subscribed yet (one PutItem; its gsi1 copy lists it under its user). */
export async function putConnection(c: {
  connectionId: string;
  userId: string;
  tokenTenantId?: string;
  connectedAt: number;
  tokenIssuedAt?: number;
  tokenExpiresAt?: number;
}): Promise<void> {
  await ddb.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        ...keys.socketConnection(c.connectionId),
        ...keys.socketConnectionIndex(c.userId, c.connectedAt, c.connectionId),
        _t: SOCKET,
        connectionId: c.connectionId,
        userId: c.userId,
        ...(c.tokenTenantId !== undefined ? { tokenTenantId: c.tokenTenantId, tenantId: c.tokenTenantId } : {}),
        subscribed: false,
        connectedAt: c.connectedAt,
        ...(c.tokenIssuedAt !== undefined ? { tokenIssuedAt: c.tokenIssuedAt } : {}),
        ...(c.tokenExpiresAt !== undefined ? { tokenExpiresAt: c.tokenExpiresAt } : {}),
        ttl: Math.ceil((c.connectedAt + SOCKET_MAX_MS + EXPIRY_MARGIN_MS) / 1000),
      },
    }),
  );
}

/** One connection by its id (one GetItem), unless it is gone or expired. */
export async function getConnection(connectionId: string): Promise<StoredConnection | undefined> {
  const out = await ddb.send(new GetCommand({ TableName: TABLE, Key: keys.socketConnection(connectionId), ConsistentRead: true }));
  return out.Item ? toConnection(out.Item) : undefined;
}

/**
 * The user's open connections, oldest first: one Query of the user's gsi1 partition (an index read
 * is eventually consistent: a connection made a moment ago may be missing; its client reads its
 * inbox when it opens anyway). A user holds at most SOCKET_MAX_CONNECTIONS_PER_USER of them, so one
 * page holds them all.
 */
export async function listConnections(userId: string): Promise<StoredConnection[]> {
  const out = await ddb.send(
    new QueryCommand({
      TableName: TABLE,
      IndexName: GSI1,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.userSockets(userId) },
    }),
  );
  return (out.Items ?? []).flatMap((item) => toConnection(item) ?? []);
}

/** Sets what a connection receives: subscribed (bound to `tenantId` when given) or not. False when the connection is gone. */
export function setSubscription(connectionId: string, subscribed: boolean, tenantId: string | undefined): Promise<boolean> {
  return conditional(
    new UpdateCommand({
      TableName: TABLE,
      Key: keys.socketConnection(connectionId),
      UpdateExpression: tenantId === undefined ? 'SET subscribed = :s REMOVE tenantId' : 'SET subscribed = :s, tenantId = :t',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':s': subscribed, ...(tenantId !== undefined ? { ':t': tenantId } : {}) },
    }),
  );
}

/** Forgets a connection (closed, or gone for API Gateway). */
export async function deleteConnection(connectionId: string): Promise<void> {
  await ddb.send(new DeleteCommand({ TableName: TABLE, Key: keys.socketConnection(connectionId) }));
}
