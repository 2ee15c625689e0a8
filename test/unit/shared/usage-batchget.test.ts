import { batchGetMissedUnits, readFloorUnits } from '../../../lambdas/shared/usage';

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

/** DynamoDB Local reports 0 for a Query that finds nothing; AWS bills every read its minimum. */
describe('readFloorUnits', () => {
  it.each<[string, string, { ConsistentRead?: boolean }, Parameters<typeof readFloorUnits>[2], number]>([
    ['an empty Query, eventually consistent', 'Query', {}, { CapacityUnits: 0 }, 0.5],
    ['an empty Query, strongly consistent', 'Query', { ConsistentRead: true }, { CapacityUnits: 0 }, 1],
    ['a Query with nothing reported', 'Query', {}, undefined, 0.5],
    ['a Query that read a unit', 'Query', {}, { CapacityUnits: 1 }, 0],
    ['a GetItem of a missing item', 'GetItem', {}, { CapacityUnits: 0 }, 0.5],
    ['a GetItem that found its half unit', 'GetItem', {}, { CapacityUnits: 0.5 }, 0],
    ['a strongly consistent GetItem reported at half', 'GetItem', { ConsistentRead: true }, { CapacityUnits: 0.5 }, 0.5],
    ['an empty Scan', 'Scan', {}, { ReadCapacityUnits: 0 }, 0.5],
    ['writes have no read floor', 'PutItem', {}, { CapacityUnits: 0 }, 0],
    ['batches are counted per key elsewhere', 'BatchGetItem', {}, undefined, 0],
  ])('%s', (_name, command, input, consumed, expected) => expect(readFloorUnits(command, input, consumed)).toBe(expected));
});
