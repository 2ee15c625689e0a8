import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { OutputBlock } from '../../../lambdas/domain/render';
import { startTestStack, type TestStack } from '../../helpers/stack';
import { sendOf, type SendOver } from './recorder';

// Modules that read the table name when they load are required once the stack has set it.
let s: TestStack;
let inbox: typeof import('../../../lambdas/store/inbox');
let adapter: typeof import('../../../lambdas/providers/inbox');
let raw: DynamoDBDocumentClient;
beforeAll(async () => {
  s = await startTestStack();
  inbox = require('../../../lambdas/store/inbox');
  adapter = require('../../../lambdas/providers/inbox');
  raw = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: process.env.TEST_DYNAMODB_ENDPOINT, region: 'us-east-1' }));
});
afterAll(async () => {
  raw?.destroy();
  await s?.stop();
});

const blocks: OutputBlock[] = [{ type: 'action', text: 'Track', href: 'https://x.test/42' }];
const toInbox = (userId: string, messageId: string, over: SendOver<'inbox'> = {}) =>
  sendOf({
    messageId,
    idempotencyKey: `${messageId}:inbox`,
    channel: 'inbox',
    recipient: { userId, tenantId: 'acme' },
    address: true,
    content: { channel: 'inbox', title: 'Order 42 shipped', body: 'It is on its way.', blocks },
    ...over,
  });

describe('inbox adapter on DynamoDB Local', () => {
  it('stores one item keyed by user and message id, and reports DELIVERED', async () => {
    const result = await new adapter.InboxAdapter().send(toInbox('user#1', '1700000000001-a'));

    expect(result).toEqual({ status: 'DELIVERED' });
    const items = (
      await raw.send(
        new QueryCommand({ TableName: process.env.TABLE_NAME, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'INBOX#user%231' } }),
      )
    ).Items;
    expect(items).toEqual([
      expect.objectContaining({
        pk: 'INBOX#user%231',
        sk: 'MSG#1700000000001-a',
        _t: 'INBOX',
        messageId: '1700000000001-a',
        tenantId: 'acme',
        read: false,
        archived: false,
      }),
      // The user's unread counter (lambdas/store/inbox.ts), written in the same transaction.
      { pk: 'INBOX#user%231', sk: 'UNREAD', 'n|-|acme': 1 },
    ]);
    const { items: listed } = await inbox.listInbox('user#1', { limit: 10 });
    expect(listed).toEqual([
      {
        messageId: '1700000000001-a',
        tenantId: 'acme',
        title: 'Order 42 shipped',
        body: 'It is on its way.',
        blocks,
        created: expect.any(Number),
        read: false,
        archived: false,
        opened: false,
      },
    ]);
  });

  it('a retried delivery of the same message reports DELIVERED again and never creates a second item', async () => {
    const first = await new adapter.InboxAdapter().send(toInbox('user-2', '1700000000002-a'));
    const again = await new adapter.InboxAdapter().send(toInbox('user-2', '1700000000002-a', { content: { channel: 'inbox', title: 'changed' } }));

    expect([first.status, again.status]).toEqual(['DELIVERED', 'DELIVERED']);
    const { items } = await inbox.listInbox('user-2', { limit: 10 });
    expect(items.map((i) => [i.messageId, i.title])).toEqual([['1700000000002-a', 'Order 42 shipped']]);
    expect(await inbox.putInboxMessage('user-2', { messageId: '1700000000002-a', title: 'x' })).toBe(false);
  });

  it('lists newest first, page by page, and per tenant', async () => {
    for (const [id, tenantId] of [
      ['1700000000010-a', 'acme'],
      ['1700000000011-b', 'globex'],
      ['1700000000012-c', 'acme'],
      ['1700000000013-d', undefined],
    ] as const) {
      await inbox.putInboxMessage('user-3', { messageId: id, tenantId, title: id });
    }

    const first = await inbox.listInbox('user-3', { limit: 3 });
    expect(first.items.map((i) => i.messageId)).toEqual(['1700000000013-d', '1700000000012-c', '1700000000011-b']);
    const second = await inbox.listInbox('user-3', { limit: 3, cursor: first.cursor });
    expect([second.items.map((i) => i.messageId), second.cursor]).toEqual([['1700000000010-a'], undefined]);

    const acme = await inbox.listInbox('user-3', { tenantId: 'acme', limit: 10 });
    expect(acme.items.map((i) => i.messageId)).toEqual(['1700000000012-c', '1700000000010-a']);
    expect((await inbox.listInbox('user-3', { tenantId: 'initech', limit: 10 })).items).toEqual([]);
  });

  it('refuses a recipient without a user id as permanent', async () => {
    await expect(new adapter.InboxAdapter().send(toInbox('', '1700000000020-a', { recipient: {} }))).rejects.toMatchObject({ transient: false });
  });
});
