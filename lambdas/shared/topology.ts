/**
 * The system's shape as data, read by both the CDK app (lib/) and the local runner
 * (lambdas/local/), so the two can never disagree about queues, batches or routes.
 */

export type QueueName = 'fanout' | 'delivery' | 'webhooks';

/** The item-level DynamoDB actions a function may be granted on the table and its indexes. */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchWriteItem' | 'ConditionCheckItem';

/**
 * What every API-key function does with the table around its routes: reads the key (GetItem), for
 * an `Idempotency-Key` on a POST claims (PutItem), reads (GetItem), completes (UpdateItem) or
 * releases (DeleteItem) its record (lambdas/shared/idempotency.ts), and after a successful admin
 * write stores its audit event (PutItem, lambdas/shared/api.ts).
 */
const API_KEY_ROUTES: TableAction[] = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'];
const withApiKey = (...more: TableAction[]): TableAction[] => [...API_KEY_ROUTES, ...more];

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
  /** The table actions its role grants: what the worker calls (checked by the IAM tests). */
  table: readonly TableAction[];
  /** Pushes inbox events to the user's open sockets (SOCKET): gets WEBSOCKET_MANAGEMENT_URL and execute-api:ManageConnections. */
  pushes?: boolean;
}

export const QUEUES = {
  /** Send requests page by page, audience evaluation and backfills: short jobs that re-enqueue. */
  fanout: {
    worker: 'fanout',
    batchSize: 5,
    timeoutSeconds: 60,
    maxReceiveCount: 5,
    memoryMB: 512,
    maxConcurrency: 5,
    // Audience jobs announce membership changes and finished calculations to the outbound webhooks (their list: Query).
    sendsTo: ['fanout', 'delivery', 'webhooks'],
    table: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'ConditionCheckItem'],
  },
  /** Recipient jobs, several recipients per message. */
  delivery: {
    worker: 'deliver',
    batchSize: 10,
    timeoutSeconds: 60,
    maxReceiveCount: 8,
    memoryMB: 512,
    maxConcurrency: 10,
    sendsTo: ['delivery', 'fanout', 'webhooks'],
    // A new inbox message is pushed to the user's sockets (their list: Query of gsi1; a connection API Gateway reports gone: DeleteItem).
    table: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
    pushes: true,
  },
  /**
   * Outbound webhook events, one endpoint each (lambdas/workers/webhooks-out.ts): a failed POST is
   * re-enqueued with backoff (sendsTo itself); the last attempt's failure is retried once more by
   * SQS and then dead-lettered. It reads the endpoint (GetItem) and counts its failures (UpdateItem).
   */
  webhooks: {
    worker: 'webhooks-out',
    batchSize: 10,
    timeoutSeconds: 30,
    maxReceiveCount: 2,
    memoryMB: 256,
    maxConcurrency: 5,
    sendsTo: ['webhooks'],
    table: ['GetItem', 'UpdateItem'],
  },
} as const satisfies Record<QueueName, QueueSpec>;

export const visibilityTimeoutSeconds = (q: QueueSpec): number => q.timeoutSeconds * 6;

/** Messages in a dead-letter queue are kept for the maximum, 14 days, for inspection and redrive. */
export const DLQ_RETENTION_SECONDS = 14 * 24 * 3600;

export interface ApiGroup {
  /** Handler module under lambdas/http/. */
  module: string;
  /** First path segments served by this group (`profiles` serves `/profiles/...`). */
  segments: string[];
  /** Needs no API key: served on `GET /<segment>` only (the health check), and `GET /<segment>/{proxy+}` with `subpaths`. */
  public?: boolean;
  /** A public group's routes below its segment (the tracking links, `/t/o/<token>`). */
  subpaths?: boolean;
  /**
   * Also answers every request no other route takes (API Gateway's `$default` route), with
   * Courier's 404 or 405 body instead of API Gateway's own `{"message":"Not Found"}`.
   */
  unmatched?: boolean;
  /** Queues the group's function enqueues to. */
  queues?: QueueName[];
  /** The table actions its role grants: what its routes call (checked by the IAM tests). */
  table: TableAction[];
  /** Signs or verifies user tokens or tracking links (derived from the same secret): reads the secret's SSM parameter when USER_TOKEN_SECRET_PARAMETER is set. */
  signsTokens?: boolean;
  /** Delivers messages itself (a single send due at once, http/send.ts): gets the delivery worker's provider grants. */
  delivers?: boolean;
  /** Settings naming SSM parameters the group reads its secrets from (it is granted ssm:GetParameter on those set). */
  secretParameters?: string[];
  /**
   * Which of its writes record an audit event (README "Audit events"): `all` (every non-GET route
   * declares its `audit`; test/integration/audit-routes.test.ts checks it), or these paths only.
   */
  audits?: 'all' | string[];
  /** Pushes inbox events to the user's open sockets (SOCKET): gets WEBSOCKET_MANAGEMENT_URL and execute-api:ManageConnections. */
  pushes?: boolean;
}

/** Every API function's timeout: API Gateway's integration timeout is 30 seconds. */
export const API_TIMEOUT_SECONDS = 29;

export const API_GROUPS: ApiGroup[] = [
  { module: 'health', segments: ['health'], public: true, unmatched: true, table: [] },
  /** A profile is end-user data and is not audited; the user's list subscriptions are, as on /lists. */
  { module: 'profiles', segments: ['profiles'], queues: ['fanout'], table: withApiKey('Query', 'BatchGetItem'), audits: ['/profiles/:user_id/lists'] },
  /** A reparenting is a transaction: the tenant's write (UpdateItem) and a ConditionCheckItem on each ancestor. */
  { module: 'tenants', segments: ['tenants'], queues: ['fanout'], table: withApiKey('Query', 'ConditionCheckItem'), audits: 'all' },
  // Device tokens also by user token (courier-js tokens.putUserToken): it verifies them.
  { module: 'users', segments: ['users'], queues: ['fanout'], table: withApiKey('Query', 'BatchGetItem'), signsTokens: true },
  { module: 'lists', segments: ['lists'], table: withApiKey('Query'), audits: 'all' },
  /** A save announces `audiences:updated` to the outbound webhooks (their list: Query). */
  { module: 'audiences', segments: ['audiences'], queues: ['fanout', 'webhooks'], table: withApiKey('Query'), audits: 'all' },
  { module: 'preferences', segments: ['preferences'], table: withApiKey('Query'), audits: 'all' },
  { module: 'brands', segments: ['brands'], table: withApiKey('Query'), audits: 'all' },
  { module: 'notifications', segments: ['notifications'], table: withApiKey('Query'), audits: 'all' },
  /** `.po` texts per locale (GetItem, PutItem of API_KEY_ROUTES); rendering reads them. */
  { module: 'translations', segments: ['translations'], table: withApiKey(), audits: 'all' },
  { module: 'providers', segments: ['providers'], table: withApiKey('Query'), audits: 'all' },
  /** Strategies are workspace documents (GetItem, UpdateItem); listings and archive's check of the templates naming one page collections (Query). */
  { module: 'routing-strategies', segments: ['routing-strategies'], table: withApiKey('Query'), audits: 'all' },
  /** Reads the audit events the admin writes of the other groups store (a Query per shard); GETs only, so no Idempotency-Key records. */
  { module: 'audit-events', segments: ['audit-events'], table: ['GetItem', 'Query'] },
  /**
   * Stores requests (PutItem; a recipient index entry, BatchWriteItem) and delivers a single send
   * due at once itself, as the delivery worker would (its reads: Query, BatchGetItem).
   */
  {
    module: 'send',
    segments: ['send'],
    queues: ['fanout', 'delivery', 'webhooks'],
    table: withApiKey('Query', 'BatchGetItem', 'BatchWriteItem'),
    delivers: true,
    // A single send delivered inline pushes its inbox message to the user's sockets.
    pushes: true,
    // Its emails and inbox messages carry tracking links, signed with a key derived from the user-token secret.
    signsTokens: true,
  },
  /** A cancel announces the message's new status to the outbound webhooks (their list: Query). */
  { module: 'messages', segments: ['messages', 'requests'], queues: ['webhooks'], table: withApiKey('Query', 'BatchGetItem') },
  /** Outbound webhook endpoints (workspace documents: GetItem, UpdateItem, DeleteItem; listed with Query). */
  { module: 'webhooks', segments: ['webhooks'], table: withApiKey('Query'), audits: 'all' },
  /** The suppression list (our extension, docs/decisions.md D21): entries read, put (UpdateItem), deleted, listed through gsi1 (Query). */
  { module: 'suppressions', segments: ['suppressions'], table: withApiKey('Query'), audits: 'all' },
  { module: 'bulk', segments: ['bulk'], queues: ['fanout'], table: withApiKey('Query', 'BatchWriteItem') },
  /**
   * Automations and journeys (docs/decisions.md D25): templates (their head: GetItem, UpdateItem; a revision: PutItem; the
   * head deleted: DeleteItem; listed through gsi1: Query) and runs (stored with a conditional PutItem, their token's entry
   * a PutItem, read back: GetItem), whose steps the fan-out worker does.
   */
  { module: 'automations', segments: ['automations', 'journeys'], queues: ['fanout'], table: withApiKey('Query'), audits: ['/automations/templates/:id'] },
  /** Also makes the token signing secret on first use (PutItem) when USER_TOKEN_SECRET is unset. */
  { module: 'auth', segments: ['auth'], table: withApiKey(), signsTokens: true },
  /**
   * Inbound events: `POST /inbound/courier` by API key, the Segment and RudderStack webhooks by their
   * shared secrets. A mapped track stores a send request and enqueues it, as /send does under an
   * Idempotency-Key (never delivered inline); identify merges a profile and group adds a
   * membership (tenant and profile writes, audience re-evaluation through the fan-out queue).
   */
  {
    module: 'inbound',
    segments: ['inbound'],
    // Provider events and a delayed single send announce the message's status to the outbound webhooks.
    queues: ['fanout', 'delivery', 'webhooks'],
    // A send request's first write is a BatchWriteItem (its hour in the requests directory, store/messages.ts createRequest).
    table: withApiKey('Query', 'BatchWriteItem'),
    secretParameters: [
      'SEGMENT_SHARED_SECRET_PARAMETER',
      'RUDDERSTACK_SHARED_SECRET_PARAMETER',
      // Provider webhooks of delivery and engagement events (http/provider-events.ts): they read and write message records (GetItem, PutItem).
      'SENDGRID_WEBHOOK_VERIFICATION_KEY_PARAMETER',
      'MAILGUN_WEBHOOK_SIGNING_KEY_PARAMETER',
      'POSTMARK_WEBHOOK_CREDENTIALS_PARAMETER',
      'TWILIO_AUTH_TOKEN_PARAMETER',
      'VONAGE_SIGNATURE_SECRET_PARAMETER',
    ],
  },
  /**
   * End-user routes: a user token from /auth/issue-token, never an API key; reads and marks the
   * user's inbox items. With inbox tracking on, a read or an open moves the message (its record, or
   * its delivery job's record: GetItem, PutItem).
   */
  /**
   * A read or an open moves the message to OPENED (D22) and announces it to the outbound webhooks (their list: Query). Every
   * state change is pushed to the user's sockets (their list: Query of gsi1; a connection API Gateway reports gone: DeleteItem).
   */
  {
    module: 'inbox',
    segments: ['inbox'],
    queues: ['webhooks'],
    table: ['GetItem', 'Query', 'UpdateItem', 'PutItem', 'DeleteItem'],
    signsTokens: true,
    pushes: true,
  },
  /**
   * Courier's browser client (`@trycourier/courier-js`, http/client.ts): its GraphQL `POST /client/q`
   * (the user's preferences and the topics: Query of the topic collection and of the user's
   * preferences; the tenant chain, a topic, a brand: GetItem; a preference stored: UpdateItem) and its
   * list subscriptions (`/client/lists/...`: the list read, the subscription upserted or deleted). A user
   * token only; verifying it reads the signing key and the user's revocation (GetItem).
   */
  { module: 'client', segments: ['client'], table: ['GetItem', 'Query', 'UpdateItem', 'DeleteItem'], signsTokens: true },
  /**
   * Open and click tracking links (docs/decisions.md D22): public, verified by their signature (the
   * key derived from the user-token secret: GetItem), then the message moved as by a provider event
   * (its record, or its delivery job's record: GetItem, PutItem), announced to the outbound webhooks
   * (their list: Query).
   */
  { module: 'tracking', segments: ['t'], public: true, subpaths: true, queues: ['webhooks'], table: ['GetItem', 'PutItem', 'Query'], signsTokens: true },
];

/**
 * A group's routes as API Gateway route keys: `ANY /<segment>` and `ANY /<segment>/{proxy+}`, or
 * `GET /<segment>` for a public group (and `GET /<segment>/{proxy+}` with `subpaths`). The local adapter serves exactly these; a CDK test
 * checks that the synthesized API has the same routes to the same functions.
 */
export const routeKeys = (g: ApiGroup): string[] => [
  ...(g.public
    ? g.segments.flatMap((s) => [`GET /${s}`, ...(g.subpaths ? [`GET /${s}/{proxy+}`] : [])])
    : g.segments.flatMap((s) => [`ANY /${s}`, `ANY /${s}/{proxy+}`])),
  ...(g.unmatched ? [UNMATCHED_ROUTE] : []),
];

/** The HTTP API's route for requests no other route takes (on a REST API: `ANY /` and `ANY /{proxy+}`). */
export const UNMATCHED_ROUTE = '$default';

/** The environment variable each queue's URL is passed in. */
export const queueUrlEnv = (name: QueueName): string => `${name.toUpperCase()}_QUEUE_URL`;

/**
 * Scheduled workers: the sweeper re-drives unfinished requests every minute (EventBridge on AWS).
 * It walks the single sends stored without a marker (its position: GetItem, UpdateItem; the
 * requests: Query of gsi1), pages the open markers (Query), reads the requests they name (BatchGetItem), deletes the
 * markers of finished single sends (BatchWriteItem) and moves the others with a transaction of a
 * conditional Delete and a Put (DeleteItem, PutItem).
 * Then it pages the automation runs whose wake time passed (Query of gsi1), claims each
 * (UpdateItem of its wake time) and enqueues the step it stands at.
 */
export const SCHEDULED = [
  {
    worker: 'sweeper',
    everyMinutes: 1,
    timeoutSeconds: 60,
    sendsTo: ['fanout'] as QueueName[],
    table: ['Query', 'BatchGetItem', 'BatchWriteItem', 'PutItem', 'DeleteItem', 'GetItem', 'UpdateItem'] as TableAction[],
  },
] as const;

/**
 * The realtime inbox socket (README "The realtime inbox socket"): an API Gateway WebSocket API whose
 * routes all go to one function (lambdas/http/<module>.ts). `$connect` verifies the user token (the
 * signing key, the user's revocation: GetItem), counts the user's connections (Query of gsi1), closes
 * the oldest over the limit (DeleteItem) and stores the connection (PutItem); `$default` answers the
 * client's actions (its connection: GetItem; a subscription: UpdateItem); `$disconnect` deletes it.
 * The local runner serves the same routes (lambdas/local/socket-server.ts).
 */
export const SOCKET = {
  name: 'inbox',
  module: 'inbox-socket',
  /** The stage: the socket URL and the management API's end in it. */
  stage: 'inbox',
  routes: ['$connect', '$disconnect', '$default'],
  /** The route whose function's answer API Gateway sends back to the client (a route response). */
  answering: '$default',
  table: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'] as TableAction[],
  timeoutSeconds: 10,
  memoryMB: 256,
} as const;

/** API Gateway's own limits of a WebSocket connection, which the local socket server enforces too. */
export const SOCKET_IDLE_MS = 10 * 60_000;
export const SOCKET_MAX_MS = 2 * 3600_000;

/** Each function's construct id in the stack; also its name in the local runner and in recorded AWS calls. */
export const functionIds = {
  api: (module: string) => `Api-${module}`,
  worker: (worker: string) => `Worker-${worker}`,
  scheduled: (worker: string) => `Scheduled-${worker}`,
  socket: (name: string) => `Socket-${name}`,
};
