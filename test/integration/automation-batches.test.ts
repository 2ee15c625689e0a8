import { randomUUID } from 'node:crypto';
import { emailTemplate, idle as idleIn, runOf as runOfIn, settled as settledIn, sweep as sweepIn } from '../helpers/automations';
import { DAY, HOUR, nextTransition, now, setClock, zoneOffset } from '../helpers/clock';
import { messagesOf } from '../helpers/send';
import type { TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';

/**
 * Batch (digest) and throttle steps of automations (issue 18 items 3, 4 and 7; docs/decisions.md
 * D27) through the SDK and the HTTP API against the local stack, on the controllable clock. Every
 * SQS record of every queue is delivered twice (`duplicateDeliveries`), so each test also shows that
 * an event is counted once and a batch sends one message. The sweeper runs only when a test calls
 * it. The last test restarts the stack on the same table.
 */
const tableName = `batches-${randomUUID().slice(0, 8)}`;
const start = async (): Promise<TestStack> =>
  (require('../helpers/stack') as typeof import('../helpers/stack')).startTestStack({
    tableName,
    queuePrefix: `b-${randomUUID().slice(0, 8)}`,
    duplicateDeliveries: true,
    scheduleEveryMs: 0,
  });

let s: TestStack;
beforeAll(async () => {
  s = await start();
});
afterAll(() => s?.stop());

const runOf = (runId: string) => runOfIn(s, runId);
const settled = (runId: string, waiting = false) => settledIn(s, runId, waiting);
const idle = () => idleIn(s);
const sweep = () => sweepIn(s);
const MINUTE = 60_000;

type Mail = { via: string; messageId: string; to: string[]; subject: string; text: string };
const mailsTo = (user: string) => (s.captures() as unknown as Mail[]).filter((c) => c.via === 'smtp' && c.to.includes(`${user}@example.test`));

let template: string;
beforeAll(async () => {
  template = await emailTemplate(s, { title: 'Digest: {{batch.count}}', body: 'items:{{#batch.items}} {{n}}{{/batch.items}}' });
});

const aUser = async (profile: Record<string, unknown> = {}) => {
  const id = uid('bat');
  await s.client.profiles.replace(id, { profile: { email: `${id}@example.test`, ...profile } });
  return id;
};
const invoke = async (steps: unknown[], recipient: string | undefined, data: Record<string, unknown> = {}, cancelation_token?: string) =>
  (await s.client.automations.invoke.invokeAdHoc({ automation: { steps: steps as never, cancelation_token }, recipient, data })).runId;

describe('a batch step', () => {
  it('collects a user’s events into one batch: the first run sends one digest with the count and the first N events; the others end batched', async () => {
    const steps = [
      { action: 'batch', wait_period: 'PT10M', max_wait_period: 'PT1H', retain: { type: 'first', count: 2 } },
      { action: 'send', template },
    ];
    const [user, other] = [await aUser(), await aUser()];
    const owner = await invoke(steps, user, { n: 1 });
    const waiting = await settled(owner, true);
    expect(waiting.steps.map((x) => x.status)).toEqual(['waiting', 'pending']);
    const joined = [];
    for (const n of [2, 3]) joined.push(await invoke(steps, user, { n }));
    for (const id of joined) {
      const run = await settled(id);
      expect(run.status).toBe('done');
      expect(run.steps).toMatchObject([{ status: 'batched', batchRunId: owner }, { status: 'skipped' }]);
    }
    // Another user's event opens a batch of its own.
    const otherOwner = await invoke(steps, other, { n: 9 });
    await settled(otherOwner, true);
    await idle();

    // Quiet for 10 minutes after the last event: before that the batch waits, then it closes.
    const until = Date.parse((await runOf(owner)).steps[0].until!);
    expect(until - now()).toBeGreaterThan(9 * MINUTE);
    setClock(until - 1000);
    await sweep();
    expect((await runOf(owner)).status).toBe('running');
    setClock(until + 61_000);
    await sweep();
    const done = await settled(owner);
    expect(done.steps).toMatchObject([{ status: 'done', count: 3 }, { status: 'done' }]);
    await messagesOf(s, owner, 1);
    await idle();
    expect(mailsTo(user).map((m) => [m.subject, m.text.trim()])).toEqual([['Digest: 3', 'items: 1 2']]);
    expect(mailsTo(other).map((m) => m.subject)).toEqual(['Digest: 1']);
    // The joined runs sent nothing of their own.
    for (const id of joined) expect((await s.client.messages.list({ traceId: id })).results).toEqual([]);
  });

  it('closes at max_items without waiting, and the next event opens the next batch; retain last keeps the latest', async () => {
    const steps = [
      { action: 'batch', wait_period: 'PT10M', max_wait_period: 'PT1H', max_items: 3, retain: { type: 'last', count: 2 } },
      { action: 'send', template },
    ];
    const user = await aUser();
    const owner = await invoke(steps, user, { n: 1 });
    await settled(owner, true);
    for (const n of [2, 3]) await settled(await invoke(steps, user, { n }));
    // The third event fills the batch: its owner is told and closes it at the same clock.
    expect((await settled(owner)).steps).toMatchObject([{ status: 'done', count: 3 }, { status: 'done' }]);
    const next = await invoke(steps, user, { n: 4 });
    expect((await settled(next, true)).steps[0].status).toBe('waiting');
    await messagesOf(s, owner, 1);
    await idle();
    expect(mailsTo(user).map((m) => [m.subject, m.text.trim()])).toEqual([['Digest: 3', 'items: 2 3']]);
  });

  it('keeps a batch per category_key value', async () => {
    const steps = [
      { action: 'batch', wait_period: 'PT5M', max_wait_period: 'PT30M', category_key: 'data.project' },
      { action: 'send', template },
    ];
    const user = await aUser();
    const a = await invoke(steps, user, { n: 1, project: 'a' });
    const b = await invoke(steps, user, { n: 2, project: 'b' });
    await Promise.all([settled(a, true), settled(b, true)]);
    const a2 = await settled(await invoke(steps, user, { n: 3, project: 'a' }));
    expect(a2.steps[0]).toMatchObject({ status: 'batched', batchRunId: a });
    setClock(now() + 6 * MINUTE);
    await sweep();
    expect((await settled(a)).steps[0].count).toBe(2);
    expect((await settled(b)).steps[0].count).toBe(1);
  });

  it('batches every user’s events together with scope global, keeps the highest by sort_key, and closes on a schedule in the step’s timezone', async () => {
    const zone = 'Asia/Tokyo';
    const steps = [
      { action: 'batch', scope: 'global', schedule: '09:00', timezone: zone, retain: { type: 'highest', count: 2, sort_key: 'data.n' } },
      { action: 'send', template },
    ];
    const [u1, u2, u3] = [await aUser(), await aUser(), await aUser()];
    const owner = await invoke(steps, u1, { n: 5 });
    const waiting = await settled(owner, true);
    // 09:00 in Tokyo (UTC+9, no DST) is 00:00 UTC: the next one after now.
    const until = Date.parse(waiting.steps[0].until!);
    expect(new Date(until).toISOString()).toMatch(/T00:00:00\.000Z$/);
    expect(until - now()).toBeLessThanOrEqual(DAY);
    for (const [u, n] of [
      [u2, 9],
      [u3, 7],
    ] as const)
      expect((await settled(await invoke(steps, u, { n }))).steps[0]).toMatchObject({ status: 'batched', batchRunId: owner });
    setClock(until + 61_000);
    await sweep();
    expect((await settled(owner)).steps[0]).toMatchObject({ status: 'done', count: 3 });
    await messagesOf(s, owner, 1);
    await idle();
    // The owner's recipient gets the digest, its items the two highest n, highest first.
    expect(mailsTo(u1).map((m) => [m.subject, m.text.trim()])).toEqual([['Digest: 3', 'items: 9 7']]);
    expect([...mailsTo(u2), ...mailsTo(u3)]).toEqual([]);
  });

  it('opens one batch for two events at the same millisecond (Novu #2569 is this race)', async () => {
    const store = require('../../lambdas/store/automations') as typeof import('../../lambdas/store/automations');
    const worker = require('../../lambdas/workers/automation-run') as typeof import('../../lambdas/workers/automation-run');
    const user = await aUser();
    const steps = [{ action: 'batch' as const, wait_period: 'PT5M', max_wait_period: 'PT30M' }];
    const runs = Array.from({ length: 8 }, () => uid('same-ms'));
    await Promise.all(
      runs.map((runId, n) => store.createRun(runId, { steps, context: { recipient: user, data: { n } }, created: now(), outcomes: [] }, now() + HOUR)),
    );
    // Every run's first step at once, the clock standing still: the same millisecond for all.
    const at = Date.now();
    const frozen = jest.spyOn(Date, 'now').mockReturnValue(at);
    try {
      await Promise.all(runs.map((runId) => worker.runStep({ type: 'automation-step', runId, step: 0 })));
    } finally {
      frozen.mockRestore();
    }
    const views = await Promise.all(runs.map((id) => runOf(id)));
    const owners = views.filter((v) => v.status === 'running');
    expect(owners).toHaveLength(1);
    expect(views.filter((v) => v.steps[0].status === 'batched' && v.steps[0].batchRunId === owners[0].runId)).toHaveLength(7);
    setClock(now() + 6 * MINUTE);
    await sweep();
    expect((await settled(owners[0].runId)).steps[0]).toMatchObject({ status: 'done', count: 8 });
  });

  it('does not join a run to its own batch when a second delivery of its job read the run before the first opened it', async () => {
    const store = require('../../lambdas/store/automations') as typeof import('../../lambdas/store/automations');
    const worker = require('../../lambdas/workers/automation-run') as typeof import('../../lambdas/workers/automation-run');
    const user = await aUser();
    const runId = uid('twice');
    const steps = [{ action: 'batch' as const, wait_period: 'PT5M', max_wait_period: 'PT30M' }];
    await store.createRun(runId, { steps, context: { recipient: user, data: { n: 1 } }, created: now(), outcomes: [] }, now() + HOUR);
    const stale = await store.getRun(runId);
    const job = { type: 'automation-step' as const, runId, step: 0 };
    await worker.runStep(job);
    // The second delivery read the run as it was before the first opened the batch; the head it reads names the run itself.
    const read = jest.spyOn(store, 'getRun').mockResolvedValueOnce(stale);
    try {
      await worker.runStep(job);
    } finally {
      read.mockRestore();
    }
    const run = await runOf(runId);
    expect(run.status).toBe('running');
    expect(run.steps[0].status).toBe('waiting');
    setClock(now() + 6 * MINUTE);
    await sweep();
    expect((await settled(runId)).steps[0]).toMatchObject({ status: 'done', count: 1 });
  });

  it('goes with its owner when the owner is canceled: the next event opens a new batch', async () => {
    const token = uid('tok');
    const steps = [
      { action: 'batch', wait_period: 'PT5M', max_wait_period: 'PT30M' },
      { action: 'send', template },
    ];
    const user = await aUser();
    const owner = await invoke(steps, user, { n: 1 }, token);
    await settled(owner, true);
    await settled(await invoke(steps, user, { n: 2 }));
    const canceler = await s.client.automations.invoke.invokeAdHoc({ automation: { steps: [{ action: 'cancel', cancelation_token: token }] } });
    expect((await settled(canceler.runId)).steps[0].canceled).toBe(1);
    expect((await runOf(owner)).status).toBe('canceled');
    const fresh = await invoke(steps, user, { n: 3 });
    expect((await settled(fresh, true)).steps[0].status).toBe('waiting');
  });

  it('closes a scheduled digest at the next 09:00 in the recipient’s time zone, across a DST change', async () => {
    const zone = 'America/New_York';
    // The day before the clocks change, 10:00 local: the next 09:00 is on the other side of the change.
    const change = nextTransition(zone, now() + DAY);
    const dayBefore = Math.floor((change + zoneOffset(zone, change - 2 * DAY)) / DAY) * DAY - DAY;
    const tenLocal = dayBefore + 10 * HOUR - zoneOffset(zone, dayBefore + 10 * HOUR);
    setClock(tenLocal);
    const user = await aUser({ timezone: zone });
    const steps = [
      { action: 'batch', schedule: '09:00' },
      { action: 'send', template },
    ];
    const owner = await invoke(steps, user, { n: 1 });
    const waiting = await settled(owner, true);
    const nineNext = dayBefore + DAY + 9 * HOUR - zoneOffset(zone, change + HOUR);
    expect(waiting.steps[0].until).toBe(new Date(nineNext).toISOString());
    // 09:00 the day after is not 23 hours on in UTC: the offset changed in between.
    expect(nineNext - tenLocal).not.toBe(23 * HOUR);
    await settled(await invoke(steps, user, { n: 2 }));
    setClock(nineNext - 1000);
    await sweep();
    expect((await runOf(owner)).status).toBe('running');
    setClock(nineNext + 61_000);
    await sweep();
    expect((await settled(owner)).steps[0]).toMatchObject({ status: 'done', count: 2 });
  });
});

describe('a topic’s digest', () => {
  it('collects the topic’s messages to a user (each DIGESTED) into one message with the batch, sent once when the digest closes', async () => {
    const topic = uid('digest-topic');
    const digest = { wait_period: 'PT10M', max_wait_period: 'PT1H', retain: { type: 'first', count: 5 } };
    const put = await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Comments', digest });
    expect(put.status).toBe(200);
    expect(put.json.digest).toEqual(digest);
    const bad = await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Comments', digest: { wait_period: 'PT10M' } });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/digest\.max_wait_period/);

    const [user, other] = [await aUser(), await aUser()];
    const send = async (to: string, n: number) =>
      (
        await s.client.send.message({
          message: {
            to: { user_id: to },
            content: { title: 'Digest {{batch.count}}', body: 'items:{{#batch.items}} {{n}}{{/batch.items}}' },
            data: { n },
            routing: { method: 'single', channels: ['email'] },
            preferences: { subscription_topic_id: topic },
          } as never,
        })
      ).requestId;
    const ids = [];
    for (const n of [1, 2, 3]) ids.push(await send(user, n));
    const otherId = await send(other, 7);
    const history = async (id: string) => (await s.client.messages.history(id)).results as unknown as { type: string; run_id?: string }[];
    const runs: string[] = [];
    for (const id of [...ids, otherId]) {
      await eventually(
        () => s.client.messages.retrieve(id),
        (m) => m.status === 'DIGESTED',
      );
      runs.push((await history(id)).find((e) => e.type === 'DIGESTED')!.run_id!);
    }
    // The first message's run owns the user's digest; the others joined it; the other user has a digest of their own.
    expect((await settled(runs[0], true)).steps[0].status).toBe('waiting');
    for (const id of runs.slice(1, 3)) expect((await settled(id)).steps[0]).toMatchObject({ status: 'batched', batchRunId: runs[0] });
    expect((await settled(runs[3], true)).steps[0].status).toBe('waiting');
    await idle();
    expect(mailsTo(user)).toEqual([]);

    setClock(now() + 11 * MINUTE);
    await sweep();
    expect((await settled(runs[0])).steps.map((x) => x.status)).toEqual(['done', 'done']);
    const [digestMessage] = await messagesOf(s, runs[0], 1);
    await idle();
    expect(mailsTo(user).map((m) => [m.subject, m.text.trim()])).toEqual([['Digest 3', 'items: 1 2 3']]);
    expect(mailsTo(other).map((m) => m.subject)).toEqual(['Digest 1']);
    // The digest's own message went out as it is (not digested again), traced to the run.
    expect((await s.client.messages.retrieve(digestMessage.id)).status).toMatch(/SENT|DELIVERED/);

    // null removes the digest (the workers see it once their topic cache, CACHE_TTL_MS, expires).
    expect((await s.http('PUT', `/preferences/topics/${topic}`, { name: 'Comments', digest: null })).json.digest).toBeUndefined();
    expect((await s.http('GET', `/preferences/topics/${topic}`)).json.digest).toBeUndefined();
  });
});

describe('a throttle step', () => {
  it('lets exactly max_allowed runs per user and window through; the others are throttled, and on_throttle takes the branch whose if reads the ref', async () => {
    const steps = [
      { action: 'throttle', max_allowed: 3, period: '1 hour', on_throttle: 'fallback', ref: 'gate' },
      { action: 'update-profile', profile: { passed: true }, merge: 'overwrite' },
      { action: 'update-profile', profile: { throttled_branch: true }, merge: 'overwrite', ref: 'fallback', if: 'refs.gate.status === "throttled"' },
    ];
    // Well inside a window: the runs share it.
    setClock(Math.ceil(now() / HOUR) * HOUR + 5 * MINUTE);
    const [user, other] = [await aUser(), await aUser()];
    const runs = await Promise.all(Array.from({ length: 6 }, () => invoke(steps, user)));
    const views = await Promise.all(runs.map((id) => settled(id)));
    const passed = views.filter((v) => v.steps[0].status === 'done');
    const throttled = views.filter((v) => v.steps[0].status === 'throttled');
    expect(passed).toHaveLength(3);
    expect(throttled).toHaveLength(3);
    // A run that passes goes on to the next step and skips the branch (its if is false); a throttled one jumps to the branch.
    expect(passed[0].steps.map((x) => x.status)).toEqual(['done', 'done', 'skipped']);
    expect(throttled[0].steps.map((x) => x.status)).toEqual(['throttled', 'skipped', 'done']);
    expect(throttled[0].steps[0]).toMatchObject({ error: 'THROTTLED', next: 2, window: { start: expect.any(String), end: expect.any(String) } });
    expect(await s.client.profiles.retrieve(user)).toMatchObject({ profile: { passed: true, throttled_branch: true } });
    // Per user: another user has a window of their own. Without on_throttle a throttled run ends.
    expect((await settled(await invoke(steps, other))).steps[0].status).toBe('done');
    const ends = [
      { action: 'throttle', max_allowed: 1, period: 'PT1H', scope: 'global' },
      { action: 'update-profile', profile: { x: 1 } },
    ];
    await settled(await invoke(ends, user));
    const over = await settled(await invoke(ends, other));
    expect(over).toMatchObject({ status: 'done', steps: [{ status: 'throttled' }, { status: 'skipped' }] });
    // The next window lets runs through again.
    setClock(Math.ceil(now() / HOUR) * HOUR + MINUTE);
    expect((await settled(await invoke(steps, user))).steps[0].status).toBe('done');
  });

  it('keys a dynamic throttle by a value of the data', async () => {
    const steps = [{ action: 'throttle', max_allowed: 1, period: '1 day', scope: 'dynamic', throttle_key: 'data.account' }];
    const user = await aUser();
    const first = await settled(await invoke(steps, user, { account: 'acme' }));
    const second = await settled(await invoke(steps, user, { account: 'acme' }));
    const elsewhere = await settled(await invoke(steps, user, { account: 'globex' }));
    expect([first, second, elsewhere].map((r) => r.steps[0].status)).toEqual(['done', 'throttled', 'done']);
  });
});

describe('across a restart of the stack', () => {
  it('keeps an open batch (its head, its events, its owner’s wake) and closes it once after the restart', async () => {
    const steps = [
      { action: 'batch', wait_period: 'PT10M', max_wait_period: 'PT1H' },
      { action: 'send', template },
    ];
    const user = await aUser();
    const owner = await invoke(steps, user, { n: 1 });
    await settled(owner, true);
    for (const n of [2, 3]) await settled(await invoke(steps, user, { n }));
    const until = Date.parse((await runOf(owner)).steps[0].until!);
    await idle();

    // Restart: the owner's queue hop is lost with the old queues; the clock module starts again from real time.
    await s.stop();
    jest.resetModules();
    s = await start();
    const later = await settled(await invoke(steps, user, { n: 4 }));
    expect(later.steps[0]).toMatchObject({ status: 'batched', batchRunId: owner });
    setClock(Math.max(until, Date.parse((await runOf(owner)).steps[0].until!)) + 6 * MINUTE);
    await sweep();
    expect((await settled(owner)).steps[0]).toMatchObject({ status: 'done', count: 4 });
    await messagesOf(s, owner, 1);
    await idle();
    expect(mailsTo(user).map((m) => m.subject)).toEqual(['Digest: 4']);
  });
});
