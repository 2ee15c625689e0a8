import { randomBytes } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { startTestStack, type TestStack } from '../helpers/stack';
import { messagesOf } from '../helpers/send';
import { startWebhookServer } from '../helpers/webhook-server';
import { aListOf, via, webhookProfile } from '../helpers/builders';
import { uid } from '../helpers/wait';

/**
 * Issue 13: a fan-out's message records live in its delivery jobs' records, a slot per recipient
 * (docs/decisions.md D12, store/jobs.ts), written once per round for the whole job. What a message
 * record did, a slot does: reads, listings, cancel, a retry of one recipient that leaves its
 * neighbours alone, and records too large to share an item.
 */
let s: TestStack;
const jobWrites: string[] = [];
beforeAll(async () => {
  s = await startTestStack({ env: { RETRY_BASE_MS: '500', CACHE_TTL_MS: '0' } });
  const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      const item = (args.input as { Item?: Record<string, unknown> }).Item;
      const text = (v: unknown) => (typeof v === 'object' && v !== null && 'S' in v ? String((v as { S: unknown }).S) : String(v));
      if (/^Put/.test(context.commandName ?? '') && item && text(item.sk).startsWith('JOB#')) jobWrites.push(`${text(item.pk)}/${text(item.sk)}`);
      return next(args);
    },
    { step: 'initialize', name: 'jobWrites' },
  );
});
afterAll(() => s?.stop());

/** The sort keys of a request's partition, by kind (JOB, MSG, OUT, REQUEST). */
async function partition(requestId: string): Promise<Record<string, number>> {
  const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  const { TABLE } = require('../../lambdas/store/table') as typeof import('../../lambdas/store/table');
  const out = await ddb.send(
    new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `REQUEST#${requestId}` } }),
  );
  const kinds: Record<string, number> = {};
  for (const item of out.Items ?? []) {
    const kind = String(item.sk).split('#')[0];
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

describe("a fan-out's message records", () => {
  it('are slots of its delivery jobs, each job written once for an inbox round, and read like any message', async () => {
    const list = uid('jobs.list');
    const users = Array.from({ length: 60 }, (_, i) => `${list}-u${String(i).padStart(2, '0')}`);
    await aListOf(s, list, users);
    const trace = uid('trace');
    const { requestId } = await s.client.send.message({
      message: {
        to: { list_id: list },
        content: { title: 'Hi', body: 'Hello {{profile.name}}' },
        routing: via('inbox'),
        metadata: { trace_id: trace },
      } as never,
    });
    const messages = await messagesOf(s, trace, users.length);
    expect(messages.map((m) => m.status)).toEqual(users.map(() => 'DELIVERED'));
    expect(messages.every((m) => /^[0-9a-z]+\.0\.[0-2]\.[0-9a-o]$/.test(m.id))).toBe(true);
    expect(await partition(requestId)).toEqual({ JOB: 3, OUT: 1, REQUEST: 1 });
    expect(jobWrites.filter((w) => w.startsWith(`REQUEST#${requestId}/`)).sort()).toEqual(['0.0', '0.1', '0.2'].map((j) => `REQUEST#${requestId}/JOB#${j}`));

    const m = messages.find((x) => x.recipient === users[30])!;
    const one = await s.client.messages.retrieve(m.id);
    expect(one).toMatchObject({ id: m.id, status: 'DELIVERED', recipient: users[30] });
    const history = (await s.client.messages.history(m.id)).results.map((e) => (e as { type: string }).type);
    expect(history).toEqual(expect.arrayContaining(['ENQUEUED', 'DELIVERED']));
    expect(JSON.stringify(await s.client.messages.content(m.id))).toContain('Hello');
    const mine = await s.client.messages.list({ recipient: users[30] });
    expect((mine.results ?? []).map((x) => x.id)).toEqual([m.id]);
  }, 60_000);

  it("hold a retry of one recipient in its slot: its neighbours' providers are called once", async () => {
    const healthy = await startWebhookServer();
    const flaky = await startWebhookServer({ failFirst: 2, failStatus: 503 });
    try {
      const list = uid('jobs.retry');
      const users = Array.from({ length: 10 }, (_, i) => `${list}-u${i}`);
      for (const [i, u] of users.entries()) await s.client.profiles.replace(u, { profile: webhookProfile(i === 4 ? flaky.url : healthy.url) });
      await aListOf(s, list, users);
      const trace = uid('trace');
      await s.client.send.message({
        message: { to: { list_id: list }, content: { body: 'hook' }, routing: via('webhook'), metadata: { trace_id: trace } } as never,
      });
      const messages = await messagesOf(s, trace, users.length, 60_000);
      expect(messages.map((m) => m.status)).toEqual(users.map(() => 'DELIVERED'));
      const calls = [...(await healthy.calls()), ...(await flaky.calls())];
      const perMessage = messages.map((m) => [m.recipient, calls.filter((c) => c.messageId === m.id).length]);
      expect(Object.fromEntries(perMessage)).toEqual(Object.fromEntries(users.map((u, i) => [u, i === 4 ? 3 : 1])));
    } finally {
      await healthy.close();
      await flaky.close();
    }
  }, 90_000);

  it("fail only the write of a slot another writer changed, never its neighbours'", async () => {
    const { JobBatch, writeSlot, loadJob, slotRecord } = require('../../lambdas/store/jobs') as typeof import('../../lambdas/store/jobs');
    const { newMessageRecord } = require('../../lambdas/store/messages') as typeof import('../../lambdas/store/messages');
    const { newRequestId, slotMessageId } = require('../../lambdas/domain/send') as typeof import('../../lambdas/domain/send');
    const requestId = newRequestId(Date.now());
    const req = { requestId, message: { to: { list_id: 'l' } }, enqueued: Date.now() } as never;
    const at = { outbox: 0, job: 0 };
    const record = (slot: number, status: 'ENQUEUED' | 'ROUTED' | 'CANCELED' | 'DELIVERED') => ({
      ...newMessageRecord(req, { messageId: slotMessageId(requestId, { ...at, slot }), userId: `u${slot}` }, 'ENQUEUED', Date.now()),
      status,
    });
    // A worker's batch writes slots 0 and 1 as a round; both are new.
    const worker = new JobBatch(requestId, at);
    worker.enter();
    worker.enter();
    const [e0, e1] = await Promise.all([worker.write(record(0, 'ROUTED'), 0, 'absent'), worker.write(record(1, 'ROUTED'), 1, 'absent')]);
    expect([e0, e1]).toEqual([{ rev: expect.any(String) }, { rev: expect.any(String) }]);
    // Someone else (a cancel, another worker) changes slot 1 meanwhile.
    expect(await writeSlot(record(1, 'CANCELED'), { ...at, slot: 1 }, e1!)).toEqual({ rev: expect.any(String) });
    // The worker's next round, decided from what it read: slot 0 is written, slot 1 must re-read.
    const [n0, n1] = await Promise.all([worker.write(record(0, 'DELIVERED'), 0, e0!), worker.write(record(1, 'DELIVERED'), 1, e1!)]);
    expect([n0, n1]).toEqual([{ rev: expect.any(String) }, undefined]);
    worker.leave();
    worker.leave();
    const stored = await loadJob(requestId, at);
    expect([slotRecord(stored, 0)?.record.status, slotRecord(stored, 1)?.record.status]).toEqual(['DELIVERED', 'CANCELED']);
    // What it reads now is the slot as the other writer left it.
    expect((await worker.read(1, '0.0.1'))?.record.status).toBe('CANCELED');
  });

  it("never lose a slot's write to its neighbours' writes: many single writers of one job all land", async () => {
    const { writeSlot, loadJob, slotRecord } = require('../../lambdas/store/jobs') as typeof import('../../lambdas/store/jobs');
    const { newMessageRecord } = require('../../lambdas/store/messages') as typeof import('../../lambdas/store/messages');
    const { newRequestId, slotMessageId } = require('../../lambdas/domain/send') as typeof import('../../lambdas/domain/send');
    const requestId = newRequestId(Date.now());
    const req = { requestId, message: { to: { list_id: 'l' } }, enqueued: Date.now() } as never;
    const at = { outbox: 0, job: 0 };
    const record = (slot: number, status: 'ROUTED' | 'DELIVERED') => ({
      ...newMessageRecord(req, { messageId: slotMessageId(requestId, { ...at, slot }), userId: `u${slot}` }, 'ENQUEUED', Date.now()),
      status,
    });
    // As 25 retried recipients of one job would, each in its own run: first their claims, then their outcomes.
    const slots = Array.from({ length: 25 }, (_, i) => i);
    const claims = await Promise.all(slots.map((i) => writeSlot(record(i, 'ROUTED'), { ...at, slot: i }, 'absent')));
    expect(claims.filter((c) => c === undefined).length).toBe(0);
    const outcomes = await Promise.all(slots.map((i) => writeSlot(record(i, 'DELIVERED'), { ...at, slot: i }, claims[i]!)));
    expect(outcomes.filter((c) => c === undefined).length).toBe(0);
    const stored = await loadJob(requestId, at);
    expect(slots.map((i) => slotRecord(stored, i)?.record.status)).toEqual(slots.map(() => 'DELIVERED'));
  });

  it('move out of a job record too large for one item, and stay readable', async () => {
    const list = uid('jobs.large');
    const users = Array.from({ length: 25 }, (_, i) => `${list}-u${String(i).padStart(2, '0')}`);
    // Every recipient's rendered message is 24 KB of its own random text: 25 of them do not fit one item.
    for (const u of users) await s.client.profiles.replace(u, { profile: { blob: randomBytes(18 * 1024).toString('base64') } });
    await aListOf(s, list, users);
    const trace = uid('trace');
    const { requestId } = await s.client.send.message({
      message: { to: { list_id: list }, content: { title: 'Big', body: '{{profile.blob}}' }, routing: via('inbox'), metadata: { trace_id: trace } } as never,
    });
    const messages = await messagesOf(s, trace, users.length, 60_000);
    expect(messages.map((m) => m.status)).toEqual(users.map(() => 'DELIVERED'));
    const kinds = await partition(requestId);
    expect(kinds).toMatchObject({ JOB: 1 });
    expect(kinds.MSG).toBeGreaterThan(0);
    for (const m of messages) expect(JSON.stringify(await s.client.messages.content(m.id)).length).toBeGreaterThan(24 * 1024);
  }, 90_000);
});
