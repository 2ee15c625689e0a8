import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { LocalStackFile } from '../../lambdas/local/stack-file';
import type { QueueName } from '../../lambdas/shared/topology';
import type { Msg } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

/**
 * `npm run dlq` (scripts/dlq.ts) as an operator runs it after an outage. Stack A has no workers: its
 * sends' jobs are taken off the work queues and put into the dead-letter queues, as SQS does after
 * maxReceiveCount failed receives. Stack B, on the same table and queues, has its workers running:
 * only what the script redrives gets delivered.
 */
const root = path.resolve(__dirname, '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'dlq-test-'));
const stackFile = path.join(dir, 'stack.json');
const id = randomUUID().slice(0, 8);
// No sweeper runs: it would re-drive the unfinished messages itself, and the redrive would prove nothing.
// Single sends go through the delivery queue (SEND_INLINE_MS 0): delivered inline (D14), they would
// never be in a queue to dead-letter.
const shared = { tableName: `t-dlq-${id}`, queuePrefix: `q-dlq-${id}`, scheduleEveryMs: 0, env: { SEND_INLINE_MS: '0' } };
const ATTRIBUTE = { origin: { DataType: 'String', StringValue: `dlq-test-${id}` } };
// More than 10: list shows only 10, and a redrive of the rest takes two receives.
const users = Array.from({ length: 13 }, (_, i) => `dlq-${id}-u${i}`);
const groupUsers = [`dlq-${id}-g0`, `dlq-${id}-g1`];
const trace = `dlq-${id}`;

let s: TestStack;
afterAll(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function dlq(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['scripts/dlq.ts', ...args], {
      cwd: root,
      env: { ...process.env, LOCAL_STACK_FILE: stackFile, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Messages in a queue, visible or not. */
const depth = async (url: string) => {
  const { Attributes: a = {} } = await s.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible);
};

/** What a receive gets now, leaving it visible (fauxqs counts such messages "not visible" until its next receive). */
const peek = async (url: string) =>
  (await s.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }))).Messages ?? [];

/** Takes `count` messages off a work queue that no worker reads. */
async function take(url: string, count: number): Promise<Message[]> {
  const got: Message[] = [];
  await eventually(
    async () => {
      const { Messages = [] } = await s.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
      );
      for (const m of Messages) await s.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
      got.push(...Messages);
      return got.length;
    },
    (n) => n >= count,
  );
  expect(got).toHaveLength(count);
  return got;
}

async function statuses(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let cursor: string | undefined;
  do {
    const page = await s.client.messages.list({ traceId: trace, cursor });
    for (const m of (page.results ?? []) as unknown as Msg[]) out[m.recipient] = m.status;
    cursor = page.paging?.more ? (page.paging.cursor ?? undefined) : undefined;
  } while (cursor);
  return out;
}

const userOf = (body: string | undefined) => (JSON.parse(body ?? '{}') as { recipients: { userId: string }[] }).recipients[0].userId;

it('lists dead-lettered jobs without hiding them, redrives exactly --max, then the rest, and the workers deliver what moved', async () => {
  // Stack A: the outage. Nothing consumes the work queues.
  s = await startTestStack({ ...shared, concurrency: { fanout: 0, delivery: 0 } });
  const q = s.queues;
  const file: LocalStackFile = {
    url: s.url,
    wsUrl: s.wsUrl,
    dynamodbEndpoint: process.env.TEST_DYNAMODB_ENDPOINT!,
    tableName: shared.tableName,
    sqsEndpoint: process.env.TEST_SQS_ENDPOINT!,
    queues: {
      fanout: { url: q.fanout.url, dlqUrl: q.fanout.dlqUrl },
      delivery: { url: q.delivery.url, dlqUrl: q.delivery.dlqUrl },
      webhooks: { url: q.webhooks.url, dlqUrl: q.webhooks.dlqUrl },
    },
  };
  writeFileSync(stackFile, JSON.stringify(file));
  const content = { title: 'Back from the DLQ', body: 'redriven' };
  const routing = { method: 'single', channels: ['inbox'] };
  const requestIds: Record<string, string> = {};
  for (const user of users) {
    const res = await s.http('POST', '/send', { message: { to: { user_id: user }, content, routing, metadata: { trace_id: trace } } });
    expect(res.status).toBe(202);
    requestIds[user] = res.json.requestId;
  }
  const group = await s.http('POST', '/send', { message: { to: groupUsers.map((user_id) => ({ user_id })), content, routing, metadata: { trace_id: trace } } });
  expect(group.status).toBe(202);

  // What SQS would have dead-lettered: the single sends' delivery jobs and the group send's fan-out job.
  const dead: Pick<Record<QueueName, Message[]>, 'delivery' | 'fanout'> = {
    delivery: await take(q.delivery.url, users.length),
    fanout: await take(q.fanout.url, 1),
  };
  for (const name of ['delivery', 'fanout'] as const) {
    for (const m of dead[name]) await s.sqs.send(new SendMessageCommand({ QueueUrl: q[name].dlqUrl, MessageBody: m.Body, MessageAttributes: ATTRIBUTE }));
  }
  expect(await Promise.all([depth(q.delivery.dlqUrl), depth(q.fanout.dlqUrl), depth(q.delivery.url), depth(q.fanout.url)])).toEqual([13, 1, 0, 0]);
  expect(Object.values(await statuses())).toEqual(Array(13).fill('ENQUEUED'));

  const listed = await dlq(['list']);
  expect([listed.code, listed.stderr]).toEqual([0, '']);
  expect(listed.stdout).toMatch(/^fanout DLQ: 1 message$/m);
  expect(listed.stdout).toMatch(/^delivery DLQ: 13 messages$/m);
  expect(listed.stdout).toContain(`type send, request ${group.json.requestId}`);
  const lines = listed.stdout.split('\n').filter((l) => / received \d+x {2}sent \d{4}-\d\d-\d\dT.* type deliver, request /.test(l));
  expect(lines).toHaveLength(10);
  for (const l of lines) expect(Object.values(requestIds)).toContain(/request (\S+)$/.exec(l)![1]);
  // Listing left every message visible.
  expect(await Promise.all([depth(q.delivery.dlqUrl), depth(q.fanout.dlqUrl)])).toEqual([13, 1]);
  expect([(await peek(q.delivery.dlqUrl)).length, (await peek(q.fanout.dlqUrl)).length]).toEqual([10, 1]);
  expect((await dlq(['list', '--queue', 'fanout'])).stdout).not.toContain('delivery DLQ');

  const some = await dlq(['redrive', '--queue', 'delivery', '--max', '2']);
  expect([some.code, some.stderr]).toEqual([0, '']);
  expect(some.stdout).toContain('moved 2 from the delivery DLQ to its queue');
  expect(some.stdout).not.toContain('fanout');
  expect(await Promise.all([depth(q.delivery.dlqUrl), depth(q.fanout.dlqUrl), depth(q.delivery.url)])).toEqual([11, 1, 2]);
  // Same bodies, same message attributes, on the work queue.
  const { Messages: moved = [] } = await s.sqs.send(
    new ReceiveMessageCommand({ QueueUrl: q.delivery.url, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageAttributeNames: ['All'] }),
  );
  expect(moved).toHaveLength(2);
  for (const m of moved) {
    expect(dead.delivery.map((d) => d.Body)).toContain(m.Body);
    expect(m.MessageAttributes).toEqual({ origin: expect.objectContaining(ATTRIBUTE.origin) });
  }
  const first = moved.map((m) => userOf(m.Body)).sort();
  await s.stop();

  // Stack B: the workers are back. Only the two redriven jobs are on a work queue.
  s = await startTestStack({ ...shared });
  const delivered = (all: Record<string, string>) =>
    Object.keys(all)
      .filter((u) => all[u] === 'DELIVERED')
      .sort();
  await eventually(statuses, (all) => delivered(all).length >= 2);
  await s.quiesce();
  const afterFirst = await statuses();
  expect(delivered(afterFirst)).toEqual(first);
  expect(Object.keys(afterFirst)).toHaveLength(13);

  const rest = await dlq(['redrive']);
  expect([rest.code, rest.stderr]).toEqual([0, '']);
  expect(rest.stdout).toContain('moved 1 from the fanout DLQ to its queue');
  expect(rest.stdout).toContain('moved 11 from the delivery DLQ to its queue');
  expect(await Promise.all([depth(q.delivery.dlqUrl), depth(q.fanout.dlqUrl)])).toEqual([0, 0]);
  const all = await eventually(statuses, (x) => delivered(x).length === 15, 30_000);
  expect(Object.keys(all).sort()).toEqual([...users, ...groupUsers].sort());

  const empty = await dlq(['list']);
  expect([empty.code, empty.stdout]).toEqual([0, expect.stringContaining('fanout DLQ: 0 messages')]);
  expect(empty.stdout).toContain('delivery DLQ: 0 messages');
  expect((await dlq(['redrive'])).stdout).toContain('moved 0 from the delivery DLQ');
}, 180_000);

it('refuses bad usage with exit 2, and reports a missing stack or unreachable AWS in one line with exit 1', async () => {
  for (const args of [[], ['purge'], ['list', '--max', '3'], ['redrive', '--max', '0'], ['redrive', '--queue', 'email'], ['list', '--nope']]) {
    const out = await dlq(args);
    expect([args, out.code, out.stderr]).toEqual([args, 2, expect.stringContaining('usage: npm run dlq')]);
  }
  const none = await dlq(['list'], { LOCAL_STACK_FILE: path.join(dir, 'absent.json') });
  expect([none.code, none.stderr.trim()]).toEqual([1, 'no local stack is running (start one with `npm start`) and --stack is not given']);

  const aws = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' };
  const offline = await dlq(['list', '--stack', 'Notifications-dev'], { ...aws, AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:1' });
  expect(offline.code).toBe(1);
  expect(offline.stderr.trim()).toMatch(/^cannot read the outputs of stack Notifications-dev: .*ECONNREFUSED/);
  expect(offline.stderr.trim().split('\n')).toHaveLength(1);

  // A CloudFormation that knows one stack, deployed before the delivery queue outputs existed.
  const outputs = { FanoutQueueUrl: 'http://127.0.0.1:1/000000000000/fanout', FanoutDlqUrl: 'http://127.0.0.1:1/000000000000/fanout-dlq' };
  const cfn = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const name = new URLSearchParams(body).get('StackName');
      const ns = 'xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"';
      res.setHeader('content-type', 'text/xml');
      if (name !== 'Old') {
        res.statusCode = 400;
        res.end(
          `<ErrorResponse ${ns}><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${name} does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`,
        );
        return;
      }
      const members = Object.entries(outputs)
        .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
        .join('');
      res.end(
        `<DescribeStacksResponse ${ns}><DescribeStacksResult><Stacks><member><StackName>Old</StackName><StackStatus>UPDATE_COMPLETE</StackStatus>` +
          `<CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult>` +
          `<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
    });
  });
  await new Promise<void>((r) => cfn.listen(0, '127.0.0.1', r));
  try {
    const env = { ...aws, AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${(cfn.address() as AddressInfo).port}` };
    const old = await dlq(['list', '--stack', 'Old'], env);
    expect([old.code, old.stderr.trim()]).toEqual([
      1,
      'stack Old has no output DeliveryQueueUrl, DeliveryDlqUrl, WebhooksQueueUrl, WebhooksDlqUrl (deploy the current lib/stack.ts)',
    ]);
    const unknown = await dlq(['redrive', '--stack', 'Nope'], env);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([1, 'cannot read the outputs of stack Nope: Stack with id Nope does not exist']);
    // The fan-out outputs are enough for the fan-out queue, and are the URLs the script calls (the
    // SDK warns first that they are not SQS's regional endpoint, as real queue URLs are).
    const fanout = await dlq(['list', '--stack', 'Old', '--queue', 'fanout'], env);
    expect([fanout.code, fanout.stderr.trim().split('\n').pop()]).toEqual([
      1,
      expect.stringMatching(/^cannot reach SQS \(.*127\.0\.0\.1:1.*\): is the stack still running\?$/),
    ]);
  } finally {
    cfn.close();
  }
}, 120_000);
