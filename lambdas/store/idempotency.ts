import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ddb } from '../shared/aws';
import { idempotencyRecordKey } from './keys';
import { changed, conditional, conditionalWrite, retryOnConflict } from './conditional';
import { parseDoc, TABLE } from './table';

/** A response as it is replayed: status, the headers worth replaying, the body text. */
const storedResponse = z.object({
  status: z.number(),
  headers: z.record(z.string(), z.string()),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
});
export type StoredResponse = z.infer<typeof storedResponse>;
/** What a completed record stores in `doc` (complete); keys beyond these are kept as stored. */
export const storedResponseSchema: z.ZodType<StoredResponse> = storedResponse.loose();

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

/**
 * A won claim: `token` owns the record; `created` is when this key's operation first claimed it,
 * kept when a later request takes over an abandoned claim, so work named after it (a request id)
 * is named the same on every attempt.
 */
export type Claim = { claimed: true; token: string; created: number } | { claimed: false; existing: IdempotencyRecord | undefined };

/** The persistence the idempotency middleware needs (a fake in unit tests). */
export interface IdempotencyStore {
  /** Creates the in-flight record unless a live one exists; the conditional write decides races. */
  claim(scopeHash: string, input: ClaimInput): Promise<Claim>;
  /** Stores the response with the record, if `token` still owns it. */
  complete(scopeHash: string, token: string, response: StoredResponse): Promise<void>;
  /** Deletes the record, if `token` still owns it, so the client may retry with the same key. */
  release(scopeHash: string, token: string): Promise<void>;
  /**
   * Ends `token`'s lease at once but keeps the record (its `created` above all): for a request that
   * failed after it changed something. A retry takes it over and repeats the same operation.
   */
  abandon(scopeHash: string, token: string): Promise<void>;
}

/**
 * Item layout (pk `IDEMPOTENCY#<sha256>`, sk `IDEMPOTENCY`): `state` IN_FLIGHT | COMPLETED,
 * `bodyHash`, `owner` (a token of the request holding it), `leaseUntil` (epoch ms), `ttl` (epoch s,
 * DynamoDB's expiry, checked here too since the sweep lags), `created`, and once completed `doc`:
 * the StoredResponse as JSON text.
 *
 * A claim is a conditional PutItem when no live record exists (or it expired), else a conditional
 * UpdateItem that takes over an in-flight record with the same body whose lease ended (the function
 * died mid-request, or the request abandoned it after a failure), keeping its `created`. Whoever
 * loses both writes reads the winner's record; a record that vanished in between (released) is
 * claimed again.
 */
export const dynamoIdempotencyStore: IdempotencyStore = {
  claim(scopeHash, { bodyHash, expiresAt, leaseMs, now }) {
    const key = idempotencyRecordKey(scopeHash);
    return retryOnConflict<Claim>(
      async () => {
        const token = randomUUID();
        // A new operation: no record, or only an expired one.
        const created = await conditional(
          new PutCommand({
            TableName: TABLE,
            Item: { ...key, _t: 'Idempotency', state: 'IN_FLIGHT', bodyHash, owner: token, leaseUntil: now + leaseMs, ttl: expiresAt, created: now },
            ConditionExpression: 'attribute_not_exists(pk) OR #ttl <= :nowS',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':nowS': Math.floor(now / 1000) },
          }),
        );
        if (created) return { claimed: true, token, created: now };
        // The same operation again: an in-flight claim with the same body whose lease ran out (its
        // function died) or was abandoned after a failure. `created` stays.
        const taken = await conditionalWrite(
          new UpdateCommand({
            TableName: TABLE,
            Key: key,
            UpdateExpression: 'SET #owner = :token, #leaseUntil = :lease',
            ConditionExpression: '#ttl > :nowS AND #state = :inFlight AND #leaseUntil < :now AND #bodyHash = :bodyHash',
            ExpressionAttributeNames: { '#owner': 'owner', '#leaseUntil': 'leaseUntil', '#ttl': 'ttl', '#state': 'state', '#bodyHash': 'bodyHash' },
            ExpressionAttributeValues: {
              ':token': token,
              ':lease': now + leaseMs,
              ':nowS': Math.floor(now / 1000),
              ':inFlight': 'IN_FLIGHT',
              ':now': now,
              ':bodyHash': bodyHash,
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        if (taken) return { claimed: true, token, created: Number(taken.Attributes?.created ?? now) };
        const item = (await ddb.send(new GetCommand({ TableName: TABLE, Key: key, ConsistentRead: true }))).Item;
        // Gone (released) or expired between the writes and this read: claim it again.
        if (!item || Number(item.ttl) <= Math.floor(now / 1000)) throw changed('The idempotency record of this key');
        return {
          claimed: false,
          existing: {
            state: item.state === 'COMPLETED' ? 'COMPLETED' : 'IN_FLIGHT',
            bodyHash: String(item.bodyHash),
            response: typeof item.doc === 'string' ? parseDoc({ ...key, doc: item.doc }, storedResponseSchema) : undefined,
          },
        };
      },
      { attempts: 3 },
    );
  },

  async complete(scopeHash, token, response) {
    await conditional(
      new UpdateCommand({
        TableName: TABLE,
        Key: idempotencyRecordKey(scopeHash),
        UpdateExpression: 'SET #state = :completed, #doc = :doc REMOVE #leaseUntil',
        ConditionExpression: '#owner = :token',
        ExpressionAttributeNames: { '#state': 'state', '#doc': 'doc', '#leaseUntil': 'leaseUntil', '#owner': 'owner' },
        ExpressionAttributeValues: { ':completed': 'COMPLETED', ':doc': JSON.stringify(response), ':token': token },
      }),
    );
  },

  async abandon(scopeHash, token) {
    await conditional(
      new UpdateCommand({
        TableName: TABLE,
        Key: idempotencyRecordKey(scopeHash),
        UpdateExpression: 'SET #leaseUntil = :zero',
        ConditionExpression: '#owner = :token',
        ExpressionAttributeNames: { '#leaseUntil': 'leaseUntil', '#owner': 'owner' },
        ExpressionAttributeValues: { ':zero': 0, ':token': token },
      }),
    );
  },

  async release(scopeHash, token) {
    await conditional(
      new DeleteCommand({
        TableName: TABLE,
        Key: idempotencyRecordKey(scopeHash),
        ConditionExpression: '#owner = :token',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':token': token },
      }),
    );
  },
};
