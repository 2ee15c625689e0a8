/**
 * The system's shape as data, read by both the CDK app (lib/) and the local runner
 * (lambdas/local/), so the two can never disagree about queues, batches or routes.
 */

export type QueueName = 'fanout' | 'delivery';

export interface QueueSpec {
  /** Worker module under lambdas/workers/ that consumes the queue. */
  worker: string;
  /** SQS event source batch size. */
  batchSize: number;
  /** Worker timeout; the queue's visibility timeout is six times it, as AWS recommends. */
  timeoutSeconds: number;
  /** Receives before a message moves to the dead-letter queue. */
  maxReceiveCount: number;
  memoryMB: number;
  /**
   * Default for the most concurrent invocations the queue's event source starts (the deploy option
   * `<queue>MaxConcurrency` changes it); the local pollers never run more batches at once either.
   */
  maxConcurrency: number;
  /** Queues the worker enqueues to (it gets their URLs and send permission). */
  sendsTo: readonly QueueName[];
}

export const QUEUES = {
  /** Send requests page by page, audience evaluation and backfills: short jobs that re-enqueue. */
  fanout: { worker: 'fanout', batchSize: 5, timeoutSeconds: 60, maxReceiveCount: 5, memoryMB: 512, maxConcurrency: 5, sendsTo: ['fanout', 'delivery'] },
  /** Recipient jobs, several recipients per message. */
  delivery: { worker: 'deliver', batchSize: 10, timeoutSeconds: 60, maxReceiveCount: 8, memoryMB: 512, maxConcurrency: 10, sendsTo: ['delivery', 'fanout'] },
} as const satisfies Record<QueueName, QueueSpec>;

export const visibilityTimeoutSeconds = (q: QueueSpec): number => q.timeoutSeconds * 6;

/** Messages in a dead-letter queue are kept for the maximum, 14 days, for inspection and redrive. */
export const DLQ_RETENTION_SECONDS = 14 * 24 * 3600;

export interface ApiGroup {
  /** Handler module under lambdas/http/. */
  module: string;
  /** First path segments served by this group (`profiles` serves `/profiles/...`). */
  segments: string[];
  /** Needs no API key and no table (only the health check). */
  public?: boolean;
  /** Queues the group's function enqueues to. */
  queues?: QueueName[];
}

export const API_GROUPS: ApiGroup[] = [
  { module: 'health', segments: ['health'], public: true },
  { module: 'profiles', segments: ['profiles'], queues: ['fanout'] },
  { module: 'tenants', segments: ['tenants'], queues: ['fanout'] },
  { module: 'users', segments: ['users'], queues: ['fanout'] },
  { module: 'lists', segments: ['lists'] },
  { module: 'audiences', segments: ['audiences'], queues: ['fanout'] },
  { module: 'preferences', segments: ['preferences'] },
  { module: 'brands', segments: ['brands'] },
  { module: 'notifications', segments: ['notifications'] },
  { module: 'providers', segments: ['providers'] },
  { module: 'send', segments: ['send'], queues: ['fanout', 'delivery'] },
  { module: 'messages', segments: ['messages'] },
  { module: 'bulk', segments: ['bulk'], queues: ['fanout'] },
  { module: 'auth', segments: ['auth'] },
  /** End-user routes: a user token from /auth/issue-token, never an API key. */
  { module: 'inbox', segments: ['inbox'] },
];

/**
 * A group's routes as API Gateway route keys: `ANY /<segment>` and `ANY /<segment>/{proxy+}`, or
 * `GET /<segment>` for the public health check. The local adapter serves exactly these; a CDK test
 * checks that the synthesized API has the same routes to the same functions.
 */
export const routeKeys = (g: ApiGroup): string[] => (g.public ? g.segments.map((s) => `GET /${s}`) : g.segments.flatMap((s) => [`ANY /${s}`, `ANY /${s}/{proxy+}`]));

/** The environment variable each queue's URL is passed in. */
export const queueUrlEnv = (name: QueueName): string => `${name.toUpperCase()}_QUEUE_URL`;

/** Scheduled workers: the sweeper re-drives unfinished requests every minute (EventBridge on AWS). */
export const SCHEDULED = [{ worker: 'sweeper', everyMinutes: 1, timeoutSeconds: 60, sendsTo: ['fanout'] as QueueName[] }] as const;

/** Each function's construct id in the stack; also its name in the local runner and in recorded AWS calls. */
export const functionIds = {
  api: (module: string) => `Api-${module}`,
  worker: (worker: string) => `Worker-${worker}`,
  scheduled: (worker: string) => `Scheduled-${worker}`,
};
