import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ScheduledEvent } from 'aws-lambda';
import { API_GROUPS, functionIds, QUEUES, queueUrlEnv, routeKeys, SCHEDULED, type QueueName } from '../shared/topology';
import { asFunction, recordCalls, type IamRequest } from './aws-calls';
import type { SqsHandler } from '../shared/worker';
import { startCapture, type Capture } from './capture';
import { startHttpAdapter, type ApiKind, type LambdaHttpHandler, type Route } from './http-adapter';
import { lambdaContext, startPoller, type WorkerStats } from './poller';
import { ensureQueues, ensureTable, type QueueUrls } from './resources';

export interface LocalStackOptions {
  /** 0 picks a free port. */
  port: number;
  apiKey: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  tableName: string;
  queuePrefix: string;
  /** Concurrent batches per queue (Lambda's scale-out), default 4, at most the queue's maxConcurrency. */
  concurrency?: Partial<Record<QueueName, number>>;
  /** Tests shorten a queue's visibility timeout to watch redelivery. */
  visibilityTimeoutSeconds?: Partial<Record<QueueName, number>>;
  /** Extra environment for the functions. */
  env?: Record<string, string>;
  onWorkerError?: (queue: QueueName, error: unknown) => void;
  /** How often the scheduled workers (the sweeper) run; 0 runs them only through `runScheduled()`. */
  scheduleEveryMs?: number;
  /** Fault injection for tests: every SQS batch delivered twice, concurrently. */
  duplicateDeliveries?: boolean;
  /** The API Gateway to stand in for: an HTTP API (default, payload 2.0) or a REST API (payload 1.0, under /prod). */
  api?: ApiKind;
  /** Record every AWS call each function makes (its IAM action and resource), for the IAM check. */
  recordAwsCalls?: boolean;
}

export interface LocalStack {
  url: string;
  queues: Record<QueueName, QueueUrls>;
  sqs: SQSClient;
  /** What the local provider targets (SMTP and HTTP capture) received, oldest first. */
  captures(): Capture[];
  /** Invocations, records and time of each worker so far (the Lambda side of a send's cost). */
  workerStats(): Record<QueueName, WorkerStats>;
  /** Runs every scheduled worker once now, as its EventBridge rule would. */
  runScheduled(): Promise<void>;
  /** With `recordAwsCalls`: each distinct (function, IAM action, resource) the functions used so far. */
  awsCalls(): IamRequest[];
  stop(): Promise<void>;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** The account id the emulators use in ARNs. */
export const LOCAL_ACCOUNT = '000000000000';

/**
 * The routes the local API serves, each to its group's handler running as that group's function
 * (`load` gives a group module's handler). The CDK tests compare them with the synthesized API.
 */
export function apiRoutes(load: (module: string) => LambdaHttpHandler): Route[] {
  return API_GROUPS.flatMap((group) => {
    const name = functionIds.api(group.module);
    const handler = asFunction(name, load(group.module));
    return routeKeys(group).map((routeKey) => ({ routeKey, handler, functionName: name, timeoutSeconds: 29 }));
  });
}

/**
 * Creates the table and queues, sets each function's environment as the CDK app does, then serves
 * the API handlers over HTTP and drives the worker handlers from their queues. Handler modules are
 * loaded only after the environment is set, as Lambda loads them after configuring a function.
 */
export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const ddbAdmin = new DynamoDBClient({ endpoint: o.dynamodbEndpoint, region, credentials: LOCAL_CREDENTIALS });
  const sqs = new SQSClient({ endpoint: o.sqsEndpoint, region, credentials: LOCAL_CREDENTIALS, useQueueUrlAsEndpoint: false });
  await ensureTable(ddbAdmin, o.tableName);
  ddbAdmin.destroy();
  const queues = await ensureQueues(sqs, o.queuePrefix, { visibilityTimeoutSeconds: o.visibilityTimeoutSeconds });
  // The local provider targets (SPEC section 10), started first: the functions read their URLs
  // from the environment when they load.
  const capture = await startCapture();

  Object.assign(process.env, {
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? LOCAL_CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    TABLE_NAME: o.tableName,
    DYNAMODB_ENDPOINT: o.dynamodbEndpoint,
    SQS_ENDPOINT: o.sqsEndpoint,
    ...Object.fromEntries((Object.keys(queues) as QueueName[]).map((q) => [queueUrlEnv(q), queues[q].url])),
    LOCAL_SMTP_URL: capture.smtpUrl,
    LOCAL_CAPTURE_URL: capture.captureUrl,
    ...o.env,
  });

  // Loaded now, not at the top: these modules read the environment set just above.
  const { storeKeyHash } = require('../store/api-keys') as typeof import('../store/api-keys');
  const { hashApiKey } = require('../shared/middleware') as typeof import('../shared/middleware');
  await storeKeyHash(hashApiKey(o.apiKey), { name: 'local (API_KEY)', createdAt: new Date().toISOString(), hint: o.apiKey.slice(0, 4) });

  const recorder = o.recordAwsCalls ? recordCalls({ account: LOCAL_ACCOUNT }) : undefined;
  const routes = apiRoutes((module) => (require(`../http/${module}`) as { handler: LambdaHttpHandler }).handler);
  // Captures are also readable on the API port, under /_local/ (no API key: local mode only).
  const http = await startHttpAdapter({ port: o.port, routes, api: o.api, extra: capture.handleHttp });

  const pollers: (ReturnType<typeof startPoller> & { queue: QueueName })[] = [];
  for (const [name, spec] of Object.entries(QUEUES) as [QueueName, (typeof QUEUES)[QueueName]][]) {
    const mod = require(`../workers/${spec.worker}`) as { handler: SqsHandler };
    const fn = functionIds.worker(spec.worker);
    pollers.push({
      queue: name,
      ...startPoller({
        client: sqs,
        queueUrl: queues[name].url,
        queueArn: queues[name].arn,
        handler: asFunction(fn, mod.handler),
        functionName: fn,
        batchSize: spec.batchSize,
        timeoutSeconds: spec.timeoutSeconds,
        // Never more than the deployed event source's maxConcurrency, so tests see the same limit.
        concurrency: Math.min(o.concurrency?.[name] ?? 4, spec.maxConcurrency),
        onError: (e) => o.onWorkerError?.(name, e),
        duplicateDeliveries: o.duplicateDeliveries,
      }),
    });
  }

  const scheduled = SCHEDULED.map((w) => ({
    spec: w,
    handler: asFunction(functionIds.scheduled(w.worker), (require(`../workers/${w.worker}`) as { handler: (e: ScheduledEvent, c: unknown) => Promise<unknown> }).handler),
  }));
  const runScheduled = async () => {
    for (const { spec, handler } of scheduled) {
      const event = { version: '0', id: crypto.randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', account: '000000000000', time: new Date().toISOString(), region, resources: [], detail: {} } as ScheduledEvent;
      await handler(event, lambdaContext(functionIds.scheduled(spec.worker), spec.timeoutSeconds)).catch((e) => o.onWorkerError?.('fanout', e));
    }
  };
  const every = o.scheduleEveryMs ?? 60_000;
  const timer = every > 0 ? setInterval(() => void runScheduled(), every) : undefined;

  return {
    url: http.url,
    runScheduled,
    queues,
    sqs,
    captures: capture.captures,
    awsCalls: () => recorder?.requests() ?? [],
    workerStats: () => Object.fromEntries(pollers.map((p) => [p.queue, p.stats()])) as Record<QueueName, WorkerStats>,
    async stop() {
      clearInterval(timer);
      recorder?.stop();
      await http.close();
      await Promise.all(pollers.map((p) => p.stop()));
      await capture.stop();
      sqs.destroy();
    },
  };
}
