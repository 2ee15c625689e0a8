import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { idle as idleIn, runOf, settled } from '../helpers/automations';
import { HOUR, now, setClock } from '../helpers/clock';
import { messagesOf } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * A burst into one user's batch (issue 18 item 7): BATCH_BURST events (10,000 by default) invoked
 * at once, 64 in flight, all into the batch the first opened, produce exactly one message whose
 * count is the burst; every event is counted once and kept once. Reports what an event costs
 * (DynamoDB requests and units, SQS requests) to `.local/batch-burst-report.json`.
 */
const BURST = Number(process.env.BATCH_BURST ?? 10_000);
const IN_FLIGHT = 64;

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

type Mail = { via: string; to: string[]; subject: string };

it(`${BURST} events into one user's batch in a burst make exactly one message with count ${BURST}`, async () => {
  const usage = require('../../lambdas/shared/usage') as typeof import('../../lambdas/shared/usage');
  const { queryAll } = require('../../lambdas/store/table') as typeof import('../../lambdas/store/table');
  const { runKeys } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
  const t = await s.client.notifications.create({
    notification: {
      name: uid('burst'),
      tags: [],
      brand: null,
      subscription: null,
      routing: { method: 'single', channels: ['email'] },
      content: { title: 'Digest: {{batch.count}}', body: 'first:{{#batch.items}} {{n}}{{/batch.items}}' },
    },
    state: 'PUBLISHED',
  } as never);
  const user = uid('burst');
  await s.client.profiles.replace(user, { profile: { email: `${user}@example.test` } });
  const steps = [
    { action: 'batch', wait_period: 'PT30M', max_wait_period: 'PT2H', retain: { type: 'first', count: 3 } },
    { action: 'send', template: t.id },
  ];
  const invoke = async (n: number) =>
    (await s.client.automations.invoke.invokeAdHoc({ automation: { steps: steps as never }, recipient: user, data: { n } })).runId;

  // The first event opens the batch; then the burst.
  const owner = await invoke(0);
  await settled(s, owner, true);
  usage.resetUsage();
  const before = s.workerStats();
  const t0 = Date.now();
  let next = 1;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < BURST) await invoke(next++);
    }),
  );
  const invoked = Date.now() - t0;
  await idleIn(s);
  const seconds = (Date.now() - t0) / 1000;
  const cost = usage.usageSnapshot();
  const after = s.workerStats();

  // Every event joined the one batch: the owner still waits, and its events partition holds the burst, each once.
  expect((await runOf(s, owner)).status).toBe('running');
  let events = 0;
  const runs = new Set<string>();
  for await (const items of queryAll({ partition: runKeys.batchEvents(owner), consistent: true, pageSize: 1000 }))
    for (const i of items) {
      events += 1;
      runs.add(String(i.runId));
    }
  expect({ events, distinct: runs.size }).toEqual({ events: BURST, distinct: BURST });

  setClock(now() + 2 * HOUR + 60_000);
  await s.runScheduled();
  expect((await settled(s, owner)).steps[0]).toMatchObject({ status: 'done', count: BURST });
  await messagesOf(s, owner, 1);
  await idleIn(s);
  const mails = (s.captures() as unknown as Mail[]).filter((c) => c.via === 'smtp' && c.to.includes(`${user}@example.test`));
  expect(mails.map((m) => m.subject)).toEqual([`Digest: ${BURST}`]);

  const per = (n: number) => +(n / (BURST - 1)).toFixed(3);
  const report = {
    measuredAt: new Date().toISOString(),
    events: BURST,
    seconds,
    invokeSeconds: invoked / 1000,
    eventsPerSecond: Math.round(BURST / seconds),
    perEvent: {
      dynamoWRU: per(cost.dynamodb.wcu),
      dynamoRRU: per(cost.dynamodb.rcu),
      dynamoRequests: per(Object.values(cost.dynamodb.requests).reduce((a, b) => a + b, 0)),
      sqsRequests: per(Object.values(cost.sqs.requests).reduce((a, b) => a + b, 0)),
      fanoutInvocations: per(after.fanout.invocations - before.fanout.invocations),
    },
    dynamoRequests: cost.dynamodb.requests,
    sqsRequests: cost.sqs.requests,
  };
  const dir = path.resolve(__dirname, '../../.local');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'batch-burst-report.json'), JSON.stringify(report, null, 2));
  process.stdout.write(`\nbatch burst report: ${JSON.stringify({ ...report, dynamoRequests: undefined, sqsRequests: undefined })}\n`);
}, 600_000);
