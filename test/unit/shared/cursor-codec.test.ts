import { z } from 'zod';
import { packCursor, unpackCursor } from '../../../lambdas/shared/cursor';

const schema = z.object({ b: z.number().int(), r: z.string().optional() });

describe('the cursor codec', () => {
  it('round-trips what its query wrote', () => {
    expect(unpackCursor(packCursor({ b: 7, r: 'x' }), schema)).toEqual({ b: 7, r: 'x' });
  });

  it.each([
    ['garbage', 'not-a-cursor!!'],
    ['JSON of another shape', packCursor({ pk: 'TENANT#a' })],
    ['a wrong type', packCursor({ b: 'seven' })],
    ['empty', ''],
  ])('refuses %s with a 400 naming query.cursor', (_name, cursor) => {
    expect(() => unpackCursor(cursor, schema)).toThrow(
      expect.objectContaining({ status: 400, message: 'Invalid request: query.cursor is not a valid cursor' }),
    );
  });
});
