/**
 * Dead-letter queues: `npm run dlq -- list | redrive [--queue fanout|delivery|webhooks] [--max N] [--stack <name>]`.
 *
 * Against the running `npm start` by default (it leaves its queues in .local/stack.json; the
 * LOCAL_STACK_FILE variable points elsewhere), or a deployed stack with `--stack <CloudFormation
 * stack name>` (e.g. Notifications-dev; its FanoutQueueUrl, FanoutDlqUrl, DeliveryQueueUrl and
 * DeliveryDlqUrl outputs) and the usual AWS credentials and AWS_REGION.
 * `list` shows each DLQ's approximate depth and its first messages (at most 10) without hiding
 * them. `redrive` moves messages back to their work queue, 10 at a time (send first, then delete
 * only what the work queue accepted), until the DLQ is empty or `--max` moved (per queue), and
 * prints how many moved. The workers are idempotent (SQS is at-least-once), so a job redriven
 * twice does no harm.
 */
import '../lambdas/local/env';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { LOCAL_STACK_FILE, type LocalStackFile } from '../lambdas/local/stack-file';
import type { QueueName } from '../lambdas/shared/topology';

type Queues = Partial<Record<QueueName, { url: string; dlqUrl: string }>>;

const usage = 'usage: npm run dlq -- list | redrive [--queue fanout|delivery|webhooks] [--max N] [--stack <CloudFormation stack name>]';
const NAMES: QueueName[] = ['fanout', 'delivery', 'webhooks'];

/** A failure to report in one line, without a stack trace. */
class Plain extends Error {}

/** The local stack's queues, from the file `npm start` leaves. */
function local(): { sqs: SQSClient; queues: Queues; where: string } {
  const file = path.resolve(process.env.LOCAL_STACK_FILE ?? LOCAL_STACK_FILE);
  if (!existsSync(file)) throw new Plain('no local stack is running (start one with `npm start`) and --stack is not given');
  let s: Partial<LocalStackFile>;
  try {
    s = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalStackFile>;
  } catch (e) {
    throw new Plain(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (!s.sqsEndpoint || !s.queues) throw new Plain(`${file} has no queues: it was written by an older \`npm start\`; restart it`);
  const sqs = new SQSClient({
    endpoint: s.sqsEndpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // fauxqs queue URLs name hosts like sqs.us-east-1.localhost: send to the endpoint instead.
    useQueueUrlAsEndpoint: false,
  });
  return { sqs, queues: s.queues, where: `the local stack (sqs ${s.sqsEndpoint})` };
}

/** A deployed stack's queues, from its CloudFormation outputs. */
async function deployed(stackName: string, names: QueueName[]): Promise<{ sqs: SQSClient; queues: Queues; where: string }> {
  const cfn = new CloudFormationClient({});
  let outputs: Record<string, string>;
  try {
    const { Stacks = [] } = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = Object.fromEntries((Stacks[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (e) {
    throw new Plain(`cannot read the outputs of stack ${stackName}: ${(e as Error).message}`);
  } finally {
    cfn.destroy();
  }
  const key = (q: QueueName, what: 'QueueUrl' | 'DlqUrl') => `${q[0].toUpperCase()}${q.slice(1)}${what}`;
  const missing = names.flatMap((q) => [key(q, 'QueueUrl'), key(q, 'DlqUrl')]).filter((k) => !outputs[k]);
  if (missing.length) throw new Plain(`stack ${stackName} has no output ${missing.join(', ')} (deploy the current lib/stack.ts)`);
  const queues = Object.fromEntries(names.map((q) => [q, { url: outputs[key(q, 'QueueUrl')], dlqUrl: outputs[key(q, 'DlqUrl')] }]));
  return { sqs: new SQSClient({}), queues, where: `stack ${stackName}` };
}

/** One line per message: id, receives, sent time and what the job is. */
function summary(m: Message): string {
  const a = m.Attributes ?? {};
  const sent = a.SentTimestamp ? new Date(Number(a.SentTimestamp)).toISOString() : '?';
  let what: string;
  try {
    const job = Object(JSON.parse(m.Body ?? '')) as { type?: unknown; requestId?: unknown };
    what =
      [job.type === undefined ? '' : `type ${job.type}`, job.requestId === undefined ? '' : `request ${job.requestId}`].filter(Boolean).join(', ') ||
      '(no type)';
  } catch {
    what = `not JSON: ${(m.Body ?? '').slice(0, 60)}`;
  }
  return `  ${m.MessageId}  received ${a.ApproximateReceiveCount ?? '?'}x  sent ${sent}  ${what}`;
}

async function list(sqs: SQSClient, name: QueueName, dlqUrl: string): Promise<void> {
  const { Attributes: attrs = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  // Visible or not, they are in the DLQ (fauxqs counts a message looked at with VisibilityTimeout 0 as not visible).
  const count = Number(attrs.ApproximateNumberOfMessages ?? 0) + Number(attrs.ApproximateNumberOfMessagesNotVisible ?? 0);
  console.log(`${name} DLQ: ${count} message${count === 1 ? '' : 's'}`);
  // VisibilityTimeout 0: looking leaves the messages visible for the next look or a redrive.
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }),
  );
  for (const m of Messages) console.log(summary(m));
}

/** Moves up to `max` messages from the DLQ back to the work queue; returns how many moved. */
async function redrive(sqs: SQSClient, q: { url: string; dlqUrl: string }, max: number): Promise<number> {
  let moved = 0;
  while (moved < max) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: q.dlqUrl,
        MaxNumberOfMessages: Math.min(10, max - moved),
        WaitTimeSeconds: 1,
        VisibilityTimeout: 60,
        MessageAttributeNames: ['All'],
      }),
    );
    if (!Messages.length) break;
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: q.url,
        Entries: Messages.map((m, i) => ({
          Id: String(i),
          MessageBody: m.Body ?? '',
          MessageAttributes: m.MessageAttributes
            ? Object.fromEntries(
                Object.entries(m.MessageAttributes).map(([k, v]) => [k, { DataType: v.DataType, StringValue: v.StringValue, BinaryValue: v.BinaryValue }]),
              )
            : undefined,
        })),
      }),
    );
    const accepted = Messages.filter((_, i) => sent.Successful?.some((s) => s.Id === String(i)));
    if (accepted.length) {
      const deleted = await sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: q.dlqUrl, Entries: accepted.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }),
      );
      moved += accepted.length;
      if (deleted.Failed?.length)
        throw new Plain(`moved ${moved}, but ${deleted.Failed.length} of them stay in the DLQ too (${deleted.Failed[0].Code}): a later redrive repeats them`);
    }
    if (sent.Failed?.length) {
      throw new Plain(
        `moved ${moved}, then the work queue refused ${sent.Failed.length} message(s): ${sent.Failed[0].Code} ${sent.Failed[0].Message ?? ''}`.trim(),
      );
    }
  }
  return moved;
}

/** What is wrong with the command line, if anything ('' for no command at all). */
function usageProblem(command: string | undefined, extra: string[], queue?: string, max?: string, stack?: string): string | undefined {
  if (command !== 'list' && command !== 'redrive') return command === undefined ? '' : `unknown command ${command}`;
  if (extra.length) return `unexpected ${extra.join(' ')}`;
  if (queue !== undefined && !NAMES.includes(queue as QueueName)) return '--queue is fanout or delivery';
  if (max !== undefined && (command !== 'redrive' || !/^[1-9][0-9]*$/.test(max))) return '--max takes a whole number of 1 or more, with redrive';
  if (stack === '') return '--stack takes a CloudFormation stack name';
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, allowPositionals: true, options: { queue: { type: 'string' }, max: { type: 'string' }, stack: { type: 'string' } } });
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    return 2;
  }
  const [command, ...extra] = args.positionals;
  const { queue, max, stack } = args.values;
  const problem = usageProblem(command, extra, queue, max, stack);
  if (problem !== undefined) {
    console.error(problem ? `${problem}\n${usage}` : usage);
    return 2;
  }
  const names = queue === undefined ? NAMES : [queue as QueueName];
  const { sqs, queues, where } = stack === undefined ? local() : await deployed(stack, names);
  console.log(`dead-letter queues of ${where}`);
  try {
    for (const name of names) {
      const q = queues[name];
      if (!q) throw new Plain(`no ${name} queue in ${where}`);
      if (command === 'list') await list(sqs, name, q.dlqUrl);
      else console.log(`moved ${await redrive(sqs, q, max === undefined ? Infinity : Number(max))} from the ${name} DLQ to its queue`);
    }
  } finally {
    sqs.destroy();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    const refused = !(e instanceof Plain) && ((e as { code?: string }).code === 'ECONNREFUSED' || /ECONNREFUSED/.test(e.message));
    console.error(refused ? `cannot reach SQS (${e.message || 'connection refused'}): is the stack still running?` : e.message);
    process.exit(1);
  },
);
