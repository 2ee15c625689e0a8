import { randomUUID } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import Courier from '@trycourier/courier';
import { LOCAL_ACCOUNT, startLocalStack, type LocalStack, type LocalStackOptions } from '../../lambdas/local/stack';
import { bindLocal, type StackDescription } from '../../lambdas/local/template';
import { deniedCalls, functionRoles, resourcePolicies } from './iam';

export interface TestStack extends LocalStack {
  apiKey: string;
  client: Courier;
  http(method: string, path: string, body?: unknown, opts?: { key?: string | null; headers?: Record<string, string> }): Promise<HttpResult>;
  /** Every DynamoDB/SQS command the stack's functions sent so far (lambdas/shared/usage.ts). */
  commands(): readonly string[];
  /**
   * Resolves once the workers have nothing left to do: no poller has a batch in flight and every
   * work queue is empty (no visible, in-flight or delayed message), seen twice in a row with no
   * invocation in between. Assert that something did NOT happen after this, not after a sleep.
   * Rejects after `timeoutMs` (a delayed or failing job keeps a stack busy) saying what is left.
   */
  quiesce(timeoutMs?: number): Promise<void>;
}

export interface HttpResult {
  status: number;
  json: any;
  text: string;
  headers: Headers;
}

/**
 * A whole local stack for one test file, on the run's shared emulators but with its own table and
 * queues, serving HTTP on a free port. Stop it in afterAll: stopping also checks every AWS call its
 * functions made against their roles in the synthesized template, and fails on any IAM would deny.
 */
export async function startTestStack(opts: Partial<LocalStackOptions> & { iamDescription?: StackDescription } = {}): Promise<TestStack> {
  const dynamodbEndpoint = process.env.TEST_DYNAMODB_ENDPOINT;
  const sqsEndpoint = process.env.TEST_SQS_ENDPOINT;
  if (!dynamodbEndpoint || !sqsEndpoint) throw new Error('integration tests need the emulators of test/helpers/global-setup.ts');
  const id = randomUUID().slice(0, 8);
  const apiKey = `test-key-${randomUUID()}`;
  const tableName = opts.tableName ?? `t-${id}`;
  const stack = await startLocalStack({
    port: 0,
    apiKey,
    dynamodbEndpoint,
    sqsEndpoint,
    tableName,
    queuePrefix: `q-${id}`,
    recordAwsCalls: true,
    ...opts,
  });
  const client = new Courier({ apiKey, baseURL: stack.url, maxRetries: 0 });
  return {
    ...stack,
    apiKey,
    client,
    async stop() {
      await stack.stop();
      if (process.env.TEST_AWS_CALLS_LOG)
        appendFileSync(
          process.env.TEST_AWS_CALLS_LOG,
          stack
            .awsCalls()
            .map((c) => JSON.stringify(c) + '\n')
            .join(''),
        );
      const denied = await checkIam(stack, tableName, opts.iamDescription ?? opts.bundles?.description);
      if (denied.length) throw new Error(`IAM would deny ${denied.length} call(s) the functions made:\n${denied.join('\n')}`);
    },
    quiesce: (timeoutMs) => quiesce(stack, timeoutMs),
    commands: () => (require('../../lambdas/shared/usage') as typeof import('../../lambdas/shared/usage')).commandLog(),
    async http(method, path, body, { key = apiKey, headers = {} } = {}) {
      const res = await fetch(stack.url + path, {
        method,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text, headers: res.headers };
    },
  };
}

const DEPTH = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;

/** What is still going on in `stack`: batches in flight, messages per work queue, invocations so far. */
async function activity(stack: LocalStack): Promise<{ busy: boolean; queued: Record<string, number[]>; invocations: number }> {
  const busy = !stack.pollersIdle();
  const queued = Object.fromEntries(
    await Promise.all(
      Object.entries(stack.queues).map(async ([name, q]) => {
        const { Attributes: a = {} } = await stack.sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.url, AttributeNames: [...DEPTH] }));
        return [name, DEPTH.map((d) => Number(a[d] ?? 0))] as const;
      }),
    ),
  );
  const invocations = Object.values(stack.workerStats()).reduce((n, w) => n + w.invocations, 0);
  return { busy: busy || !stack.pollersIdle(), queued, invocations };
}

async function quiesce(stack: LocalStack, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  const quiet = (a: Awaited<ReturnType<typeof activity>>) => !a.busy && Object.values(a.queued).every((counts) => counts.every((n) => n === 0));
  let last = await activity(stack);
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const next = await activity(stack);
    // Quiet at both reads and no invocation started between them: nothing was in flight in between.
    if (quiet(last) && quiet(next) && next.invocations === last.invocations) return;
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        `the stack is not quiet after ${timeoutMs} ms: a batch in flight: ${next.busy}; [visible, in flight, delayed] per queue: ${JSON.stringify(next.queued)}`,
      );
    last = next;
  }
}

/** The stack synthesized once per run by test/helpers/global-setup.ts. */
export function globalDescription(): StackDescription {
  const file = process.env.TEST_STACK_DESCRIPTION;
  if (!file) throw new Error('the IAM check needs the stack description of test/helpers/global-setup.ts');
  return JSON.parse(readFileSync(file, 'utf8')) as StackDescription;
}

/** The recorded AWS calls of `stack` that the synthesized roles would not allow. */
export async function checkIam(stack: LocalStack, tableName: string, description = globalDescription()): Promise<string[]> {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const bindings = bindLocal(description, { region, account: LOCAL_ACCOUNT, tableName, queues: stack.queues });
  return deniedCalls(stack.awsCalls(), functionRoles(description, bindings), resourcePolicies(description, bindings), LOCAL_ACCOUNT);
}
