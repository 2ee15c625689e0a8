import { batchGetMissedUnits } from '../../../lambdas/shared/usage';

/** DynamoDB Local reports no capacity for the keys a BatchGetItem does not find; AWS bills each its minimum read. */
describe('batchGetMissedUnits', () => {
  const keys = (n: number) => Array.from({ length: n }, (_, i) => ({ pk: String(i) }));
  it.each<[string, Parameters<typeof batchGetMissedUnits>[0], Parameters<typeof batchGetMissedUnits>[1], number]>([
    ['every key found', { RequestItems: { t: { Keys: keys(3) } } }, { Responses: { t: keys(3) } }, 0],
    ['none found, eventually consistent', { RequestItems: { t: { Keys: keys(4) } } }, { Responses: { t: [] } }, 2],
    ['none found, strongly consistent', { RequestItems: { t: { Keys: keys(4), ConsistentRead: true } } }, {}, 4],
    [
      'unprocessed keys are not misses',
      { RequestItems: { t: { Keys: keys(5) } } },
      { Responses: { t: keys(1) }, UnprocessedKeys: { t: { Keys: keys(2) } } },
      1,
    ],
    ['per table', { RequestItems: { a: { Keys: keys(2) }, b: { Keys: keys(2), ConsistentRead: true } } }, { Responses: { a: keys(1), b: [] } }, 2.5],
    ['no request items', {}, {}, 0],
  ])('%s', (_name, input, output, expected) => expect(batchGetMissedUnits(input, output)).toBe(expected));
});
