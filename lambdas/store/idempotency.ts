import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws';
import { idempotencyRecordKey } from './keys';
import { isConditionFailure, TABLE } from './table';

/** A response as it is replayed: status, the headers worth replaying, the body text. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}

/** What another request left under the same scoped key. */
export interface IdempotencyRecord {
  state: 'IN_FLIGHT' | 'COMPLETED';
  /** SHA-256 of the raw request body of the request that claimed the key. */
  bodyHash: string;
  response?: StoredResponse;
}

export interface ClaimInput {
  bodyHash: string;
  /** When the record expires (epoch seconds, the `ttl` attribute). */
  expiresAt: number;
  /** How long the claimant may stay in flight before another request may take the key over. */
  leaseMs: number;
  now: number;
}

export type Claim = { claimed: true; token: string } | { claimed: false; existing: IdempotencyRecord | undefined };

/** The persistence the idempotency middleware needs (a fake in unit tests). */
export interface IdempotencyStore {
  /** Creates the in-flight record unless a live one exists; the conditional write decides races. */
  claim(scopeHash: string, input: ClaimInput): Promise<Claim>;
  /** Stores the response with the record, if `token` still owns it. */
  complete(scopeHash: string, token: string, response: StoredResponse): Promise<void>;
  /** Deletes the record, if `token` still owns it, so the client may retry with the same key. */
  release(scopeHash: string, token: string): Promise<void>;
}

/**
 * Item layout (pk `IDEMPOTENCY#<sha256>`, sk `IDEMPOTENCY`): `state` IN_FLIGHT | COMPLETED,
 * `bodyHash`, `owner` (a token of the request holding it), `leaseUntil` (epoch ms), `ttl` (epoch s,
 * DynamoDB's expiry, checked here too since the sweep lags), `created`, and once completed `doc`:
 * the StoredResponse as JSON text.
 *
 * The claim is one conditional PutItem: it succeeds when no live record exists, when the record has
 * expired, or when an in-flight record with the same body outlived its lease (the function died
 * mid-request). Whoever loses the write reads the winner's record; a record that vanished in
 * between (released) is claimed again.
 */
export const dynamoIdempotencyStore: IdempotencyStore = {
  async claim(scopeHash, { bodyHash, expiresAt, leaseMs, now }) {
    const key = idempotencyRecordKey(scopeHash);
    for (let attempt = 0; attempt < 3; attempt++) {
      const token = randomUUID();
      try {
        await ddb.send(
          new PutCommand({
            TableName: TABLE,
            Item: { ...key, _t: 'Idempotency', state: 'IN_FLIGHT', bodyHash, owner: token, leaseUntil: now + leaseMs, ttl: expiresAt, created: now },
            ConditionExpression:
              'attribute_not_exists(pk) OR #ttl <= :nowS OR (#state = :inFlight AND #leaseUntil < :now AND #bodyHash = :bodyHash)',
            ExpressionAttributeNames: { '#ttl': 'ttl', '#state': 'state', '#leaseUntil': 'leaseUntil', '#bodyHash': 'bodyHash' },
            ExpressionAttributeValues: { ':nowS': Math.floor(now / 1000), ':inFlight': 'IN_FLIGHT', ':now': now, ':bodyHash': bodyHash },
          }),
        );
        return { claimed: true, token };
      } catch (e) {
        if (!isConditionFailure(e)) throw e;
      }
      const out = await ddb.send(new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: true }));
      const item = out.Item;
      if (item && Number(item.ttl) > Math.floor(now / 1000)) {
        return {
          claimed: false,
          existing: {
            state: item.state === 'COMPLETED' ? 'COMPLETED' : 'IN_FLIGHT',
            bodyHash: String(item.bodyHash),
            response: typeof item.doc === 'string' ? (JSON.parse(item.doc) as StoredResponse) : undefined,
          },
        };
      }
    }
    return { claimed: false, existing: undefined };
  },

  async complete(scopeHash, token, response) {
    try {
      await ddb.send(
        new UpdateCommand({
          TableName: TABLE,
          Key: idempotencyRecordKey(scopeHash),
          UpdateExpression: 'SET #state = :completed, #doc = :doc REMOVE #leaseUntil',
          ConditionExpression: '#owner = :token',
          ExpressionAttributeNames: { '#state': 'state', '#doc': 'doc', '#leaseUntil': 'leaseUntil', '#owner': 'owner' },
          ExpressionAttributeValues: { ':completed': 'COMPLETED', ':doc': JSON.stringify(response), ':token': token },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  },

  async release(scopeHash, token) {
    try {
      await ddb.send(
        new DeleteCommand({
          TableName: TABLE,
          Key: idempotencyRecordKey(scopeHash),
          ConditionExpression: '#owner = :token',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':token': token },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  },
};
