import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Issue 13 (docs/decisions.md D12): a single send's request is stored without a message record
 * (1 WRU less a send). Until a worker writes the record, the message is shown from its request:
 * by id, in its history, by recipient and by trace; a cancel writes it CANCELED, and the worker
 * then finds it cancelled. One delivered at once by the send function (D14) is stored by that
 * delivery's first write: when the message is finished then, its request item carries the record.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

const { requestKeys } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
const itemOf = async (key: { pk: string; sk: string }) =>
  (
    await (require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws')).ddb.send(
      new GetCommand({ TableName: process.env.TABLE_NAME, Key: key, ConsistentRead: true }),
    )
  ).Item;
const recordOf = (requestId: string) => itemOf(requestKeys.message(requestId, '-'));

const HOUR = 3600_000;

describe('a single send before its worker has run', () => {
  it('is cancelled by writing its record CANCELED; its worker then finds it cancelled and delivers nothing', async () => {
    const user = uid('cancelled');
    const sent = await s.http('POST', '/send', {
      message: { to: { user_id: user }, content: { title: 't', body: 'b' }, routing: { method: 'single', channels: ['inbox'] }, delay: { duration: 2000 } },
    });
    const id = sent.json.requestId as string;
    const cancel = await s.http('POST', `/messages/${id}/cancel`, {});
    expect([cancel.status, cancel.json.status]).toEqual([200, 'CANCELED']);
    expect((await recordOf(id))?.status).toBe('CANCELED');
    // Past the delay the worker runs: the message stays CANCELED and never reaches the inbox. The
    // stack is quiet only once its delayed job has come due and been handled (the first job here).
    await s.quiesce();
    expect(s.workerStats().delivery.records).toBeGreaterThanOrEqual(1);
    expect((await s.http('GET', `/messages/${id}`)).json.status).toBe('CANCELED');
    const token = (await s.http('POST', '/auth/issue-token', { scope: `user_id:${user} inbox:read:messages`, expires_in: '1h' })).json.token as string;
    expect((await s.http('GET', '/inbox/messages', undefined, { key: token })).json.results).toEqual([]);
  });

  it('delivered at once, is stored once: its request item carries its record, and no record item is written', async () => {
    const user = uid('done');
    const sent = await s.http('POST', '/send', {
      message: { to: { user_id: user }, content: { title: 't', body: 'b' }, routing: { method: 'single', channels: ['inbox'] } },
    });
    const id = sent.json.requestId as string;
    // Delivered by the send function before it answered (D14), and stored by its one write.
    expect((await s.http('GET', `/messages/${id}`)).json.status).toBe('DELIVERED');
    const history = await s.http('GET', `/messages/${id}/history`);
    expect(history.json.results.map((e: { type: string }) => e.type)).toEqual(['ENQUEUED', 'ROUTED', 'RENDERED', 'DELIVERED']);
    expect(await recordOf(id)).toBeUndefined();
    const request = await itemOf(requestKeys.request(id));
    expect(request?.rdoc !== undefined || request?.rdocz !== undefined).toBe(true);
    // Finished: the sweeper has nothing to look at (no walk flag, no open marker).
    expect(request?.walk).toBeUndefined();
    await s.quiesce();
    expect((await s.http('GET', `/messages/${id}`)).json.status).toBe('DELIVERED');
  });
  // Last: its message stays delayed for an hour (a quiesce after it would wait for it).
  it('has no record, and is shown from its request: by id, history, recipient and trace', async () => {
    const user = uid('pending');
    const trace = uid('trace');
    const sent = await s.http('POST', '/send', {
      message: {
        to: { user_id: user },
        content: { title: 't', body: 'b' },
        routing: { method: 'single', channels: ['inbox'] },
        delay: { duration: HOUR },
        metadata: { trace_id: trace },
      },
    });
    expect(sent.status).toBe(202);
    const id = sent.json.requestId as string;
    expect(await recordOf(id)).toBeUndefined();

    const shown = await s.http('GET', `/messages/${id}`);
    expect([shown.status, shown.json.id, shown.json.status, shown.json.recipient]).toEqual([200, id, 'DELAYED', user]);
    const history = await s.http('GET', `/messages/${id}/history`);
    expect(history.json.results.map((e: { type: string }) => e.type)).toEqual(['DELAYED']);
    for (const query of [`recipient=${user}`, `traceId=${trace}`, `messageId=${id}`])
      expect((await s.http('GET', `/messages?${query}`)).json.results.map((m: { id: string; status: string }) => [m.id, m.status])).toEqual([[id, 'DELAYED']]);
  });
});
