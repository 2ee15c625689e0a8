import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BadRequestError, NotFoundError } from '@trycourier/courier';
import { emailTemplate, idle as idleIn, runOf as runOfIn, settled as settledIn, sweep as sweepIn, type RunView } from '../helpers/automations';
import { messagesOf } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Issue 18 items 1, 2, 6 and 7 (runs, templates, journeys, observability) through the official SDK
 * and the HTTP API against the local stack. Every SQS record of every queue is delivered twice
 * (`duplicateDeliveries`), so each test also shows that every step's effect happens once: one
 * message per send step, one invoked run, one advance per step. The sweeper runs only when a test
 * calls it, at the stack's clock, which tests move forward instead of waiting for a delay.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ duplicateDeliveries: true, scheduleEveryMs: 0 });
});
afterAll(() => s?.stop());

const HOUR = 3_600_000;
const clock = () => require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');

const runOf = (runId: string): Promise<RunView> => runOfIn(s, runId);
const settled = (runId: string, waiting = false) => settledIn(s, runId, waiting);
const idle = () => idleIn(s);
const sweep = () => sweepIn(s);

type Capture = { via: string; messageId: string; to: string; subject?: string };
const mailsOf = (messageId: string) => (s.captures() as unknown as Capture[]).filter((c) => c.via === 'smtp' && c.messageId === messageId);

let template: string;
const aUser = async (profile: Record<string, unknown> = {}) => {
  const id = uid('auto');
  await s.client.profiles.replace(id, { profile: { email: `${id}@example.test`, ...profile } });
  return id;
};
beforeAll(async () => {
  template = await emailTemplate(s, { title: 'Hi {{name}}', body: 'b' });
});

describe('templates (our extension) and their listings', () => {
  it('stores revisions, lists published and draft ones through automations.list and journeys.list, and deletes', async () => {
    const id = uid('onboard');
    const steps = [{ action: 'send', template: 'x' }];
    const first = await s.http('PUT', `/automations/templates/${id}`, { name: 'Onboarding', steps });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ id, name: 'Onboarding', version: 'published', revision: 1, steps });
    const second = await s.http('PUT', `/automations/templates/${id}`, { name: 'Onboarding v2', steps: [...steps, { action: 'delay', duration: '1 day' }] });
    expect(second.json).toMatchObject({ revision: 2, name: 'Onboarding v2' });
    expect((await s.http('GET', `/automations/templates/${id}?revision=1`)).json).toMatchObject({ revision: 1, name: 'Onboarding' });
    expect((await s.http('GET', `/automations/templates/${id}`)).json).toMatchObject({ revision: 2 });
    const draft = uid('draft');
    await s.http('PUT', `/automations/templates/${draft}`, { name: 'Draft', steps, version: 'draft' });

    const published = await s.client.automations.list();
    expect(published.templates?.find((t) => t.id === id)).toMatchObject({ id, name: 'Onboarding v2', version: 'published' });
    expect(published.templates?.some((t) => t.id === draft)).toBe(false);
    expect((await s.client.automations.list({ version: 'draft' })).templates?.map((t) => t.id)).toContain(draft);
    const journeys = await s.client.journeys.list();
    expect(journeys.templates?.find((t) => t.id === id)?.createdAt).toMatch(/^\d{4}-/);
    // A draft cannot be invoked.
    await expect(s.client.journeys.invoke(draft, { user_id: 'u' })).rejects.toBeInstanceOf(NotFoundError);

    expect((await s.http('DELETE', `/automations/templates/${id}`)).status).toBe(204);
    expect((await s.http('GET', `/automations/templates/${id}`)).status).toBe(404);
    expect((await s.http('DELETE', `/automations/templates/${id}`)).status).toBe(404);
  });

  it.each<[string, unknown, string]>([
    ['an unknown step', { name: 'x', steps: [{ action: 'teleport' }] }, 'body.steps.0.action: unknown step action "teleport"'],
    [
      'a fetch-data URL that is not http',
      { name: 'x', steps: [{ action: 'fetch-data', webhook: { method: 'GET', url: 'file:///etc/passwd' } }] },
      'body.steps.0.webhook.url',
    ],
    ['an if that does not parse', { name: 'x', steps: [{ action: 'send', if: 'data.a ===' }] }, 'body.steps.0.if'],
    ['no steps', { name: 'x', steps: [] }, 'body.steps'],
  ])('refuses a template with %s: 400 naming the field', async (_, body, expected) => {
    const res = await s.http('PUT', `/automations/templates/${uid('bad')}`, body);
    expect(res.status).toBe(400);
    expect(res.json.message).toContain(expected);
  });
});

describe('runs', () => {
  it('invokeAdHoc: update-profile, a skipped send, a send; each step recorded, the message carrying the run id, sent once', async () => {
    const user = await aUser({ plan: 'free' });
    const { runId } = await s.client.automations.invoke.invokeAdHoc({
      automation: {
        steps: [
          { action: 'update-profile', profile: { plan: 'pro', team: 'a' }, merge: 'soft-merge' } as never,
          { action: 'send', template, if: 'data.vip', ref: 'vip-only' } as never,
          { action: 'send', template, ref: 'welcome' } as never,
        ],
      },
      data: { name: 'Ann', vip: false },
      recipient: user,
    });
    const run = await settled(runId);
    expect(run.status).toBe('done');
    expect(run.steps.map((x) => [x.action, x.ref, x.status])).toEqual([
      ['update-profile', undefined, 'done'],
      ['send', 'vip-only', 'skipped'],
      ['send', 'welcome', 'done'],
    ]);
    expect(run.steps.every((x) => x.startedAt && x.finishedAt)).toBe(true);
    // soft-merge kept the stored plan and added the team.
    expect((await s.client.profiles.retrieve(user)).profile).toMatchObject({ plan: 'free', team: 'a' });
    // The run's messages are listed under its id as trace id.
    const [m] = await messagesOf(s, runId, 1);
    expect(m.id).toBe(run.steps[2].messageId);
    expect(m.status).toBe('SENT');
    await s.quiesce();
    expect(mailsOf(m.id)).toHaveLength(1);
    expect(mailsOf(m.id)[0].subject).toBe('Hi Ann');
    expect(await messagesOf(s, runId, 1)).toHaveLength(1);
  });

  it('invokeByTemplate and journeys.invoke run a stored template; an invoke step starts one more run, once', async () => {
    const child = uid('child');
    await s.http('PUT', `/automations/templates/${child}`, { name: 'Child', steps: [{ action: 'send', template }] });
    const parent = uid('parent');
    await s.http('PUT', `/automations/templates/${parent}`, {
      name: 'Parent',
      steps: [
        { action: 'update-profile', profile: { stage: 'onboarding' }, merge: 'overwrite' },
        { action: 'invoke', template: child },
      ],
    });
    const user = await aUser();
    const byTemplate = await s.client.automations.invoke.invokeByTemplate(parent, { recipient: user, data: { name: 'Bo' } });
    const run = await settled(byTemplate.runId);
    expect(run).toMatchObject({ status: 'done', template: parent, revision: 1 });
    expect((await s.client.profiles.retrieve(user)).profile).toMatchObject({ stage: 'onboarding' });
    const childRun = await settled(run.steps[1].runId!);
    expect(childRun).toMatchObject({ status: 'done', parent: byTemplate.runId, template: child });
    const [m] = await messagesOf(s, childRun.runId, 1);
    await s.quiesce();
    expect(mailsOf(m.id)).toHaveLength(1);

    const journey = await s.client.journeys.invoke(child, { user_id: user, data: { name: 'Cy' } });
    const jrun = await settled(journey.runId);
    expect(jrun.status).toBe('done');
    const [jm] = await messagesOf(s, journey.runId, 1);
    await s.quiesce();
    expect(mailsOf(jm.id).map((c) => c.subject)).toEqual(['Hi Cy']);
  });

  it('send-list sends to every subscriber of the list', async () => {
    const users = [await aUser(), await aUser()];
    const list = uid('auto.list');
    await s.client.lists.subscriptions.add(list, { recipients: users.map((recipientId) => ({ recipientId })) });
    const { runId } = await s.client.automations.invoke.invokeAdHoc({ automation: { steps: [{ action: 'send-list', list } as never] }, template });
    expect((await settled(runId)).status).toBe('done');
    const messages = await messagesOf(s, runId, 2);
    await s.quiesce();
    expect(messages.map((m) => mailsOf(m.id).length)).toEqual([1, 1]);
  });

  it('a delay waits (its end recorded), and the sweeper at the moved clock ends it and the run goes on', async () => {
    const user = await aUser();
    const { runId } = await s.client.automations.invoke.invokeAdHoc({
      automation: { steps: [{ action: 'delay', duration: '2 hours' }, { action: 'send', template } as never] },
      recipient: user,
      data: { name: 'Di' },
    });
    const waiting = await settled(runId, true);
    expect(waiting.steps.map((x) => x.status)).toEqual(['waiting', 'pending']);
    const until = Date.parse(waiting.steps[0].until!);
    expect(until - clock().now()).toBeGreaterThan(HOUR);
    // Before the end, a sweep does nothing.
    await sweep();
    expect((await runOf(runId)).status).toBe('running');
    clock().advanceClock(2 * HOUR + 1000);
    await sweep();
    const run = await settled(runId);
    expect(run.steps.map((x) => x.status)).toEqual(['done', 'done']);
    const [m] = await messagesOf(s, runId, 1);
    await idle();
    expect(mailsOf(m.id)).toHaveLength(1);
  });

  it('a cancel step stops every pending run holding the token, while it waits in a delay; finished runs stay as they were', async () => {
    const token = uid('tok');
    const user = await aUser();
    const steps = [{ action: 'delay' as const, duration: '1 hour' }, { action: 'send', template } as never];
    const waiting = await Promise.all(
      [1, 2].map(() => s.client.automations.invoke.invokeAdHoc({ automation: { steps, cancelation_token: token }, recipient: user })),
    );
    const done = await s.client.automations.invoke.invokeAdHoc({
      automation: { steps: [{ action: 'update-profile', profile: { x: 1 }, merge: 'overwrite' }], cancelation_token: token },
      recipient: user,
    });
    await Promise.all(waiting.map((w) => settled(w.runId, true)));
    expect((await settled(done.runId)).status).toBe('done');

    const canceler = await s.client.automations.invoke.invokeAdHoc({ automation: { steps: [{ action: 'cancel', cancelation_token: token }] } });
    const c = await settled(canceler.runId);
    expect(c.steps[0]).toMatchObject({ status: 'done', canceled: 2 });
    for (const w of waiting) expect((await runOf(w.runId)).steps.map((x) => x.status)).toEqual(['canceled', 'canceled']);
    expect((await runOf(waiting[0].runId)).status).toBe('canceled');
    expect((await runOf(done.runId)).status).toBe('done');
    // Past the delay's end, nothing of the canceled runs goes on.
    clock().advanceClock(HOUR + 1000);
    await sweep();
    for (const w of waiting) expect((await runOf(w.runId)).status).toBe('canceled');
    const listed = await s.client.messages.list({ traceId: waiting[0].runId });
    expect(listed.results).toEqual([]);
    // The token's entries of runs that ended expire (a day on) instead of staying for ever.
    const { getItem } = require('../../lambdas/store/table') as typeof import('../../lambdas/store/table');
    const { runKeys } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
    for (const id of [...waiting.map((w) => w.runId), done.runId]) {
      const entry = await getItem(runKeys.tokenRun(token, id));
      expect(Number(entry?.ttl) * 1000 - clock().now()).toBeGreaterThan(HOUR);
    }
  });

  it('a run whose step job was lost is woken by the sweeper once its wake time passes, and done once', async () => {
    const store = require('../../lambdas/store/automations') as typeof import('../../lambdas/store/automations');
    const user = await aUser();
    const runId = uid('lost');
    // Stored as an invocation stores it, but its first job never enqueued.
    await store.createRun(
      runId,
      { steps: [{ action: 'send', template }], context: { recipient: user }, created: clock().now(), outcomes: [] },
      clock().now() + 60_000,
    );
    await sweep();
    expect((await runOf(runId)).status).toBe('running');
    clock().advanceClock(61_000);
    await sweep();
    expect((await settled(runId)).steps[0].status).toBe('done');
    const [m] = await messagesOf(s, runId, 1);
    await idle();
    expect(mailsOf(m.id)).toHaveLength(1);
  });

  it('fetch-data merges a JSON answer into the run data (which a later if reads), retries a 5xx, and fails on a 4xx', async () => {
    const hits: Record<string, number> = {};
    const server = http.createServer((req, res) => {
      hits[req.url!] = (hits[req.url!] ?? 0) + 1;
      if (req.url === '/flaky' && hits[req.url] === 1) res.writeHead(503).end();
      else if (req.url === '/missing') res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ plan: 'gold', method: req.method }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const user = await aUser();
      const { runId } = await s.client.automations.invoke.invokeAdHoc({
        automation: {
          steps: [
            { action: 'fetch-data', webhook: { method: 'POST', url: `${base}/flaky`, body: '{}' }, merge_strategy: 'overwrite' },
            { action: 'send', template, if: "data.plan === 'gold' && data.name === 'Ed'" } as never,
          ],
        },
        recipient: user,
        data: { name: 'Ed' },
      });
      const run = await settled(runId);
      expect(run.steps.map((x) => x.status)).toEqual(['done', 'done']);
      const [m] = await messagesOf(s, runId, 1);
      await idle();
      expect(mailsOf(m.id)).toHaveLength(1);
      // The 503 was tried again; each delivery of the job may call again, but the run went on once.
      expect(hits['/flaky']).toBeGreaterThanOrEqual(2);

      const failing = await s.client.automations.invoke.invokeAdHoc({
        automation: { steps: [{ action: 'fetch-data', webhook: { method: 'GET', url: `${base}/missing` } }] },
      });
      const failed = await settled(failing.runId);
      expect(failed.steps[0]).toMatchObject({ status: 'failed', error: 'fetch-data: the endpoint answered 404' });
    } finally {
      server.close();
    }
  });

  it('a run whose step fails ends failed, naming why, and does not go on', async () => {
    const { runId } = await s.client.automations.invoke.invokeAdHoc({
      automation: { steps: [{ action: 'send', recipient: 'someone' } as never, { action: 'update-profile', profile: { y: 1 } }] },
    });
    const run = await settled(runId);
    expect(run.status).toBe('failed');
    expect(run.steps[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('names no template') });
    expect(run.steps[1].status).toBe('canceled');
    const invoked = await s.client.automations.invoke.invokeAdHoc({ automation: { steps: [{ action: 'invoke', template: uid('none') }] } });
    expect((await settled(invoked.runId)).steps[0].error).toContain('no published automation template');
  });

  it('under an Idempotency-Key a retried invocation answers the same run', async () => {
    const key = uid('idem');
    const body = { automation: { steps: [{ action: 'update-profile', profile: { z: 1 }, recipient_id: await aUser() }] } };
    const a = await s.http('POST', '/automations/invoke', body, { headers: { 'Idempotency-Key': key } });
    const b = await s.http('POST', '/automations/invoke', body, { headers: { 'Idempotency-Key': key } });
    expect(a.status).toBe(202);
    expect(b.json.runId).toBe(a.json.runId);
  });

  it.each<[string, string, unknown, number, string]>([
    ['an unknown step', '/automations/invoke', { automation: { steps: [{ action: 'teleport' }] } }, 400, 'body.automation.steps.0.action: unknown step action'],
    [
      'a fetch-data method Courier does not have',
      '/automations/invoke',
      { automation: { steps: [{ action: 'fetch-data', webhook: { method: 'HEAD', url: 'https://x.test' } }] } },
      400,
      'body.automation.steps.0.webhook.method',
    ],
    ['a field Courier does not have', '/automations/invoke', { automation: { steps: [{ action: 'send' }] }, colour: 'red' }, 400, 'colour'],
    [
      'a delay with neither duration nor until',
      '/automations/invoke',
      { automation: { steps: [{ action: 'delay' }] } },
      400,
      'needs exactly one of duration and until',
    ],
    ['a template that does not exist', '/automations/nope/invoke', { recipient: 'u' }, 404, 'nope'],
    ['a journey without a user', '/journeys/nope/invoke', { data: {} }, 400, 'body.user_id'],
  ])('refuses %s', async (_, path, body, status, expected) => {
    const res = await s.http('POST', path, body);
    expect(res.status).toBe(status);
    expect(res.json.message).toContain(expected);
  });

  it('refuses a run larger than a run may hold (a large template and large data): 400 naming body.data, nothing stored', async () => {
    const big = uid('big');
    expect(
      (await s.http('PUT', `/automations/templates/${big}`, { name: 'Big', steps: [{ action: 'send', template, data: { pad: 'x'.repeat(200_000) } }] })).status,
    ).toBe(200);
    const res = await s.http('POST', `/automations/${big}/invoke`, { recipient: 'u', data: { pad: 'y'.repeat(150_000) } });
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/^Invalid request: body\.data: the run .* would be \d+ bytes/);
  });

  it('answers the SDK a BadRequestError for an invalid step and 404 for an unknown run', async () => {
    await expect(s.client.automations.invoke.invokeAdHoc({ automation: { steps: [{ action: 'teleport' } as never] } })).rejects.toBeInstanceOf(BadRequestError);
    expect((await s.http('GET', '/automations/runs/nope')).status).toBe(404);
  });
});
