import { randomUUID } from 'node:crypto';
import { startTestStack, type TestStack } from '../helpers/stack';
import { openMarkers } from '../helpers/requests';
import { seedMembers } from '../helpers/seed';
import { uid } from '../helpers/wait';

/**
 * Jobs that re-enqueue themselves page by page (a chain), under duplicate deliveries: every SQS
 * record is handed to two invocations at once (`duplicateDeliveries`), so each job of a chain runs
 * twice and enqueues its successor twice. Each step must still be done by one queue message: a
 * duplicate that ran the rest of the chain would double it at every page after it.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ queuePrefix: `q-${randomUUID().slice(0, 8)}`, duplicateDeliveries: true, scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

/** Fan-out queue messages handled so far (each handed to two invocations). */
const fanoutRecords = () => s.workerStats().fanout.records;

type Table = typeof import('../../lambdas/store/table');
type Keys = typeof import('../../lambdas/store/keys');
const table = () => require('../../lambdas/store/table') as Table;
const { keys } = require('../../lambdas/store/keys') as Keys;

describe("a deleted tenant's cleanup", () => {
  it('walks a partition of 5 pages once, each page done by one queue message', async () => {
    // 20 members, removed, and 800 items newer than the deletion (a tenant of the same id made
    // again meanwhile: its template versions), kept: the pages of the walk stay as they are.
    const tenant = uid('big');
    await s.client.tenants.update(tenant, { name: tenant });
    const users = Array.from({ length: 20 }, (_, i) => `${tenant}-u${i}`);
    await seedMembers(tenant, users, () => ({}));
    const later = Date.now() + 86_400_000;
    const kept = Array.from({ length: 800 }, (_, i) => keys.tenantTemplateVersion(tenant, 'tpl', `v${String(i + 1).padStart(4, '0')}`));
    await table().batchWrite(kept.map((k) => ({ put: { ...k, _t: 'TenantTemplateVersion', doc: '{}', created: later, updated: later } })));
    await s.quiesce();
    const before = fanoutRecords();
    await s.client.tenants.delete(tenant);
    await s.quiesce(60_000);
    // Pages of 200: 5 cleanup jobs, and one audience-user job per member. A job's duplicate delivery
    // does its page again (enqueueing its successor and its members' jobs twice), no more: at most
    // 2 x (5 + 20). Before the claim, page k ran 2^k times: 31 cleanup jobs.
    const handled = fanoutRecords() - before;
    process.stdout.write(`job-chains: tenant cleanup: ${handled} fan-out records\n`);
    expect(handled).toBeLessThanOrEqual(2 * (5 + 20));
    for (const u of users.slice(0, 3)) expect((await s.client.users.tenants.list(u)).items ?? []).toEqual([]);
    let left = 0;
    for await (const page of table().queryAll({ partition: keys.tenant(tenant).pk })) left += page.length;
    expect(left).toBe(kept.length);
  });
});

type Messages = typeof import('../../lambdas/store/messages');
const messages = () => require('../../lambdas/store/messages') as Messages;

/** `fn` over `items`, `limit` at a time. */
async function each<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let i = next++; i < items.length; i = next++) await fn(items[i]);
    }),
  );
}

describe("the sweeper's check of an open request", () => {
  it('reads 5 pages of message records once, each page done by one queue message', async () => {
    // A list send's request whose fan-out is done, with 2,001 messages delivered and its open
    // marker due (as the fan-out and the delivery workers would leave it), written straight in.
    const { newRequestId, messageIdFor } = require('../../lambdas/domain/send') as typeof import('../../lambdas/domain/send');
    const { now } = require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');
    const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
    const { UpdateCommand } = require('@aws-sdk/lib-dynamodb') as typeof import('@aws-sdk/lib-dynamodb');
    const { requestKeys } = require('../../lambdas/store/keys') as Keys;
    const count = 2001;
    const requestId = newRequestId(now() - 600_000);
    const req = {
      requestId,
      message: { to: { list_id: uid('list') }, content: { title: 'x', body: 'x' } },
      enqueued: now() - 600_000,
      single: false,
    } as import('../../lambdas/store/messages').RequestRecord;
    await messages().createRequest(req, now() - 1000);
    await ddb.send(
      new UpdateCommand({
        TableName: table().TABLE,
        Key: requestKeys.request(requestId),
        UpdateExpression: 'SET fdone = :t, femitted = :n',
        ExpressionAttributeValues: { ':t': true, ':n': count },
      }),
    );
    const users = Array.from({ length: count }, (_, i) => `${requestId}-u${i}`);
    await each(users, 16, async (user) => {
      const record = messages().newMessageRecord(req, { messageId: messageIdFor(requestId, `u:${user}`), userId: user }, 'DELIVERED', now());
      await messages().writeMessage(record, 'absent');
    });
    await s.quiesce();
    const before = fanoutRecords();
    await s.runScheduled();
    await s.quiesce(60_000);
    // Pages of 500 records: 5 check jobs. A job's duplicate delivery reads its page again (and
    // enqueues its successor twice), no more: at most 2 x 5. Before the claim, page k ran 2^k times: 31.
    const handled = fanoutRecords() - before;
    process.stdout.write(`job-chains: request check: ${handled} fan-out records\n`);
    expect(handled).toBeLessThanOrEqual(2 * 5);
    // Every message is delivered: the last page closes the request.
    expect((await openMarkers()).filter((m) => m.requestId === requestId)).toEqual([]);
  });
});
