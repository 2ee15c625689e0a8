import { randomBytes } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * DynamoDB ends a Query page at 1 MB whatever its Limit. A page cut there must still say that more
 * follow: a request's job records (a few KB each) fill 1 MB long before 500 of them, and a listing
 * that stopped there would have lost the rest (the sweeper's check then counted too few records and
 * re-ran the fan-out).
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

it('pages through a partition whose items pass 1 MB before the page limit', async () => {
  const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  const { TABLE, queryPage } = require('../../lambdas/store/table') as typeof import('../../lambdas/store/table');
  const pk = uid('BIG#');
  for (let i = 0; i < 40; i++)
    await ddb.send(
      new PutCommand({ TableName: TABLE, Item: { pk, sk: `ITEM#${String(i).padStart(2, '0')}`, doc: randomBytes(45 * 1024).toString('base64') } }),
    );
  const first = await queryPage({ partition: pk, limit: 100 });
  expect(first.items.length).toBeLessThan(40);
  expect(first.cursor).toBeDefined();
  const all = [...first.items];
  for (let cursor = first.cursor; cursor;) {
    const page = await queryPage({ partition: pk, limit: 100, cursor });
    all.push(...page.items);
    cursor = page.cursor;
  }
  expect(all.map((i) => i.sk)).toEqual(Array.from({ length: 40 }, (_, i) => `ITEM#${String(i).padStart(2, '0')}`));
});
