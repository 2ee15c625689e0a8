import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactGetCommand, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { ensureTable } from '../../lambdas/local/resources';
import { uid } from '../helpers/wait';

/**
 * The cost counters price our users' bill, and AWS bills a transactional write at 2 write units per
 * item (per KB), a ConditionCheck included. The DynamoDB Local we run reports 1 per item, so every
 * transaction (the inbox item with its unread counter, audience member writes, template publishes)
 * was counted at half its price. The counters correct it; the first test pins the emulator's figure,
 * so an emulator that starts reporting AWS's own fails here rather than being doubled twice.
 */
const TABLE = uid('capacity');
const raw = new DynamoDBClient({ endpoint: process.env.TEST_DYNAMODB_ENDPOINT, region: 'us-east-1' });
const plain = DynamoDBDocumentClient.from(raw);

beforeAll(async () => {
  await ensureTable(raw, TABLE);
  process.env.DYNAMODB_ENDPOINT = process.env.TEST_DYNAMODB_ENDPOINT;
});

const twoPuts = (): TransactWriteCommandInput => ({
  TransactItems: [
    { Put: { TableName: TABLE, Item: { pk: uid('a'), sk: '1', doc: 'x' } } },
    { Put: { TableName: TABLE, Item: { pk: uid('b'), sk: '1', doc: 'x' } } },
  ],
});
const putAndCheck = (existing: string): TransactWriteCommandInput => ({
  TransactItems: [
    { Put: { TableName: TABLE, Item: { pk: uid('c'), sk: '1', doc: 'x' } } },
    { ConditionCheck: { TableName: TABLE, Key: { pk: existing, sk: '1' }, ConditionExpression: 'attribute_exists(pk)' } },
  ],
});

it('the emulator reports 1 write unit per item of a transaction (AWS bills 2)', async () => {
  const out = await plain.send(new TransactWriteCommand({ ...twoPuts(), ReturnConsumedCapacity: 'TOTAL' }));
  expect(out.ConsumedCapacity).toEqual([{ TableName: TABLE, CapacityUnits: 2 }]);
});

it('counts transactional writes at what AWS bills, and everything else as reported', async () => {
  const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  const usage = require('../../lambdas/shared/usage') as typeof import('../../lambdas/shared/usage');
  usage.countUsage();
  const wcuOf = async (send: () => Promise<unknown>) => {
    usage.resetUsage();
    await send();
    return usage.usageSnapshot().dynamodb;
  };
  const existing = uid('e');
  expect((await wcuOf(() => ddb.send(new PutCommand({ TableName: TABLE, Item: { pk: existing, sk: '1', doc: 'x' } })))).wcu).toBe(1);
  expect((await wcuOf(() => ddb.send(new TransactWriteCommand(twoPuts())))).wcu).toBe(4);
  expect((await wcuOf(() => ddb.send(new TransactWriteCommand(putAndCheck(existing))))).wcu).toBe(4);
  const get = await wcuOf(() =>
    ddb.send(
      new TransactGetCommand({
        TransactItems: [{ Get: { TableName: TABLE, Key: { pk: existing, sk: '1' } } }, { Get: { TableName: TABLE, Key: { pk: 'none', sk: '1' } } }],
      }),
    ),
  );
  expect([get.rcu, get.wcu]).toEqual([4, 0]);
});
