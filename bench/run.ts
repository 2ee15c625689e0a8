/**
 * `npm run bench`: what one notification costs and how fast the pipeline runs, measured on the
 * local stack (DynamoDB Local and fauxqs, in memory) with the counters every DynamoDB and SQS
 * request passes through. Not part of `npm test`. See bench/README.md for what each figure means.
 *
 *   BENCH_CASES     the cases to run, comma-separated (default all, in this order):
 *                   fanout, ceiling, email, scaling, latency, single, recipient
 *                   (`ceiling` reads profiles that `fanout` seeds; it runs on its own, reading misses)
 *   BENCH_MEMBERS   members of the 3-level tenant tree of the fan-out cost runs (default 10000)
 *   BENCH_SIZES     recipients of the scaling runs (default 1000,10000,100000)
 *   BENCH_SENDS     POST /send calls of the latency run (default 2000)
 *   BENCH_SINGLE    sequential single sends of the single-send runs, per channel (default 300)
 *   BENCH_RECIPIENT_OTHERS   messages of other users before GET /messages?recipient= (default 100000)
 *   BENCH_RECIPIENT_FANOUT   recipients per send of those messages (default 1000)
 *   BENCH_OUT       where the results go (default bench/results.json)
 *
 * Each scaling size runs in a fresh child process (this file with `--scale-child`) holding the API
 * and the workers, with V8's heap capped at the functions' configured memory as Lambda's would be,
 * so its peak RSS is that of the workers for that size alone.
 */
import '../lambdas/local/env';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type QueueAttributeName,
} from '@aws-sdk/client-sqs';
import { startDynamoDbLocal, startFauxqs, type Emulator } from '../lambdas/local/emulators';
import { ensureQueues } from '../lambdas/local/resources';
import { startLocalStack, type LocalStack } from '../lambdas/local/stack';
import { QUEUES, SCHEDULED } from '../lambdas/shared/topology';
import { seedMembers } from '../test/helpers/seed';
import { breakdownSnapshot, observeDynamo, perUnit, resetBreakdown, type Breakdown } from './breakdown';
import { startFakeSes, type FakeSes } from './fake-ses';
import { PRICES } from './prices';

const ALL_CASES = ['fanout', 'ceiling', 'email', 'scaling', 'latency', 'single', 'recipient'] as const;
type Case = (typeof ALL_CASES)[number];
const CASES = new Set((process.env.BENCH_CASES ?? ALL_CASES.join(',')).split(',').map((c) => c.trim()) as Case[]);
for (const c of CASES) if (!ALL_CASES.includes(c)) throw new Error(`BENCH_CASES: unknown case ${c} (cases: ${ALL_CASES.join(', ')})`);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 10_000);
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const SENDS = Number(process.env.BENCH_SENDS ?? 2000);
const SINGLE = Number(process.env.BENCH_SINGLE ?? 300);
const RECIPIENT_OTHERS = Number(process.env.BENCH_RECIPIENT_OTHERS ?? 100_000);
const RECIPIENT_FANOUT = Number(process.env.BENCH_RECIPIENT_FANOUT ?? 1000);
const OUT = path.resolve(process.env.BENCH_OUT ?? path.join(__dirname, 'results.json'));
const DELIVERY_CONCURRENCY = 6;
const API_KEY = 'bench-key';

type Table = typeof import('../lambdas/store/table');
type Keys = typeof import('../lambdas/store/keys');
type UsageMod = typeof import('../lambdas/shared/usage');
type Messages = typeof import('../lambdas/store/messages');
const mod = () => ({
  table: require('../lambdas/store/table') as Table,
  keys: require('../lambdas/store/keys') as Keys,
  usage: require('../lambdas/shared/usage') as UsageMod,
  messages: require('../lambdas/store/messages') as Messages,
});

let stack: LocalStack;
const call = async (method: string, p: string, body?: unknown) => {
  const res = await fetch(stack.url + p, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${method} ${p} -> ${res.status} ${await res.text()}`);
  return res.status === 204 ? undefined : res.json();
};

/** Seeds members (and their profiles) of tenants straight into the table: seeding is not measured. */
async function seedTenants(byTenant: Map<string, number>, prefix: string, email = false): Promise<void> {
  for (const [tenantId, count] of byTenant) {
    await seedMembers(
      tenantId,
      Array.from({ length: count }, (_, i) => `${prefix}-${tenantId}-u${i}`),
      (userId, i) => ({ name: `User ${i}`, ...(email ? { email: `${userId}@bench.test` } : {}) }),
    );
  }
}

const DEPTH = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as QueueAttributeName[];

/** Nothing queued, in flight or delayed on any queue, and no batch in a worker (through the stack's own SQS client: not counted). */
async function quiet(): Promise<boolean> {
  if (!stack.pollersIdle()) return false;
  for (const q of Object.values(stack.queues)) {
    const a = await stack.sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.url, AttributeNames: DEPTH }));
    if (Object.values(a.Attributes ?? {}).some((v) => Number(v) > 0)) return false;
  }
  return stack.pollersIdle();
}

const invocationsSoFar = () => Object.values(stack.workerStats()).reduce((n, w) => n + w.invocations, 0);

/**
 * Waits until the stack is quiet at two reads `everyMs` apart with no invocation started between
 * them: nothing was in flight in between. Reads no table, so it adds nothing to the counters.
 */
async function quiesce(everyMs = 100, timeoutMs = 30 * 60_000): Promise<void> {
  const t0 = Date.now();
  let last = (await quiet()) ? invocationsSoFar() : undefined;
  for (;;) {
    await new Promise((r) => setTimeout(r, everyMs));
    const now = (await quiet()) ? invocationsSoFar() : undefined;
    if (now !== undefined && now === last) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`the stack is not quiet after ${timeoutMs} ms`);
    last = now;
  }
}

/** Starts counting from zero: the usage counters, the breakdown, the log bytes and the workers' figures. */
function startCounting() {
  const { usage } = mod();
  const before = stack.workerStats();
  usage.resetUsage();
  resetBreakdown();
  let logBytes = 0;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  return {
    /** What was counted since the start; `stop` also puts stdout back. */
    read(stop = false) {
      if (stop) process.stdout.write = write;
      const after = stack.workerStats();
      return {
        usage: usage.usageSnapshot(),
        breakdown: breakdownSnapshot(),
        logBytes,
        invocations: (Object.keys(after) as (keyof typeof after)[]).reduce((n, q) => n + after[q].invocations - before[q].invocations, 0),
        durationMs: (Object.keys(after) as (keyof typeof after)[]).reduce((n, q) => n + after[q].durationMs - before[q].durationMs, 0),
      };
    },
  };
}

interface SendRun {
  recipients: number;
  seconds: number;
  recipientsPerSecond: number;
  peakRssMB: number;
  baselineRssMB: number;
  terminal: number;
  delivered: number;
  cost: ReturnType<typeof costOf>;
  breakdown: Breakdown;
}

/** Sends `message` and waits for the whole request to finish, counting everything it cost. */
async function measureSend(message: Record<string, unknown>, expected: number): Promise<SendRun> {
  const { messages } = mod();
  (global.gc as (() => void) | undefined)?.();
  await quiesce();
  const counting = startCounting();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const t0 = Date.now();
  const t = performance.now();
  const { requestId } = (await call('POST', '/send', { message })) as { requestId: string };
  const apiMs = performance.now() - t;
  await quiesce(500);
  const seconds = (Date.now() - t0) / 1000;
  clearInterval(sampler);
  const counted = counting.read(true);

  if (!(await messages.getRequest(requestId))?.fanout?.done) throw new Error(`request ${requestId}: the fan-out is not done`);
  let terminal = 0;
  let delivered = 0;
  let cursor: string | undefined;
  do {
    const page = await messages.listRequestMessages(requestId, 500, cursor);
    for (const m of page.items) {
      if (messages.TERMINAL.has(m.status)) terminal += 1;
      if (m.status === 'DELIVERED') delivered += 1;
    }
    cursor = page.cursor;
  } while (cursor);
  if (terminal !== expected) throw new Error(`expected ${expected} terminal messages, found ${terminal}`);
  return {
    recipients: expected,
    seconds,
    recipientsPerSecond: Math.round(expected / seconds),
    peakRssMB: Math.round(peak / 2 ** 20),
    baselineRssMB: Math.round(baseline / 2 ** 20),
    terminal,
    delivered,
    cost: costOf(counted.usage, { ...counted, apiCalls: 1, apiMs }, expected),
    breakdown: perUnit(counted.breakdown, expected),
  };
}

interface LambdaUse {
  /** Worker and scheduled invocations (batches); each API call is one more. */
  invocations: number;
  durationMs: number;
  /** API calls: one API Gateway request and one API function invocation each. */
  apiCalls: number;
  /** The API calls' time, measured by the caller (an upper bound of the API function's duration). */
  apiMs: number;
  logBytes: number;
}

/** Per-recipient counts and US$ per million notifications, by service, on-demand and with provisioned DynamoDB. */
function costOf(u: ReturnType<UsageMod['usageSnapshot']>, lambda: LambdaUse, n: number) {
  const memoryGb = QUEUES.delivery.memoryMB / 1024;
  const perRecipient = {
    dynamodbWRU: u.dynamodb.wcu / n,
    dynamodbRRU: u.dynamodb.rcu / n,
    dynamodbRequests: Object.values(u.dynamodb.requests).reduce((a, b) => a + b, 0) / n,
    // The workers' own sends, plus what Lambda's event source mapping bills on our queues: one
    // ReceiveMessage and one DeleteMessageBatch per batch it hands a worker.
    sqsBilledRequests: (u.sqs.billedRequests + 2 * lambda.invocations) / n,
    lambdaInvocations: (lambda.invocations + lambda.apiCalls) / n,
    lambdaGbSeconds: (((lambda.durationMs + lambda.apiMs) / 1000) * memoryGb) / n,
    apiRequests: lambda.apiCalls / n,
    logBytes: lambda.logBytes / n,
  };
  const M = 1_000_000;
  const usd = {
    dynamodb: perRecipient.dynamodbWRU * PRICES.dynamodbPerMillionWRU + perRecipient.dynamodbRRU * PRICES.dynamodbPerMillionRRU,
    sqs: perRecipient.sqsBilledRequests * PRICES.sqsPerMillionRequests,
    lambda: perRecipient.lambdaInvocations * PRICES.lambdaPerMillionRequests + M * perRecipient.lambdaGbSeconds * PRICES.lambdaArmPerGbSecond,
    apiGateway: perRecipient.apiRequests * PRICES.httpApiPerMillionRequests,
    logs: (M * perRecipient.logBytes * PRICES.logsPerGbIngested) / 2 ** 30,
  };
  const total = Object.values(usd).reduce((a, b) => a + b, 0);
  // Provisioned: a WCU (RCU) serves one WRU (RRU) a second for an hour, used at the utilisation
  // auto scaling targets, so each unit consumed costs the hourly price over 3,600 x utilisation.
  const perUnitHour = 3600 * PRICES.provisionedUtilisation;
  const provisionedDynamodb =
    M * ((perRecipient.dynamodbWRU * PRICES.dynamodbPerWcuHour) / perUnitHour + (perRecipient.dynamodbRRU * PRICES.dynamodbPerRcuHour) / perUnitHour);
  const round = (o: Record<string, number>, d: number) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number(v.toFixed(d))]));
  return {
    perRecipient: round(perRecipient, 4),
    usdPerMillion: { ...round(usd, 4), total: Number(total.toFixed(4)) },
    usdPerMillionProvisioned: { dynamodb: Number(provisionedDynamodb.toFixed(4)), total: Number((total - usd.dynamodb + provisionedDynamodb).toFixed(4)) },
    requests: { dynamodb: u.dynamodb.requests, sqs: u.sqs.requests },
  };
}

const inboxMessage = (to: Record<string, unknown>) => ({
  to,
  content: { title: 'Release notes', body: 'Hi {{profile.name}}, version 2 is out.' },
  routing: { method: 'single', channels: ['inbox'] },
});

const emailMessage = (to: Record<string, unknown>) => ({ ...inboxMessage(to), routing: { method: 'single', channels: ['email'] } });

/** The email provider of the email cases: SES, at the local fake. */
async function configureEmailProvider(): Promise<void> {
  await call('POST', '/providers', { provider: 'ses', priority: 1, settings: { from: 'bench@bench.test', region: 'us-east-1' } });
}

/**
 * 1. A 3-level tree (root, 10 children, 10 grandchildren each) with MEMBERS members, include_children,
 * to the inbox or (members with an email) to email through the SES provider at the local fake.
 */
async function fanoutCost(channel: 'inbox' | 'email', ses?: FakeSes): Promise<SendRun> {
  const p = channel === 'inbox' ? 'bench' : 'bench-email';
  const root = `${p}-root`;
  await call('PUT', `/tenants/${root}`, { name: 'root' });
  const tenants = [root];
  for (let c = 0; c < 10; c++) {
    const child = `${p}-c${c}`;
    await call('PUT', `/tenants/${child}`, { name: child, parent_tenant_id: root });
    tenants.push(child);
    for (let g = 0; g < 10; g++) {
      await call('PUT', `/tenants/${child}-g${g}`, { name: `${child}-g${g}`, parent_tenant_id: child });
      tenants.push(`${child}-g${g}`);
    }
  }
  const per = new Map(tenants.map((t, i) => [t, Math.floor(MEMBERS / tenants.length) + (i < MEMBERS % tenants.length ? 1 : 0)]));
  await seedTenants(per, channel === 'inbox' ? 'tree' : 'mail', channel === 'email');
  const to = { tenant_id: root, include_children: true };
  const sentBefore = ses?.sent() ?? 0;
  const run = await measureSend(channel === 'inbox' ? inboxMessage(to) : emailMessage(to), MEMBERS);
  if (ses && ses.sent() - sentBefore !== MEMBERS) throw new Error(`email fan-out: the provider received ${ses.sent() - sentBefore} emails, not ${MEMBERS}`);
  return run;
}

/**
 * 2. The emulators' ceiling for the least work a recipient needs (one SQS message in and out, one
 * profile read, one record write), at the delivery worker's concurrency and batch size.
 */
async function ceiling(n: number): Promise<number> {
  const { table, keys } = mod();
  const { ddb } = require('../lambdas/shared/aws') as typeof import('../lambdas/shared/aws');
  const { GetCommand, PutCommand } = require('@aws-sdk/lib-dynamodb') as typeof import('@aws-sdk/lib-dynamodb');
  const q = (await ensureQueues(stack.sqs, `ceiling-${Date.now()}`)).delivery;
  for (let i = 0; i < n; i += 10) {
    await stack.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: q.url,
        Entries: Array.from({ length: Math.min(10, n - i) }, (_, j) => ({
          Id: String(j),
          MessageBody: JSON.stringify({ userId: `tree-bench-root-u${(i + j) % 50}` }),
        })),
      }),
    );
  }
  let done = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: DELIVERY_CONCURRENCY }, async () => {
      while (done < n) {
        const out = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: q.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
        const batch = out.Messages ?? [];
        await Promise.all(
          batch.map(async (m) => {
            const { userId } = JSON.parse(m.Body!) as { userId: string };
            await ddb.send(new GetCommand({ TableName: table.TABLE, Key: keys.keys.profile(userId) }));
            await ddb.send(new PutCommand({ TableName: table.TABLE, Item: { pk: `CEILING#${m.MessageId}`, sk: 'X', doc: '{}' } }));
          }),
        );
        if (batch.length)
          await stack.sqs.send(
            new DeleteMessageBatchCommand({ QueueUrl: q.url, Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }),
          );
        done += batch.length;
      }
    }),
  );
  return Math.round(n / ((Date.now() - t0) / 1000));
}

/** 3. Flat tenants of each size, each send measured in a fresh child process. */
async function scaling(endpoints: { dynamodb: string; sqs: string }): Promise<SendRun[]> {
  const out: SendRun[] = [];
  for (const n of SIZES) {
    const tenant = `bench-flat-${n}`;
    await call('PUT', `/tenants/${tenant}`, { name: tenant });
    await seedTenants(new Map([[tenant, n]]), 'flat');
    const file = path.join(os.tmpdir(), `bench-scale-${process.pid}-${n}.json`);
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [`--max-old-space-size=${QUEUES.delivery.memoryMB}`, '--expose-gc', '--import', 'tsx', __filename, '--scale-child', String(n), tenant, file],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
          env: { ...process.env, BENCH_DYNAMODB: endpoints.dynamodb, BENCH_SQS: endpoints.sqs },
        },
      );
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scaling ${n}: child exited with ${code}`))));
    });
    out.push(JSON.parse(readFileSync(file, 'utf8')) as SendRun);
    process.stderr.write(`scaling ${n}: ${out[out.length - 1].seconds}s\n`);
  }
  return out;
}

/** The child of one scaling size: its own API and workers on the parent's emulators and table. */
async function scaleChild(n: number, tenant: string, file: string): Promise<void> {
  stack = await startLocalStack({ ...stackOptions(process.env.BENCH_DYNAMODB!, process.env.BENCH_SQS!), queuePrefix: `bench-scale-${n}` });
  observeDynamo();
  try {
    writeFileSync(file, JSON.stringify(await measureSend(inboxMessage({ tenant_id: tenant }), n)));
  } finally {
    await stack.stop();
  }
}

/** 4. POST /send latency for single-user sends, 8 at a time. */
async function latency(): Promise<{ p50: number; p95: number; p99: number; calls: number }> {
  await call('PUT', '/profiles/bench-latency', { profile: { name: 'Latency' } });
  const times: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < SENDS) {
        next += 1;
        const t0 = performance.now();
        await call('POST', '/send', { message: inboxMessage({ user_id: 'bench-latency' }) });
        times.push(performance.now() - t0);
      }
    }),
  );
  times.sort((a, b) => a - b);
  const at = (p: number) => Number(times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))].toFixed(1));
  return { p50: at(50), p95: at(95), p99: at(99), calls: times.length };
}

type Counted = ReturnType<ReturnType<typeof startCounting>['read']>;

/**
 * Moves the product clock past the sweeper's grace and runs the sweeper (as its schedule would)
 * until a sweep changes nothing: no write, no message sent, no worker invoked. Returns what was
 * counted up to the last sweep that did something (the one that finds nothing runs every minute
 * whatever the traffic, so it is no send's cost), and how many sweeps that took.
 */
async function sweepUntilIdle(counting: ReturnType<typeof startCounting>): Promise<{ sweeps: number; sweepMs: number; counted: Counted }> {
  const { advanceClock } = require('../lambdas/shared/clock') as typeof import('../lambdas/shared/clock');
  const { config } = require('../lambdas/shared/config') as typeof import('../lambdas/shared/config');
  let last = counting.read();
  let sweeps = 0;
  let sweepMs = 0;
  for (;;) {
    if (sweeps > 20) throw new Error('the sweeper still finds work after 20 sweeps');
    advanceClock(config.SWEEP_GRACE_MS + 60_000);
    const t = performance.now();
    await stack.runScheduled();
    const ms = performance.now() - t;
    await quiesce();
    const now = counting.read();
    const did =
      now.usage.dynamodb.wcu > last.usage.dynamodb.wcu || now.usage.sqs.billedRequests > last.usage.sqs.billedRequests || now.invocations > last.invocations;
    if (!did) return { sweeps, sweepMs, counted: last };
    sweeps += 1;
    sweepMs += ms;
    last = now;
  }
}

/**
 * 5. Single sends: SINGLE sequential POST /send, each to one user with an email, to the inbox or
 * to email through the SES fake; the queues drained; then the sweeper's passes over the requests.
 * Priced per send, with one API function invocation per call.
 */
async function singleSends(channel: 'inbox' | 'email', ses: FakeSes) {
  const tenant = `bench-single-${channel}`;
  const users = Array.from({ length: SINGLE }, (_, i) => `single-${channel}-u${i}`);
  await seedMembers(tenant, users, (userId, i) => ({ name: `User ${i}`, email: `${userId}@bench.test` }));
  // Whatever earlier cases left open is swept first, uncounted, so the sweeps below see only these sends.
  await quiesce();
  await sweepUntilIdle(startCounting());
  const counting = startCounting();
  const sentBefore = ses.sent();
  const requestIds: string[] = [];
  let apiMs = 0;
  for (const user of users) {
    const t = performance.now();
    const to = { user_id: user };
    const { requestId } = (await call('POST', '/send', { message: channel === 'inbox' ? inboxMessage(to) : emailMessage(to) })) as { requestId: string };
    apiMs += performance.now() - t;
    requestIds.push(requestId);
  }
  await quiesce();
  const { sweeps, sweepMs, counted } = await sweepUntilIdle(counting);
  counting.read(true);

  const { messages } = mod();
  let terminal = 0;
  for (const id of requestIds) if (messages.TERMINAL.has(((await call('GET', `/messages/${id}`)) as { status: never }).status)) terminal += 1;
  if (terminal !== SINGLE) throw new Error(`single ${channel}: ${terminal} of ${SINGLE} messages terminal`);
  if (channel === 'email' && ses.sent() - sentBefore !== SINGLE) throw new Error(`single email: the provider received ${ses.sent() - sentBefore} emails`);
  const lambda = {
    ...counted,
    invocations: counted.invocations + sweeps * SCHEDULED.length,
    durationMs: counted.durationMs + sweepMs,
    apiCalls: SINGLE,
    apiMs,
  };
  return {
    channel,
    sends: SINGLE,
    sweeps,
    api_mean_ms: Number((apiMs / SINGLE).toFixed(1)),
    cost: costOf(counted.usage, lambda, SINGLE),
    breakdown: perUnit(counted.breakdown, SINGLE),
  };
}

/** How many messages one user has among the others', and how many a listing page should bring. */
const USER_MESSAGES = 60;
const PAGE = 50;
/** Calls the recipient case follows the cursor for before it gives up collecting a page of the user's messages. */
const MAX_LISTING_CALLS = 100;

/**
 * 6. `GET /messages?recipient=X`: the newest 50 of one user's 60 messages among RECIPIENT_OTHERS
 * messages of other users. Seeded by sending (not counted), so the case measures any message
 * design: inbox fan-outs of RECIPIENT_FANOUT others each, with the user's single sends spread
 * evenly between them, in 20 steps half an hour apart on the product clock (about 10 hours, inside
 * today's 7-day look-back). Then one call is measured, and the cursor followed until a page of
 * the user's messages is collected (at most MAX_LISTING_CALLS calls).
 */
async function recipientListing() {
  const { advanceClock } = require('../lambdas/shared/clock') as typeof import('../lambdas/shared/clock');
  const user = 'bench-recipient-user';
  await call('PUT', `/profiles/${user}`, { profile: { name: 'Recipient' } });
  const tenant = 'bench-others';
  const members = Math.min(RECIPIENT_FANOUT, RECIPIENT_OTHERS);
  await call('PUT', `/tenants/${tenant}`, { name: tenant });
  await seedTenants(new Map([[tenant, members]]), 'other');
  const fanouts = Math.ceil(RECIPIENT_OTHERS / members);
  const total = fanouts + USER_MESSAGES;
  const order: ('other' | 'user')[] = [];
  for (let i = 0, u = 0; i < total; i++) {
    const mine = Math.floor(((i + 1) * USER_MESSAGES) / total) > u;
    order.push(mine ? 'user' : 'other');
    if (mine) u += 1;
  }
  const steps = 20;
  const perStep = Math.ceil(total / steps);
  const userRequests: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < total; i += perStep) {
    for (const kind of order.slice(i, i + perStep)) {
      const to = kind === 'user' ? { user_id: user } : { tenant_id: tenant };
      const { requestId } = (await call('POST', '/send', { message: inboxMessage(to) })) as { requestId: string };
      if (kind === 'user') userRequests.push(requestId);
    }
    await quiesce(250);
    advanceClock(30 * 60_000);
    process.stderr.write(`  recipient: seeded ${Math.min(total, i + perStep)} of ${total} sends (${Math.round((Date.now() - t0) / 1000)} s)\n`);
  }

  type Page = { results: { id: string; recipient: string }[]; paging: { cursor: string | null; more: boolean } };
  const list = (cursor?: string | null) => call('GET', `/messages?recipient=${user}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`) as Promise<Page>;
  const requestsOf = (c: Counted) => Object.values(c.usage.dynamodb.requests).reduce((a, b) => a + b, 0);
  const counting = startCounting();
  let t = performance.now();
  const first = await list();
  const firstMs = performance.now() - t;
  const one = counting.read();
  const found = [...first.results];
  let cursor = first.paging.cursor;
  let calls = 1;
  t = performance.now();
  while (found.length < PAGE && cursor && calls < MAX_LISTING_CALLS) {
    const page = await list(cursor);
    found.push(...page.results);
    cursor = page.paging.cursor;
    calls += 1;
  }
  const followMs = performance.now() - t + firstMs;
  const all = counting.read(true);
  const newest = userRequests.slice(-PAGE).reverse();
  return {
    messages_of_others: fanouts * members,
    messages_of_user: USER_MESSAGES,
    one_call: {
      dynamodb_requests: requestsOf(one),
      rru: Number(one.usage.dynamodb.rcu.toFixed(2)),
      ms: Number(firstMs.toFixed(1)),
      returned: first.results.length,
      returned_of_user: first.results.filter((r) => r.recipient === user).length,
      more: first.paging.more,
      requests: one.usage.dynamodb.requests,
    },
    to_a_page: {
      calls,
      dynamodb_requests: requestsOf(all),
      rru: Number(all.usage.dynamodb.rcu.toFixed(2)),
      ms: Number(followMs.toFixed(1)),
      found: found.length,
      newest_50_in_order: found.length >= PAGE && found.slice(0, PAGE).every((m, i) => m.id === newest[i]),
    },
  };
}

const stackOptions = (dynamodbEndpoint: string, sqsEndpoint: string, env?: Record<string, string>) => ({
  port: 0,
  apiKey: API_KEY,
  dynamodbEndpoint,
  sqsEndpoint,
  tableName: 'bench',
  queuePrefix: 'bench',
  concurrency: { fanout: 2, delivery: DELIVERY_CONCURRENCY },
  scheduleEveryMs: 0,
  env,
});

const breakdownLines = (b: Breakdown) =>
  Object.entries(b.byItem)
    .map(([k, t]) => `${k} ${t.wru} WRU ${t.rru} RRU`)
    .join('; ');

/** A fan-out run as results.json reports it. */
const fanoutResult = (r: SendRun) => ({
  members: r.recipients,
  seconds: r.seconds,
  recipients_per_second: r.recipientsPerSecond,
  delivered: r.delivered,
  usd_per_million: r.cost.usdPerMillion.total,
  usd_per_million_by_service: r.cost.usdPerMillion,
  usd_per_million_provisioned: r.cost.usdPerMillionProvisioned,
  per_recipient: r.cost.perRecipient,
  requests: r.cost.requests,
  breakdown_per_recipient: r.breakdown,
});

async function main() {
  const emulators: Emulator[] = await Promise.all([startDynamoDbLocal(), startFauxqs()]);
  const [dynamo, sqs] = emulators;
  const ses = await startFakeSes();
  process.env.POWERTOOLS_LOG_LEVEL ??= 'INFO';
  stack = await startLocalStack(stackOptions(dynamo.endpoint, sqs.endpoint, { SES_ENDPOINT: ses.url }));
  observeDynamo();
  const step = (c: Case, what: string) => CASES.has(c) && process.stderr.write(`bench: ${what}...\n`);
  try {
    await configureEmailProvider();
    const cost = step('fanout', `fan-out cost over a ${MEMBERS}-member tenant tree, inbox`) ? await fanoutCost('inbox') : undefined;
    const ceilingRps = step('ceiling', 'ceiling') ? await ceiling(Math.min(MEMBERS, 10_000)) : undefined;
    const email = step('email', `fan-out cost over a ${MEMBERS}-member tenant tree, email through the SES fake`) ? await fanoutCost('email', ses) : undefined;
    const scale = step('scaling', `scaling ${SIZES.join(', ')}`) ? await scaling({ dynamodb: dynamo.endpoint, sqs: sqs.endpoint }) : undefined;
    const lat = step('latency', `${SENDS} POST /send`) ? await latency() : undefined;
    const single = step('single', `${SINGLE} single sends per channel`)
      ? { inbox: await singleSends('inbox', ses), email: await singleSends('email', ses) }
      : undefined;
    const recipient = step('recipient', `GET /messages?recipient= among ${RECIPIENT_OTHERS} messages of others`) ? await recipientListing() : undefined;
    const results = {
      measuredAt: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      cases: [...CASES],
      prices: PRICES,
      ...(cost && {
        usd_per_million_notifications: cost.cost.usdPerMillion.total,
        usd_per_million_by_service: cost.cost.usdPerMillion,
        usd_per_million_provisioned: cost.cost.usdPerMillionProvisioned,
        per_recipient: cost.cost.perRecipient,
        requests: cost.cost.requests,
        recipients_per_second: cost.recipientsPerSecond,
      }),
      ...(ceilingRps !== undefined && { ceiling_recipients_per_second: ceilingRps }),
      ...(cost && ceilingRps !== undefined && { throughput_ratio: Number((cost.recipientsPerSecond / ceilingRps).toFixed(2)) }),
      ...(lat && { send_p50_ms: lat.p50, send_p95_ms: lat.p95, send_p99_ms: lat.p99 }),
      ...(cost && { fanout: { members: MEMBERS, seconds: cost.seconds, delivered: cost.delivered, breakdown_per_recipient: cost.breakdown } }),
      ...(email && { email_fanout: fanoutResult(email) }),
      ...(scale && {
        scaling: scale.map((r) => ({
          recipients: r.recipients,
          seconds: r.seconds,
          recipients_per_second: r.recipientsPerSecond,
          usd_per_million: r.cost.usdPerMillion.total,
          usd_per_million_provisioned: r.cost.usdPerMillionProvisioned.total,
          wru: r.cost.perRecipient.dynamodbWRU,
          rru: r.cost.perRecipient.dynamodbRRU,
          peak_rss_mb: r.peakRssMB,
        })),
      }),
      ...(single && {
        single_sends: Object.fromEntries(
          Object.entries(single).map(([channel, r]) => [
            channel,
            {
              sends: r.sends,
              sweeps: r.sweeps,
              api_mean_ms: r.api_mean_ms,
              usd_per_million: r.cost.usdPerMillion.total,
              usd_per_million_by_service: r.cost.usdPerMillion,
              usd_per_million_provisioned: r.cost.usdPerMillionProvisioned,
              per_send: r.cost.perRecipient,
              requests: r.cost.requests,
              breakdown_per_send: r.breakdown,
            },
          ]),
        ),
      }),
      ...(recipient && { recipient_listing: recipient }),
    };
    mkdirSync(path.dirname(OUT), { recursive: true });
    writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n');
    const line = (k: string, v: unknown) => process.stdout.write(`${k.padEnd(34)} ${v}\n`);
    process.stdout.write(`\nbenchmark ${results.measuredAt} (${results.machine.cpus} CPUs, ${results.machine.memoryGB} GB, Node ${process.version})\n`);
    const fanoutLines = (name: string, r: SendRun) => {
      line(`${name}: US$ per million`, `${r.cost.usdPerMillion.total} (provisioned DynamoDB: ${r.cost.usdPerMillionProvisioned.total})`);
      for (const [k, v] of Object.entries(r.cost.usdPerMillion)) if (k !== 'total') line(`  ${k}`, v);
      for (const [k, v] of Object.entries(r.cost.perRecipient)) line(`  per recipient: ${k}`, v);
      line('  per recipient, by item', breakdownLines(r.breakdown));
      line('  recipients / s', r.recipientsPerSecond);
    };
    if (cost) fanoutLines('inbox fan-out', cost);
    if (ceilingRps !== undefined) line('recipients / s (ceiling)', ceilingRps);
    if (results.throughput_ratio !== undefined) line('ratio', results.throughput_ratio);
    if (email) fanoutLines('email fan-out', email);
    if (lat) line('POST /send p50 / p95 / p99 ms', `${lat.p50} / ${lat.p95} / ${lat.p99}`);
    for (const s of results.scaling ?? [])
      line(
        `scaling ${s.recipients}`,
        `${s.seconds}s, ${s.recipients_per_second}/s, $${s.usd_per_million}/M ($${s.usd_per_million_provisioned} provisioned), ${s.wru} WRU, ${s.rru} RRU, peak RSS ${s.peak_rss_mb} MB`,
      );
    for (const r of single ? [single.inbox, single.email] : []) {
      const p = r.cost.perRecipient;
      line(`single ${r.channel}: US$ per million`, `${r.cost.usdPerMillion.total} (provisioned DynamoDB: ${r.cost.usdPerMillionProvisioned.total})`);
      for (const [k, v] of Object.entries(r.cost.usdPerMillion)) if (k !== 'total') line(`  ${k}`, v);
      line(
        '  per send',
        `${p.dynamodbWRU} WRU, ${p.dynamodbRRU} RRU, ${p.dynamodbRequests} DynamoDB requests, ${p.sqsBilledRequests} SQS, ${p.lambdaInvocations} Lambda`,
      );
      line('  per send, by item', breakdownLines(r.breakdown));
      line('  sweeps', r.sweeps);
    }
    if (recipient) {
      const o = recipient.one_call;
      line(
        'GET /messages?recipient=, 1 call',
        `${o.dynamodb_requests} DynamoDB requests, ${o.rru} RRU, ${o.ms} ms, ${o.returned_of_user} of the user's messages`,
      );
      const a = recipient.to_a_page;
      line(
        `  to ${PAGE} of the user's`,
        `${a.calls} calls, ${a.dynamodb_requests} DynamoDB requests, ${a.rru} RRU, ${a.ms} ms, found ${a.found}, newest 50: ${a.newest_50_in_order}`,
      );
    }
    process.stdout.write(`\nwritten to ${path.relative(process.cwd(), OUT)}\n`);
  } finally {
    await stack.stop();
    await ses.close();
    await Promise.all(emulators.map((e) => e.stop()));
  }
}

const child = process.argv.indexOf('--scale-child');
(child > 0 ? scaleChild(Number(process.argv[child + 1]), process.argv[child + 2], process.argv[child + 3]) : main()).catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
