import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { API_GROUPS, functionIds, QUEUES, queueUrlEnv, routeKeys, SCHEDULED, SOCKET, type QueueName } from '../shared/topology';
import { countUsage } from '../shared/usage';
import type { SqsHandler } from '../shared/worker';
import { asFunction, recordCalls, type IamRequest } from './aws-calls';
import { startBundledFunctions } from './bundles';
import { startCapture, type Capture, type CaptureServer } from './capture';
import { startAwsGateway } from './gateway';
import { startHttpAdapter, type ApiKind, type LambdaHttpHandler, type Route } from './http-adapter';
import { lambdaContext, startPoller, type WorkerStats } from './poller';
import { ensureQueues, ensureTable, type QueueUrls } from './resources';
import { startSocketServer, type SocketHandler } from './socket-server';
import { eventSources, functionConfig, httpRoutes, LOCAL_SOCKET_API_ID, schedules, socketRoutes, type StackDescription } from './template';
import { wallNow } from '../shared/clock';
import { parseCorsOrigins } from '../shared/cors';

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
  /** Extra environment for the functions (over the local defaults, such as ALLOW_PRIVATE_EGRESS=true). */
  env?: Record<string, string>;
  onWorkerError?: (queue: QueueName, error: unknown) => void;
  /** How often the scheduled workers (the sweeper) run; 0 runs them only through `runScheduled()`. */
  scheduleEveryMs?: number;
  /** Fault injection for tests: every SQS batch delivered twice, concurrently. */
  duplicateDeliveries?: boolean;
  /** The API Gateway to stand in for: an HTTP API (default, payload 2.0) or a REST API (payload 1.0, under /prod). */
  api?: ApiKind;
  /**
   * Run the shipped bundles of a synthesized cloud assembly instead of the handler sources, each in
   * its own process with the template's environment, wired by the template (routes, event sources,
   * schedules). Only the HTTP API kind.
   */
  bundles?: { assemblyDir: string; description: StackDescription };
  /** Record every AWS call each function makes (its IAM action and resource), for the IAM check. */
  recordAwsCalls?: boolean;
  /** The realtime inbox socket's port (0, the default, picks a free one) and, for tests, shorter idle and maximum connection times. */
  socket?: { port?: number; idleMs?: number; maxMs?: number };
}

export interface LocalStack {
  url: string;
  /** The realtime inbox socket (`apiUrls.inbox.webSocket`): `ws://127.0.0.1:<port>/<stage>`. */
  wsUrl: string;
  queues: Record<QueueName, QueueUrls>;
  sqs: SQSClient;
  /** What the local provider targets (SMTP and HTTP capture) received, oldest first. */
  captures(): Capture[];
  /** Invocations, records and time of each worker so far (the Lambda side of a send's cost). */
  workerStats(): Record<QueueName, WorkerStats>;
  /** True when no poller has a batch in flight (tests read it, with the queues' depths, to wait for quiet). */
  pollersIdle(): boolean;
  /** Runs every scheduled worker once now, as its EventBridge rule would. */
  runScheduled(): Promise<void>;
  /** With `recordAwsCalls` (always with `bundles`): each distinct (function, IAM action, resource) the functions used so far. */
  awsCalls(): IamRequest[];
  /** With `bundles`: what a function printed (its logs), most recent last. */
  functionLogs(fn: string): string[];
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

type ScheduledHandler = (event: ScheduledEvent, context: Context) => Promise<unknown>;

/** Which functions serve the API, the queues and the schedules, and how to reach them. */
interface Wiring {
  routes: Route[];
  workers: { queue: QueueName; fn: string; handler: SqsHandler; batchSize: number; timeoutSeconds: number; maxConcurrency: number }[];
  scheduled: { fn: string; handler: ScheduledHandler; timeoutSeconds: number }[];
  /** The function behind the socket's routes (one function serves all three), and the route whose answer goes back to the client. */
  socket: { fn: string; handler: SocketHandler; timeoutSeconds: number; answering: string };
  awsCalls(): IamRequest[];
  logs(fn: string): string[];
  stop(): Promise<void>;
}

/** The handler modules in this process, wired as lambdas/shared/topology.ts says (and lib/ deploys). */
function inProcessWiring(o: LocalStackOptions): Wiring {
  const recorder = o.recordAwsCalls ? recordCalls({ account: LOCAL_ACCOUNT, socketApi: { apiId: LOCAL_SOCKET_API_ID, stage: SOCKET.stage } }) : undefined;
  const socketFn = functionIds.socket(SOCKET.name);
  return {
    routes: apiRoutes((module) => (require(`../http/${module}`) as { handler: LambdaHttpHandler }).handler),
    workers: (Object.entries(QUEUES) as [QueueName, (typeof QUEUES)[QueueName]][]).map(([queue, spec]) => {
      const fn = functionIds.worker(spec.worker);
      const handler = asFunction(fn, (require(`../workers/${spec.worker}`) as { handler: SqsHandler }).handler);
      return { queue, fn, handler, batchSize: spec.batchSize, timeoutSeconds: spec.timeoutSeconds, maxConcurrency: spec.maxConcurrency };
    }),
    scheduled: SCHEDULED.map((w) => {
      const fn = functionIds.scheduled(w.worker);
      return { fn, handler: asFunction(fn, (require(`../workers/${w.worker}`) as { handler: ScheduledHandler }).handler), timeoutSeconds: w.timeoutSeconds };
    }),
    socket: {
      fn: socketFn,
      handler: asFunction(socketFn, (require(`../http/${SOCKET.module}`) as { handler: SocketHandler }).handler),
      timeoutSeconds: SOCKET.timeoutSeconds,
      answering: SOCKET.answering,
    },
    awsCalls: () => recorder?.requests() ?? [],
    logs: () => [],
    stop: async () => recorder?.stop(),
  };
}

/**
 * The shipped bundles of a synthesized cloud assembly, each in its own process with the template's
 * environment (lambdas/local/bundles.ts), wired as the template wires them: its API routes, its SQS
 * event sources (batch size, maximum concurrency) and its schedules. Their AWS calls go through
 * the recording gateway, which tells the functions apart by the credentials each runs with.
 */
async function bundleWiring(
  o: LocalStackOptions,
  b: { assemblyDir: string; description: StackDescription },
  region: string,
  queues: Record<QueueName, QueueUrls>,
  apiUrl: string,
  socketOrigin: string,
): Promise<Wiring> {
  const d = b.description;
  const gateway = await startAwsGateway({
    dynamodbEndpoint: o.dynamodbEndpoint,
    sqsEndpoint: o.sqsEndpoint,
    account: LOCAL_ACCOUNT,
    queueUrls: Object.values(queues).flatMap((q) => [q.url, q.dlqUrl]),
    socket: { origin: socketOrigin, apiId: LOCAL_SOCKET_API_ID, stage: SOCKET.stage },
  });
  const functions = await startBundledFunctions({
    assemblyDir: b.assemblyDir,
    description: d,
    region,
    account: LOCAL_ACCOUNT,
    tableName: o.tableName,
    queues,
    gateway,
    apiUrl,
    socketManagementUrl: `${gateway.url}/${SOCKET.stage}`,
    workDir: path.resolve(__dirname, '../../.local/bundles', `${o.tableName}`),
  }).catch(async (e) => {
    await gateway.close();
    throw e;
  });
  const invoker =
    <E, R>(fn: string) =>
    (event: E) =>
      functions[fn].invoke(event) as Promise<R>;
  return {
    routes: httpRoutes(d).map((r) => ({
      routeKey: r.routeKey,
      handler: invoker(r.fn),
      functionName: r.fn,
      timeoutSeconds: functionConfig(d, r.fn).timeoutSeconds,
    })),
    workers: eventSources(d).map((e) => ({
      queue: e.queue,
      fn: e.fn,
      handler: invoker(e.fn),
      batchSize: e.batchSize,
      timeoutSeconds: functionConfig(d, e.fn).timeoutSeconds,
      maxConcurrency: e.maxConcurrency,
    })),
    scheduled: schedules(d).map((s) => ({ fn: s.fn, handler: invoker(s.fn), timeoutSeconds: functionConfig(d, s.fn).timeoutSeconds })),
    socket: bundledSocket(d, invoker),
    awsCalls: () => [...gateway.requests(), ...gateway.problems().map((p) => ({ fn: 'unattributed', action: p, resource: '' }))],
    logs: (fn) => functions[fn]?.logs() ?? [],
    async stop() {
      await Promise.all(Object.values(functions).map((f) => f.stop()));
      await gateway.close();
    },
  };
}

/** The template's WebSocket API: its one function and the route that answers, checked against what the local socket server serves. */
function bundledSocket(d: StackDescription, invoker: <E, R>(fn: string) => (event: E) => Promise<R>): Wiring['socket'] {
  const routes = socketRoutes(d);
  const fns = [...new Set(routes.map((r) => r.fn))];
  const keys = routes.map((r) => r.routeKey).sort();
  if (fns.length !== 1 || JSON.stringify(keys) !== JSON.stringify([...SOCKET.routes].sort()))
    throw new Error(`the template's WebSocket API is not the one the local socket server stands in for: ${JSON.stringify(routes)}`);
  const answering = routes.filter((r) => r.answers).map((r) => r.routeKey);
  return { fn: fns[0], handler: invoker(fns[0]), timeoutSeconds: functionConfig(d, fns[0]).timeoutSeconds, answering: answering[0] ?? '' };
}

/** Each function's environment, as the CDK app sets it, pointed at the local table, queues and capture servers. */
function functionEnvironment(
  o: LocalStackOptions,
  region: string,
  queues: Record<QueueName, QueueUrls>,
  capture: CaptureServer,
  apiUrl: string,
  socketManagementUrl: string,
): Record<string, string> {
  return {
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
    // The capture servers, and what tests and people point profiles at, listen on 127.0.0.1; a
    // deployed stack refuses private addresses (lambdas/shared/egress.ts). `env` may turn it off.
    ALLOW_PRIVATE_EGRESS: 'true',
    API_URL: apiUrl,
    WEBSOCKET_MANAGEMENT_URL: socketManagementUrl,
    ...o.env,
  };
}

/** One poller per worker, as Lambda's event source mappings poll the queues. */
function startPollers(o: LocalStackOptions, wiring: Wiring, sqs: SQSClient, queues: Record<QueueName, QueueUrls>) {
  return wiring.workers.map((w) => ({
    queue: w.queue,
    ...startPoller({
      client: sqs,
      queueUrl: queues[w.queue].url,
      queueArn: queues[w.queue].arn,
      handler: w.handler,
      functionName: w.fn,
      batchSize: w.batchSize,
      timeoutSeconds: w.timeoutSeconds,
      // Never more than the deployed event source's maxConcurrency, so tests see the same limit.
      concurrency: Math.min(o.concurrency?.[w.queue] ?? 4, w.maxConcurrency),
      onError: (e) => o.onWorkerError?.(w.queue, e),
      duplicateDeliveries: o.duplicateDeliveries,
    }),
  }));
}

/** One tick of every scheduled function, with the event EventBridge sends. */
async function runScheduledOnce(o: LocalStackOptions, wiring: Wiring, region: string): Promise<void> {
  for (const w of wiring.scheduled) {
    const event = {
      version: '0',
      id: crypto.randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: LOCAL_ACCOUNT,
      time: new Date(wallNow()).toISOString(),
      region,
      resources: [],
      detail: {},
    } as ScheduledEvent;
    await w.handler(event, lambdaContext(w.fn, w.timeoutSeconds)).catch((e) => o.onWorkerError?.('fanout', e));
  }
}

/**
 * Creates the table and queues, sets each function's environment as the CDK app does, then serves
 * the API handlers over HTTP and drives the worker handlers from their queues. Handler modules are
 * loaded only after the environment is set, as Lambda loads them after configuring a function.
 */
export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  countUsage();
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const ddbAdmin = new DynamoDBClient({ endpoint: o.dynamodbEndpoint, region, credentials: LOCAL_CREDENTIALS });
  const sqs = new SQSClient({ endpoint: o.sqsEndpoint, region, credentials: LOCAL_CREDENTIALS, useQueueUrlAsEndpoint: false });
  await ensureTable(ddbAdmin, o.tableName);
  ddbAdmin.destroy();
  const queues = await ensureQueues(sqs, o.queuePrefix, { visibilityTimeoutSeconds: o.visibilityTimeoutSeconds });
  // The local provider targets (docs/decisions.md#d10), started first: the functions read their URLs
  // from the environment when they load.
  const capture = await startCapture();
  // The API listens first, with its routes added once the functions are loaded: they learn its URL
  // (API_URL, where tracking links point) from their environment, as the CDK app gives it to them.
  // Captures are also readable on the API port, under /_local/ (no API key: local mode only).
  const routes: Route[] = [];
  const corsOrigins = parseCorsOrigins(o.env?.CORS_ALLOWED_ORIGINS ?? process.env.CORS_ALLOWED_ORIGINS ?? '*');
  if (typeof corsOrigins === 'string') throw new Error(`CORS_ALLOWED_ORIGINS: ${corsOrigins}`);
  const http = await startHttpAdapter({ port: o.port, routes, api: o.api, extra: capture.handleHttp, corsOrigins });
  // The socket server too listens first (its management URL is in the functions' environment); its function comes with the wiring.
  const loaded: { socket?: Wiring['socket'] } = {};
  const socket = await startSocketServer({
    port: o.socket?.port ?? 0,
    stage: SOCKET.stage,
    apiId: LOCAL_SOCKET_API_ID,
    idleMs: o.socket?.idleMs,
    maxMs: o.socket?.maxMs,
    route: () => {
      if (!loaded.socket) throw new Error('the socket function is not loaded yet');
      return loaded.socket;
    },
  });

  Object.assign(process.env, functionEnvironment(o, region, queues, capture, http.url, socket.managementUrl));

  // Loaded now, not at the top: these modules read the environment set just above (the local runner
  // uses the store itself, to keep the API key; in-process functions read it too).
  const { storeKeyHash } = require('../store/api-keys') as typeof import('../store/api-keys');
  const { hashApiKey } = require('../shared/middleware') as typeof import('../shared/middleware');
  await storeKeyHash(hashApiKey(o.apiKey), { name: 'local (API_KEY)', createdAt: new Date(wallNow()).toISOString(), hint: o.apiKey.slice(0, 4) });

  const wiring = o.bundles ? await bundleWiring(o, o.bundles, region, queues, http.url, new URL(socket.managementUrl).origin) : inProcessWiring(o);
  routes.push(...wiring.routes);
  loaded.socket = wiring.socket;

  const pollers = startPollers(o, wiring, sqs, queues);

  const runScheduled = () => runScheduledOnce(o, wiring, region);
  const every = o.scheduleEveryMs ?? 60_000;
  const timer = every > 0 ? setInterval(() => void runScheduled(), every) : undefined;

  return {
    url: http.url,
    wsUrl: socket.url,
    runScheduled,
    queues,
    sqs,
    captures: capture.captures,
    awsCalls: wiring.awsCalls,
    functionLogs: wiring.logs,
    workerStats: () => Object.fromEntries(pollers.map((p) => [p.queue, p.stats()])) as Record<QueueName, WorkerStats>,
    pollersIdle: () => pollers.every((p) => p.idle()),
    async stop() {
      clearInterval(timer);
      await http.close();
      await socket.close();
      await Promise.all(pollers.map((p) => p.stop()));
      await wiring.stop();
      await capture.stop();
      sqs.destroy();
    },
  };
}
