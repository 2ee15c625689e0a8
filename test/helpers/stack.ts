import { randomUUID } from 'node:crypto';
import Courier from '@trycourier/courier';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../lambdas/local/stack';

export interface TestStack extends LocalStack {
  apiKey: string;
  client: Courier;
  http(method: string, path: string, body?: unknown, opts?: { key?: string | null; headers?: Record<string, string> }): Promise<HttpResult>;
  /** Every DynamoDB/SQS command the stack's functions sent so far (lambdas/shared/usage.ts). */
  commands(): readonly string[];
}

export interface HttpResult {
  status: number;
  json: any;
  text: string;
  headers: Headers;
}

/**
 * A whole local stack for one test file, on the run's shared emulators but with its own table and
 * queues, serving HTTP on a free port. Stop it in afterAll.
 */
export async function startTestStack(opts: Partial<LocalStackOptions> = {}): Promise<TestStack> {
  const dynamodbEndpoint = process.env.TEST_DYNAMODB_ENDPOINT;
  const sqsEndpoint = process.env.TEST_SQS_ENDPOINT;
  if (!dynamodbEndpoint || !sqsEndpoint) throw new Error('integration tests need the emulators of test/helpers/global-setup.ts');
  const id = randomUUID().slice(0, 8);
  const apiKey = `test-key-${randomUUID()}`;
  const stack = await startLocalStack({
    port: 0,
    apiKey,
    dynamodbEndpoint,
    sqsEndpoint,
    tableName: `t-${id}`,
    queuePrefix: `q-${id}`,
    ...opts,
  });
  const client = new Courier({ apiKey, baseURL: stack.url, maxRetries: 0 });
  return {
    ...stack,
    apiKey,
    client,
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
