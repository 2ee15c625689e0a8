import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { emailTemplate, idle as idleIn, runOf as runOfIn, settled as settledIn } from '../helpers/automations';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';

/**
 * Issue 18 item 7, "cancel at each step": a `cancel` step (another run holding the same
 * `cancelation_token`) stops a run wherever it stands, and none of the step it stood before happens
 * afterwards: no message under the run's id as trace id, the profile unchanged, the fetch-data
 * endpoint not called, no run invoked, no other run canceled. Each kind of step is tried twice: a
 * run not yet started (stored as an invocation stores it, its first job not yet done: the sweeper
 * would wake it, and its job may still arrive), and a run waiting inside a delay that comes before
 * the step. Beside every canceled run stands a control, the same run without the token, which must
 * show the effect: so "nothing happened" is not an observation that could not have failed.
 * Every SQS record of every queue is delivered twice (`duplicateDeliveries`), at once.
 */
let s: TestStack;
let endpoint: http.Server;
let base: string;
const hits: Record<string, number> = {};
beforeAll(async () => {
  s = await startTestStack({ duplicateDeliveries: true, scheduleEveryMs: 0 });
  endpoint = http.createServer((req, res) => {
    hits[req.url!] = (hits[req.url!] ?? 0) + 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ fetched: true }));
  });
  await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => endpoint?.close(r));
  await s?.stop();
});

const HOUR = 3_600_000;
const clock = () => require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');
const store = () => require('../../lambdas/store/automations') as typeof import('../../lambdas/store/automations');

const runOf = (runId: string) => runOfIn(s, runId);
const settled = (runId: string, waiting = false) => settledIn(s, runId, waiting);
const idle = () => idleIn(s);
/** Runs the sweeper at the stack's clock and waits until the jobs it started are done. */
async function sweep(): Promise<void> {
  await s.runScheduled();
  await idle();
}
/** Starts an ad hoc run through the SDK (its send steps send the run's `template`). */
const invoke = async (steps: unknown[], token?: string, recipient?: string) =>
  (
    await s.client.automations.invoke.invokeAdHoc({
      automation: { steps: steps as never, ...(token ? { cancelation_token: token } : {}) },
      template,
      ...(recipient ? { recipient } : {}),
    })
  ).runId;
/** Cancels the runs holding `token` from a run of its own, which holds the token too and goes on after it; the count it recorded. */
async function cancel(token: string): Promise<number> {
  const own = await aUser();
  const canceler = await invoke(
    [
      { action: 'cancel', cancelation_token: token },
      { action: 'update-profile', profile: { after: true }, merge: 'overwrite' },
    ],
    token,
    own,
  );
  const run = await settled(canceler);
  // The canceling run itself is not canceled: it does its next step.
  expect(run.status).toBe('done');
  expect(run.steps.map((x) => x.status)).toEqual(['done', 'done']);
  expect((await s.client.profiles.retrieve(own)).profile).toMatchObject({ after: true });
  return run.steps[0].canceled!;
}

let template: string;
let childTemplate: string;
const aUser = async () => {
  const id = uid('cancel');
  await s.client.profiles.replace(id, { profile: { email: `${id}@example.test` } });
  return id;
};
beforeAll(async () => {
  template = await emailTemplate(s, { title: 'Hi', body: 'b' });
  childTemplate = uid('child');
  const put = await s.http('PUT', `/automations/templates/${childTemplate}`, {
    name: 'Child',
    steps: [{ action: 'update-profile', profile: { invoked: true }, merge: 'overwrite' }],
  });
  expect(put.status).toBe(200);
});

/** What one run (canceled, or its control) acts on: its user, its list, its endpoint path, the token its cancel step names. */
interface Subject {
  user: string;
  list: string;
  path: string;
  victimToken: string;
  /** A run holding victimToken, waiting in a long delay: what a cancel step would cancel. */
  victim: string;
}
async function subject(): Promise<Subject> {
  const user = await aUser();
  const list = uid('cancel.list');
  await s.client.lists.subscriptions.add(list, { recipients: [{ recipientId: user }] });
  const victimToken = uid('victim');
  const victim = await invoke(
    [
      { action: 'delay', duration: '10 days' },
      { action: 'update-profile', profile: { victim: true } },
    ],
    victimToken,
    await aUser(),
  );
  return { user, list, path: `/${uid('hook')}`, victimToken, victim };
}

const messageCount = async (runId: string) => (await s.client.messages.list({ traceId: runId })).results?.length ?? 0;
const mailsTo = (user: string) => s.captures().filter((c) => c.via === 'smtp' && c.to.includes(`${user}@example.test`)).length;

/** Each kind of step a run can stand before: the step, and what it did (afterwards) for a subject's run. */
const KINDS: Record<string, { step: (x: Subject) => Record<string, unknown>; effect: (x: Subject, runId: string) => Promise<unknown> }> = {
  send: {
    step: () => ({ action: 'send' }),
    effect: async (x, runId) => ({ messages: await messageCount(runId), mails: mailsTo(x.user) }),
  },
  'send-list': {
    step: (x) => ({ action: 'send-list', list: x.list }),
    effect: async (x, runId) => ({ messages: await messageCount(runId), mails: mailsTo(x.user) }),
  },
  'update-profile': {
    step: () => ({ action: 'update-profile', profile: { touched: true }, merge: 'overwrite' }),
    effect: async (x) => ({ touched: (await s.client.profiles.retrieve(x.user)).profile?.touched ?? false }),
  },
  'fetch-data': {
    step: (x) => ({ action: 'fetch-data', webhook: { method: 'POST', url: `${base}${x.path}`, body: '{}' } }),
    effect: async (x) => ({ hits: hits[x.path] ?? 0 }),
  },
  invoke: {
    step: () => ({ action: 'invoke', template: childTemplate }),
    effect: async (x) => ({ invoked: (await s.client.profiles.retrieve(x.user)).profile?.invoked ?? false }),
  },
  cancel: {
    step: (x) => ({ action: 'cancel', cancelation_token: x.victimToken }),
    effect: async (x) => ({ victim: (await runOf(x.victim)).status }),
  },
};
const kinds = Object.keys(KINDS);
/** What a step that did not happen leaves, per kind. */
const NONE: Record<string, unknown> = {
  send: { messages: 0, mails: 0 },
  'send-list': { messages: 0, mails: 0 },
  'update-profile': { touched: false },
  'fetch-data': { hits: 0 },
  invoke: { invoked: false },
  cancel: { victim: 'running' },
};
/** What it leaves once done (a fetch-data call may be made again by a twin delivery: at least once). */
const DONE: Record<string, unknown> = {
  send: { messages: 1, mails: 1 },
  'send-list': { messages: 1, mails: 1 },
  'update-profile': { touched: true },
  'fetch-data': { hits: expect.any(Number) },
  invoke: { invoked: true },
  cancel: { victim: 'canceled' },
};
async function effects(runs: Record<string, { x: Subject; runId: string }>): Promise<Record<string, unknown>> {
  return Object.fromEntries(await Promise.all(kinds.map(async (k) => [k, await KINDS[k].effect(runs[k].x, runs[k].runId)] as const)));
}
/** The controls' effects once all are there (a run is done once its send is accepted; the mail comes after). */
const controlsDone = (controls: Record<string, { x: Subject; runId: string }>) =>
  eventually(
    () => effects(controls),
    (e) => {
      try {
        expect(e).toEqual(DONE);
        return true;
      } catch {
        return false;
      }
    },
    30_000,
  );

describe('a cancel step stops a run at each step, and nothing of that step happens afterwards', () => {
  it('a run not yet started (its first job not yet done), before each kind of step: neither the sweeper nor its late job does the step', async () => {
    const token = uid('tok');
    const created = clock().now();
    const stored = async (kind: string, withToken: boolean) => {
      const x = await subject();
      const runId = uid(`stored-${kind}`);
      // Stored as an invocation stores it (the token's entry first), its first job not enqueued.
      await store().createRun(
        runId,
        {
          steps: [KINDS[kind].step(x)] as never,
          context: { recipient: x.user, template },
          ...(withToken ? { cancelationToken: token } : {}),
          created,
          outcomes: [],
        },
        created + 60_000,
      );
      return { x, runId };
    };
    const canceled = Object.fromEntries(await Promise.all(kinds.map(async (k) => [k, await stored(k, true)] as const)));
    const controls = Object.fromEntries(await Promise.all(kinds.map(async (k) => [k, await stored(k, false)] as const)));
    await Promise.all(kinds.map((k) => settled(canceled[k].x.victim, true).then(() => settled(controls[k].x.victim, true))));

    // Each run holding the token counted once, although the cancel step's job was delivered twice.
    expect(await cancel(token)).toBe(kinds.length);
    for (const k of kinds) {
      const view = await runOf(canceled[k].runId);
      expect([k, view.status, view.steps.map((x) => x.status)]).toEqual([k, 'canceled', ['canceled']]);
      expect(view.canceledAt).toMatch(/^\d{4}-/);
      expect([k, (await runOf(controls[k].runId)).status]).toEqual([k, 'running']);
    }

    // Past the runs' wake time the sweeper drives the controls; then the canceled runs' first jobs arrive, late (each twice).
    clock().advanceClock(61_000);
    await sweep();
    const { enqueueFanout } = require('../../lambdas/shared/jobs') as typeof import('../../lambdas/shared/jobs');
    await enqueueFanout(kinds.map((k) => ({ type: 'automation-step' as const, runId: canceled[k].runId, step: 0 })));
    await idle();

    for (const k of kinds) expect([k, (await settled(controls[k].runId)).status]).toEqual([k, 'done']);
    expect(await controlsDone(controls).catch(() => effects(controls))).toEqual(DONE);
    expect(await effects(canceled)).toEqual(NONE);
    for (const k of kinds) {
      const view = await runOf(canceled[k].runId);
      expect([k, view.status, view.steps.map((x) => x.status)]).toEqual([k, 'canceled', ['canceled']]);
    }
    // The invoke step names its run after the run and step: the control's exists, the canceled one's was never made.
    const { requestIdFor } = require('../../lambdas/domain/send') as typeof import('../../lambdas/domain/send');
    const childOf = (runId: string) => requestIdFor(created, `automation-run:${runId}:0`);
    expect((await runOf(controls.invoke.runId)).steps[0].runId).toBe(childOf(controls.invoke.runId));
    expect((await s.http('GET', `/automations/runs/${childOf(canceled.invoke.runId)}`)).status).toBe(404);
    // A second cancel of the token finds every run canceled already: it counts none.
    expect(await cancel(token)).toBe(0);
  });

  it('a run waiting in a delay, before each kind of step: canceled inside the delay, nothing after it happens', async () => {
    const token = uid('tok');
    const live = async (kind: string, withToken: boolean) => {
      const x = await subject();
      const runId = await invoke([{ action: 'delay', duration: '1 hour' }, KINDS[kind].step(x)], withToken ? token : undefined, x.user);
      return { x, runId };
    };
    const canceled = Object.fromEntries(await Promise.all(kinds.map(async (k) => [k, await live(k, true)] as const)));
    const controls = Object.fromEntries(await Promise.all(kinds.map(async (k) => [k, await live(k, false)] as const)));
    for (const r of [...Object.values(canceled), ...Object.values(controls)]) {
      expect((await settled(r.runId, true)).steps.map((x) => x.status)).toEqual(['waiting', 'pending']);
      await settled(r.x.victim, true);
    }

    expect(await cancel(token)).toBe(kinds.length);
    for (const k of kinds) {
      const view = await runOf(canceled[k].runId);
      expect([k, view.status, view.steps.map((x) => [x.status, x.until])]).toEqual([
        k,
        'canceled',
        [
          ['canceled', undefined],
          ['canceled', undefined],
        ],
      ]);
    }

    // Past the delay's end the sweeper wakes the controls, not the canceled runs; a late hop of a canceled run's delay does nothing.
    clock().advanceClock(HOUR + 1000);
    await sweep();
    const { enqueueFanout } = require('../../lambdas/shared/jobs') as typeof import('../../lambdas/shared/jobs');
    await enqueueFanout(kinds.flatMap((k) => [0, 1].map((step) => ({ type: 'automation-step' as const, runId: canceled[k].runId, step }))));
    await idle();

    for (const k of kinds) expect([k, (await settled(controls[k].runId)).steps.map((x) => x.status)]).toEqual([k, ['done', 'done']]);
    expect(await controlsDone(controls).catch(() => effects(controls))).toEqual(DONE);
    expect(await effects(canceled)).toEqual(NONE);
    for (const k of kinds) expect([k, (await runOf(canceled[k].runId)).status]).toEqual([k, 'canceled']);
  });

  it('a cancel delivered twice, and re-driven by the sweeper, records each run it canceled once (more runs than a page of the token)', async () => {
    const token = uid('tok');
    const waiting = await Promise.all([1, 2, 3].map(async () => invoke([{ action: 'delay', duration: '2 hours' }, { action: 'send' }], token, await aUser())));
    await Promise.all(waiting.map((w) => settled(w, true)));
    // And 110 runs not yet started: the token's runs are read 100 a page.
    const later = clock().now() + 10 * HOUR;
    const notStarted = Array.from({ length: 110 }, (_, i) => `${uid('queued')}-${i}`);
    for (let i = 0; i < notStarted.length; i += 10)
      await Promise.all(
        notStarted
          .slice(i, i + 10)
          .map((runId) =>
            store().createRun(
              runId,
              { steps: [{ action: 'update-profile', profile: { x: 1 } }], context: {}, cancelationToken: token, created: later, outcomes: [] },
              later,
            ),
          ),
      );
    // The canceling run is stored with its job not enqueued: the sweeper's re-drive and a late copy of its job both arrive, each twice.
    const canceler = uid('canceler');
    const created = clock().now();
    await store().createRun(canceler, { steps: [{ action: 'cancel', cancelation_token: token }], context: {}, created, outcomes: [] }, created + 60_000);
    clock().advanceClock(61_000);
    const { enqueueFanout } = require('../../lambdas/shared/jobs') as typeof import('../../lambdas/shared/jobs');
    await Promise.all([s.runScheduled(), enqueueFanout([{ type: 'automation-step', runId: canceler, step: 0 }])]);
    await idle();
    const run = await settled(canceler);
    expect(run.steps[0]).toMatchObject({ status: 'done', canceled: 3 + notStarted.length });
    for (const w of [...waiting, notStarted[0], notStarted[109]]) expect((await runOf(w)).status).toBe('canceled');
  });
});
