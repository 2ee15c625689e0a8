import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { pauseAfter } from '../helpers/ddb-gate';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';
import type { AudienceBackfillJob, FanoutJob } from '../../lambdas/shared/jobs';

/**
 * Audience membership under races (issue 11, item 7), driven deterministically: the fan-out queue
 * has no poller here, so every directory job the API enqueues waits until the test takes it and
 * runs it, in the order the test chooses, and `pauseAfter` holds one job between its read and its
 * write while a competing change runs to the end.
 */

let s: TestStack;
let jobs: typeof import('../../lambdas/workers/directory-jobs');
let asFanout: <A extends unknown[], R>(f: (...args: A) => R) => (...args: A) => R;
let shardOf: (id: string) => number;

beforeAll(async () => {
  s = await startTestStack({ concurrency: { fanout: 0 } });
  jobs = require('../../lambdas/workers/directory-jobs');
  const { asFunction } = require('../../lambdas/local/aws-calls') as typeof import('../../lambdas/local/aws-calls');
  const { functionIds } = require('../../lambdas/shared/topology') as typeof import('../../lambdas/shared/topology');
  asFanout = (f) => asFunction(functionIds.worker('fanout'), f);
  shardOf = (require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys')).shardOf;
});
afterAll(() => s?.stop());

/** Takes (and deletes) every job waiting on the fan-out queue, oldest first. */
async function takeJobs(): Promise<FanoutJob[]> {
  const out: FanoutJob[] = [];
  for (;;) {
    const res = await s.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: s.queues.fanout.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 300 }),
    );
    const messages = res.Messages ?? [];
    if (!messages.length) return out;
    out.push(...messages.map((m) => JSON.parse(m.Body!) as FanoutJob));
    await s.sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: s.queues.fanout.url, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }),
    );
  }
}

/** Runs one directory job as the fan-out worker does. */
function run(job: FanoutJob): Promise<void> {
  return asFanout(async () => {
    if (job.type === 'audience-user') return jobs.reevaluateUser(job);
    if (job.type === 'audience-backfill') return jobs.backfillAudience(job);
    throw new Error(`unexpected job ${job.type}`);
  })();
}

/** Runs queued jobs, and the jobs they enqueue, until the queue is empty. */
async function runAll(): Promise<void> {
  for (let batch = await takeJobs(); batch.length; batch = await takeJobs()) for (const job of batch) await run(job);
}

async function ok(method: string, path: string, body?: unknown): Promise<void> {
  const res = await s.http(method, path, body);
  expect(res.status).toBeLessThan(300);
}

const members = async (audienceId: string): Promise<string[]> => {
  const res = await s.http('GET', `/audiences/${audienceId}/members`);
  return (res.json.items as { member_id: string }[]).map((m) => m.member_id).sort();
};

/**
 * The race of every test here: `job` runs until it has made the read `holdAfter` matches and is held
 * there with what it read; `meanwhile` runs to the end; then the held job finishes on its old read.
 */
async function overtake(job: FanoutJob, holdAfter: Parameters<typeof pauseAfter>[0], meanwhile: () => Promise<void>): Promise<void> {
  const held = pauseAfter(holdAfter);
  const running = run(job);
  await held.reached;
  await meanwhile();
  held.release();
  await running;
}

/** Runs the jobs queued now, once (not the jobs they enqueue). */
async function runQueued(): Promise<void> {
  for (const job of await takeJobs()) await run(job);
}

const profileRead = (userId: string) => (command: string, input: string) =>
  command === 'GetItem' && input.includes(`"USER#${userId}"`) && input.includes('"PROFILE"');

describe('audience membership follows the newest decision', () => {
  it('a re-evaluation that read an older profile revision does not overwrite a newer decision', async () => {
    const plan = uid('pro');
    const a = uid('aud');
    const u = uid('user');
    await ok('PUT', `/audiences/${a}`, { filter: { filters: [{ operator: 'EQ', path: 'plan', value: plan }] } });
    await runAll();
    await ok('PUT', `/profiles/${u}`, { profile: { plan } });
    const [joined] = await takeJobs();
    // The first re-evaluation reads the profile (a match) and is held there, while the user leaves
    // the plan and that change is evaluated to the end.
    await overtake(joined, profileRead(u), async () => {
      await ok('PUT', `/profiles/${u}`, { profile: { plan: 'free' } });
      await runQueued();
    });
    await runAll();
    expect(await members(a)).toEqual([]);
  });

  it('a re-evaluation that read tenant memberships before a membership change does not overwrite a newer decision', async () => {
    const t = uid('tenant');
    const a = uid('aud');
    const u = uid('user');
    await ok('PUT', `/tenants/${t}`, { name: t });
    await ok('PUT', `/profiles/${u}`, { profile: { plan: 'any' } });
    await ok('PUT', `/audiences/${a}`, { filter: { filters: [{ operator: 'MEMBER_OF', path: 'account_id', value: t }] } });
    await runAll();
    await ok('PUT', `/users/${u}/tenants/${t}`);
    const [joined] = await takeJobs();
    // The re-evaluation reads the user's tenants (a match) and is held there, while the user
    // leaves the tenant, and that change is evaluated to the end.
    const tenantsRead = (command: string, input: string) => command === 'Query' && input.includes(`"USER#${u}"`) && input.includes('"MEMBEROF#"');
    await overtake(joined, tenantsRead, async () => {
      await ok('DELETE', `/users/${u}/tenants/${t}`);
      await runQueued();
    });
    await runAll();
    expect(await members(a)).toEqual([]);
  });

  it('a backfill page read before a profile change does not admit the changed profile', async () => {
    const plan = uid('pro');
    const a = uid('aud');
    const u = uid('user');
    await ok('PUT', `/profiles/${u}`, { profile: { plan } });
    await runAll();
    await ok('PUT', `/audiences/${a}`, { filter: { filters: [{ operator: 'EQ', path: 'plan', value: plan }] } });
    const [scan] = (await takeJobs()) as AudienceBackfillJob[];
    // The scan of the user's profile shard reads its page (the user matches) and is held there, as
    // a page of stale index copies would be...
    const page: AudienceBackfillJob = { ...scan, shard: shardOf(u) };
    // ...while the profile stops matching, and that change is evaluated to the end.
    await overtake(
      page,
      (command, input) => command === 'Query' && input.includes(`"PROFILES#${page.shard}"`),
      async () => {
        await ok('PUT', `/profiles/${u}`, { profile: { plan: 'free' } });
        await runQueued();
      },
    );
    await takeJobs(); // the next page of the scan: not needed here
    expect(await members(a)).toEqual([]);
  });

  it('a deleted and re-created audience does not keep the old members (generations are never reused)', async () => {
    const plan = uid('pro');
    const a = uid('aud');
    const u = uid('user');
    await ok('PUT', `/profiles/${u}`, { profile: { plan } });
    await runAll();
    await ok('PUT', `/audiences/${a}`, { filter: { filters: [{ operator: 'EQ', path: 'plan', value: plan }] } });
    await runAll();
    expect(await members(a)).toEqual([u]);

    await ok('DELETE', `/audiences/${a}`);
    const oldPrune = await takeJobs();
    // Re-created before the deletion's prune ran, with a filter nobody matches: its own backfill runs first.
    await ok('PUT', `/audiences/${a}`, { filter: { filters: [{ operator: 'EQ', path: 'plan', value: `${plan}-nobody` }] } });
    await runAll();
    for (const job of oldPrune) await run(job);
    await runAll();
    expect(await members(a)).toEqual([]);
  });

  it("the prune of a deleted audience does not remove members of the audience's re-creation", async () => {
    const plan = uid('pro');
    const a = uid('aud');
    const u = uid('user');
    await ok('PUT', `/profiles/${u}`, { profile: { plan } });
    await runAll();
    const filter = { filters: [{ operator: 'EQ', path: 'plan', value: plan }] };
    await ok('PUT', `/audiences/${a}`, { filter });
    await runAll();
    await ok('DELETE', `/audiences/${a}`);
    const [prune] = await takeJobs();
    // The deletion's prune reads the member list and is held there, while the audience is created
    // again, and its backfill admits the user again.
    const membersRead = (command: string, input: string) => command === 'Query' && input.includes(`"AUDIENCE#${a}"`) && input.includes('"MEMBER#"');
    await overtake(prune, membersRead, async () => {
      await ok('PUT', `/audiences/${a}`, { filter });
      await runAll();
      expect(await members(a)).toEqual([u]);
    });
    await runAll();
    expect(await members(a)).toEqual([u]);
  });
});
