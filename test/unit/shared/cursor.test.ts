import { decodeCursor, encodeCursor } from '../../../lambdas/store/table';

describe('page cursors', () => {
  it('round-trips a LastEvaluatedKey for the same partition', () => {
    const key = { pk: 'TENANT#a', sk: 'MEMBER#u1' };
    expect(decodeCursor(encodeCursor(key), { pk: 'TENANT#a' })).toEqual(key);
  });

  it.each([
    ['garbage', 'not-a-cursor!!'],
    ['another partition', encodeCursor({ pk: 'TENANT#b', sk: 'MEMBER#u1' })!],
    ['a non-string key', Buffer.from(JSON.stringify({ pk: 'TENANT#a', sk: 1 })).toString('base64url')],
    ['JSON that is not an object', Buffer.from('[1]').toString('base64url')],
  ])('refuses %s with 400', (_, cursor) => {
    expect(() => decodeCursor(cursor, { pk: 'TENANT#a' })).toThrow(expect.objectContaining({ status: 400 }));
  });
});
