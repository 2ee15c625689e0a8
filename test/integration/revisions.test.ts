import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Issue 12, item 1: one optimistic-concurrency scheme. Every write gives an item a fresh `rev`, and
 * a write decided from a read is conditional on the `rev` read; message records used a numeric `v`
 * of their own. A record stored under the old scheme (a `v`, no `rev`) still takes the next write.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

type Messages = typeof import('../../lambdas/store/messages');
const store = () => require('../../lambdas/store/messages') as Messages;
const ddb = () => (require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws')).ddb;
const requestKeys = () => (require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys')).requestKeys;

async function delayedMessage(): Promise<{ id: string; requestId: string; key: { pk: string; sk: string } }> {
  const sent = await s.http('POST', '/send', {
    message: {
      to: { user_id: uid('u') },
      content: { title: 't', body: 'b' },
      routing: { method: 'single', channels: ['inbox'] },
      delay: { duration: 3_600_000 },
    },
  });
  expect(sent.status).toBe(202);
  // A single recipient's message id is the request's. Its record is written here as its first
  // worker would (DELAYED): the send itself writes none (docs/decisions.md D12).
  const requestId: string = sent.json.requestId;
  const req = (await store().getRequest(requestId))!;
  expect(await store().writeMessage(store().pendingRecord(req), 'absent')).toEqual({ rev: expect.any(String) });
  return { id: requestId, requestId, key: requestKeys().message(requestId, '-') };
}

const stored = async (key: { pk: string; sk: string }) => (await ddb().send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: key }))).Item!;

describe('message records', () => {
  it('carry a rev that every write replaces, and no numeric version', async () => {
    const { requestId, key } = await delayedMessage();
    const first = await stored(key);
    expect([typeof first.rev, first.v]).toEqual(['string', undefined]);

    const read = (await store().getMessage(requestId, '-'))!;
    const next = await store().writeMessage({ ...read.record, tags: ['x'] }, read.expected);
    expect(next).toEqual({ rev: expect.any(String) });
    expect((await stored(key)).rev).toBe((next as { rev: string }).rev);
    // The read it was decided from is stale now: a second write from it loses, as does a create.
    expect(await store().writeMessage(read.record, read.expected)).toBeUndefined();
    expect(await store().writeMessage(read.record, 'absent')).toBeUndefined();
  });

  it('stored with a numeric version and no rev still take the next write (a cancel)', async () => {
    const { id, key } = await delayedMessage();
    await ddb().send(
      new UpdateCommand({ TableName: process.env.TABLE_NAME, Key: key, UpdateExpression: 'SET v = :v REMOVE rev', ExpressionAttributeValues: { ':v': 3 } }),
    );

    const canceled = await s.http('POST', `/messages/${encodeURIComponent(id)}/cancel`);
    expect([canceled.status, canceled.json.status]).toEqual([200, 'CANCELED']);
    expect(typeof (await stored(key)).rev).toBe('string');
  });
});
