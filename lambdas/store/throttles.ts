import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { conditional } from './conditional';
import { keys, type Key } from './keys';
import { TABLE } from './table';

/**
 * Lets message `messageId` through a topic's throttle window for a user, atomically: one UpdateItem
 * adds the id to the window's set unless the set already holds `limit` other ids. Adding an id twice
 * is a no-op, so a redelivered job passes again without counting twice. True: let through.
 */
export function passThrottle(input: {
  topicId: string;
  userId: string;
  windowStart: number;
  windowEnd: number;
  limit: number;
  messageId: string;
}): Promise<boolean> {
  return passCounter(keys.throttleCounter(input.topicId, input.userId, input.windowStart), input.windowEnd, input.limit, input.messageId);
}

/** The same for any counter item (a throttle step's: lambdas/store/keys.ts runKeys.throttle): `member` passes once at most `limit` others did. */
export function passCounter(counter: Key, windowEnd: number, limit: number, member: string): Promise<boolean> {
  const input = { windowEnd, limit, messageId: member };
  return conditional(
    new UpdateCommand({
      TableName: TABLE,
      Key: counter,
      UpdateExpression: 'ADD #ids :id SET #ttl = :ttl',
      ConditionExpression: 'attribute_not_exists(#ids) OR contains(#ids, :one) OR size(#ids) < :limit',
      ExpressionAttributeNames: { '#ids': 'ids', '#ttl': 'ttl' },
      ExpressionAttributeValues: {
        ':id': new Set([input.messageId]),
        ':one': input.messageId,
        ':limit': input.limit,
        ':ttl': Math.ceil(input.windowEnd / 1000) + 86_400,
      },
    }),
  );
}
