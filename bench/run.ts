/**
 * `npm run bench`: what one notification costs and how fast the pipeline runs, measured on the
 * local stack (DynamoDB Local and fauxqs, in memory) with the counters every DynamoDB and SQS
 * request passes through. Not part of `npm test`. See bench/README.md for what each figure means.
 *
 *   BENCH_MEMBERS   members of the 3-level tenant tree of the cost run (default 10000)
 *   BENCH_SIZES     recipients of the scaling runs (default 1000,10000,100000)
 *   BENCH_SENDS     POST /send calls of the latency run (default 2000)
 *
 * Each scaling size runs in a fresh child process (this file with `--scale-child`) holding the API
 * and the workers, with V8's heap capped at the functions' configured memory as Lambda's would be,
 * so its peak RSS is that of the workers for that size alone.
 */
import '../lambdas/local/env';
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { startDynamoDbLocal, startFauxqs, type Emulator } from '../lambdas/local/emulators';
import { ensureQueues } from '../lambdas/local/resources';
import { startLocalStack, type LocalStack } from '../lambdas/local/stack';
import { QUEUES } from '../lambdas/shared/topology';
import { seedMembers } from '../test/helpers/seed';
import { PRICES } from './prices';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 10_000);
const SIZES = (process.env.BENCH_SIZES ?? '1000,10000,100000').split(',').map(Number);
const SENDS = Number(process.env.BENCH_SENDS ?? 2000);
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
async function seedTenants(byTenant: Map<string, number>, prefix: string): Promise<void> {
  for (const [tenantId, count] of byTenant) {
    await seedMembers(
      tenantId,
      Array.from({ length: count }, (_, i) => `${prefix}-${tenantId}-u${i}`),
      (_, i) => ({ name: `User ${i}` }),
    );
  }
}

async function queuesEmpty(): Promise<boolean> {
  for (const q of Object.values(stack.queues)) {
    const a = await stack.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: q.url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    if (Object.values(a.Attributes ?? {}).some((v) => Number(v) > 0)) return false;
  }
  return true;
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
}

/** Sends `message` and waits for the whole request to finish, counting everything it cost. */
async function measureSend(message: Record<string, unknown>, expected: number): Promise<SendRun> {
  const { usage, messages } = mod();
  (global.gc as (() => void) | undefined)?.();
  const before = stack.workerStats();
  usage.resetUsage();
  let logBytes = 0;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const t0 = Date.now();
  const { requestId } = (await call('POST', '/send', { message })) as { requestId: string };
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    if ((await messages.getRequest(requestId))?.fanout?.done && (await queuesEmpty())) break;
  }
  const seconds = (Date.now() - t0) / 1000;
  clearInterval(sampler);
  process.stdout.write = write;
  const counted = usage.usageSnapshot();
  const after = stack.workerStats();

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
  const invocations = (['fanout', 'delivery'] as const).reduce((n, q) => n + after[q].invocations - before[q].invocations, 0);
  const durationMs = (['fanout', 'delivery'] as const).reduce((n, q) => n + after[q].durationMs - before[q].durationMs, 0);
  return {
    recipients: expected,
    seconds,
    recipientsPerSecond: Math.round(expected / seconds),
    peakRssMB: Math.round(peak / 2 ** 20),
    baselineRssMB: Math.round(baseline / 2 ** 20),
    terminal,
    delivered,
    cost: costOf(counted, { invocations, durationMs, apiCalls: 1, logBytes }, expected),
  };
}

/** Per-recipient counts and US$ per million notifications, by service. */
function costOf(u: ReturnType<UsageMod['usageSnapshot']>, lambda: { invocations: number; durationMs: number; apiCalls: number; logBytes: number }, n: number) {
  const memoryGb = QUEUES.delivery.memoryMB / 1024;
  const perRecipient = {
    dynamodbWRU: u.dynamodb.wcu / n,
    dynamodbRRU: u.dynamodb.rcu / n,
    dynamodbRequests: Object.values(u.dynamodb.requests).reduce((a, b) => a + b, 0) / n,
    // The workers' own sends, plus what Lambda's event source mapping bills on our queues: one
    // ReceiveMessage and one DeleteMessageBatch per batch it hands a worker.
    sqsBilledRequests: (u.sqs.billedRequests + 2 * lambda.invocations) / n,
    lambdaInvocations: lambda.invocations / n,
    lambdaGbSeconds: ((lambda.durationMs / 1000) * memoryGb) / n,
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
  const round = (o: Record<string, number>, d: number) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number(v.toFixed(d))]));
  return {
    perRecipient: round(perRecipient, 4),
    usdPerMillion: { ...round(usd, 4), total: Number(total.toFixed(4)) },
    requests: { dynamodb: u.dynamodb.requests, sqs: u.sqs.requests },
  };
}

const inboxMessage = (to: Record<string, unknown>) => ({
  to,
  content: { title: 'Release notes', body: 'Hi {{profile.name}}, version 2 is out.' },
  routing: { method: 'single', channels: ['inbox'] },
});

/** 1. A 3-level tree (root, 10 children, 10 grandchildren each) with MEMBERS members, include_children. */
async function fanoutCost(): Promise<SendRun> {
  const root = 'bench-root';
  await call('PUT', `/tenants/${root}`, { name: 'root' });
  const tenants = [root];
  for (let c = 0; c < 10; c++) {
    const child = `bench-c${c}`;
    await call('PUT', `/tenants/${child}`, { name: child, parent_tenant_id: root });
    tenants.push(child);
    for (let g = 0; g < 10; g++) {
      await call('PUT', `/tenants/${child}-g${g}`, { name: `${child}-g${g}`, parent_tenant_id: child });
      tenants.push(`${child}-g${g}`);
    }
  }
  const per = new Map(tenants.map((t, i) => [t, Math.floor(MEMBERS / tenants.length) + (i < MEMBERS % tenants.length ? 1 : 0)]));
  await seedTenants(per, 'tree');
  return measureSend(inboxMessage({ tenant_id: root, include_children: true }), MEMBERS);
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

const stackOptions = (dynamodbEndpoint: string, sqsEndpoint: string) => ({
  port: 0,
  apiKey: API_KEY,
  dynamodbEndpoint,
  sqsEndpoint,
  tableName: 'bench',
  queuePrefix: 'bench',
  concurrency: { fanout: 2, delivery: DELIVERY_CONCURRENCY },
  scheduleEveryMs: 0,
});

async function main() {
  const emulators: Emulator[] = await Promise.all([startDynamoDbLocal(), startFauxqs()]);
  const [dynamo, sqs] = emulators;
  process.env.POWERTOOLS_LOG_LEVEL ??= 'INFO';
  stack = await startLocalStack(stackOptions(dynamo.endpoint, sqs.endpoint));
  try {
    process.stderr.write(`bench: fan-out cost over a ${MEMBERS}-member tenant tree...\n`);
    const cost = await fanoutCost();
    process.stderr.write('bench: ceiling...\n');
    const ceilingRps = await ceiling(Math.min(MEMBERS, 10_000));
    process.stderr.write(`bench: scaling ${SIZES.join(', ')}...\n`);
    const scale = await scaling({ dynamodb: dynamo.endpoint, sqs: sqs.endpoint });
    process.stderr.write(`bench: ${SENDS} POST /send...\n`);
    const lat = await latency();
    const results = {
      measuredAt: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      prices: PRICES,
      usd_per_million_notifications: cost.cost.usdPerMillion.total,
      usd_per_million_by_service: cost.cost.usdPerMillion,
      per_recipient: cost.cost.perRecipient,
      requests: cost.cost.requests,
      recipients_per_second: cost.recipientsPerSecond,
      ceiling_recipients_per_second: ceilingRps,
      throughput_ratio: Number((cost.recipientsPerSecond / ceilingRps).toFixed(2)),
      send_p50_ms: lat.p50,
      send_p95_ms: lat.p95,
      send_p99_ms: lat.p99,
      fanout: { members: MEMBERS, seconds: cost.seconds, delivered: cost.delivered },
      scaling: scale.map((r) => ({
        recipients: r.recipients,
        seconds: r.seconds,
        recipients_per_second: r.recipientsPerSecond,
        usd_per_million: r.cost.usdPerMillion.total,
        wru: r.cost.perRecipient.dynamodbWRU,
        rru: r.cost.perRecipient.dynamodbRRU,
        peak_rss_mb: r.peakRssMB,
      })),
    };
    const dir = path.resolve(__dirname);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    const line = (k: string, v: unknown) => process.stdout.write(`${k.padEnd(34)} ${v}\n`);
    process.stdout.write(`\nbenchmark ${results.measuredAt} (${results.machine.cpus} CPUs, ${results.machine.memoryGB} GB, Node ${process.version})\n`);
    line('US$ per million notifications', results.usd_per_million_notifications);
    for (const [k, v] of Object.entries(results.usd_per_million_by_service)) if (k !== 'total') line(`  ${k}`, v);
    for (const [k, v] of Object.entries(results.per_recipient)) line(`per recipient: ${k}`, v);
    line('recipients / s (pipeline)', results.recipients_per_second);
    line('recipients / s (ceiling)', results.ceiling_recipients_per_second);
    line('ratio', results.throughput_ratio);
    line('POST /send p50 / p95 / p99 ms', `${lat.p50} / ${lat.p95} / ${lat.p99}`);
    for (const s of results.scaling)
      line(
        `scaling ${s.recipients}`,
        `${s.seconds}s, ${s.recipients_per_second}/s, $${s.usd_per_million}/M, ${s.wru} WRU, ${s.rru} RRU, peak RSS ${s.peak_rss_mb} MB`,
      );
    process.stdout.write(`\nwritten to bench/results.json\n`);
  } finally {
    await stack.stop();
    await Promise.all(emulators.map((e) => e.stop()));
  }
}

const child = process.argv.indexOf('--scale-child');
(child > 0 ? scaleChild(Number(process.argv[child + 1]), process.argv[child + 2], process.argv[child + 3]) : main()).catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
