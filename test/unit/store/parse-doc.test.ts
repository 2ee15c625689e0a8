/** Store reads parse documents by their schema (issue 12, item 1): a wrong stored shape is an error naming the item, never a miscast value. */
import { z } from 'zod';
import { parseDoc } from '../../../lambdas/store/table';

const schema = z.looseObject({ id: z.string(), latest: z.number(), published: z.number().optional() });
const item = (doc: unknown) => ({ pk: 'TENANT#t1', sk: 'TEMPLATE#x', doc: JSON.stringify(doc) });

describe('parseDoc', () => {
  it.each<[string, unknown]>([
    ['the fields it names', { id: 'x', latest: 2 }],
    ['optional fields', { id: 'x', latest: 2, published: 1 }],
    ['fields it does not name, kept as stored', { id: 'x', latest: 2, extra: { deep: [1, null] } }],
  ])('reads a document with %s', (_, doc) => {
    expect(parseDoc(item(doc), schema)).toEqual(doc);
  });

  it.each<[string, unknown]>([
    ['a missing field', { id: 'x' }],
    ['a field of the wrong type', { id: 'x', latest: '2' }],
    ['not an object', ['x', 2]],
    ['null', null],
  ])('refuses a document with %s, naming the item', (_, doc) => {
    expect(() => parseDoc(item(doc), schema)).toThrow(/^stored document TENANT#t1 \/ TEMPLATE#x does not match its schema/);
  });
});
