/**
 * Every key of the single table is built here, from the entity name and its ids, so entities never
 * collide and a reader can see every access pattern in one place.
 *
 * Table: `pk` (partition) / `sk` (sort); `gsi1pk` / `gsi1sk` on the one GSI (`gsi1`, all attributes
 * projected) for reverse look-ups and collections; `ttl` (epoch seconds) for expiring items.
 *
 * Ids are escaped (`%` -> `%25`, `#` -> `%23`) so `#` only ever separates key parts.
 */
export const esc = (id: string): string => id.replace(/%/g, '%25').replace(/#/g, '%23');

export interface Key {
  pk: string;
  sk: string;
}

export interface IndexKey {
  gsi1pk: string;
  gsi1sk: string;
}

export const GSI1 = 'gsi1';

/** An epoch-ms time as 9 base36 digits, so sort keys that start with it sort by time (until the year 5188). */
const sortableTime = (at: number): string => at.toString(36).padStart(9, '0');

export const keys = {
  /** The workspace's secret for signing user tokens, created on first use (unless configured). */
  tokenSigningKey: (): Key => ({ pk: 'SIGNINGKEY', sk: 'USER-TOKENS' }),
  /** Since when a user's tokens are valid (POST /auth/revoke-tokens), in the user's partition. */
  userTokensValidAfter: (userId: string): Key => ({ pk: `USER#${esc(userId)}`, sk: 'TOKENS-VALID-AFTER' }),

  /** API key by the SHA-256 of the key; listed in creation order through gsi1. */
  apiKey: (hash: string): Key => ({ pk: `APIKEY#${hash}`, sk: 'APIKEY' }),
  /** The key hash of an API key item's `pk`. */
  apiKeyHashOf: (pk: string): string => pk.slice('APIKEY#'.length),
  apiKeyIndex: (createdAt: string, hash: string): IndexKey => ({ gsi1pk: 'APIKEYS', gsi1sk: `${createdAt}#${hash}` }),

  /**
   * A user's profile; the user's preferences share its partition. Profiles are also listed, for
   * audience backfills, through 16 gsi1 shards so a bulk import never makes one GSI partition hot.
   */
  profile: (userId: string): Key => ({ pk: `USER#${esc(userId)}`, sk: 'PROFILE' }),
  profileIndex: (userId: string): IndexKey => ({ gsi1pk: `PROFILES#${shardOf(userId)}`, gsi1sk: esc(userId) }),
  profileShard: (shard: number): string => `PROFILES#${shard}`,

  /** A user's device token (`/users/:id/tokens`), in the user's partition. */
  deviceToken: (userId: string, token: string): Key => ({ pk: `USER#${esc(userId)}`, sk: `TOKEN#${esc(token)}` }),
  deviceTokensPrefix: 'TOKEN#',

  /** A user's preference for a topic: global, or for one tenant. */
  userPreference: (userId: string, topicId: string, tenantId?: string): Key => ({
    pk: `USER#${esc(userId)}`,
    sk: tenantId === undefined ? `PREF#G#${esc(topicId)}` : `PREF#T#${esc(tenantId)}#${esc(topicId)}`,
  }),
  userPreferencePrefix: (tenantId?: string): string => (tenantId === undefined ? 'PREF#G#' : `PREF#T#${esc(tenantId)}#`),

  /** A user's own quiet hours (`/users/:id/quiet-hours`, docs/decisions.md D26), in the user's partition. */
  quietHours: (userId: string): Key => ({ pk: `USER#${esc(userId)}`, sk: 'QUIET-HOURS' }),
  /**
   * A topic's throttle counter for one user and one fixed window (docs/decisions.md D26): the set of
   * message ids let through in the window starting at `windowStart`. Expires through `ttl`.
   */
  throttleCounter: (topicId: string, userId: string, windowStart: number): Key => ({
    pk: `THROTTLE#${esc(topicId)}#${esc(userId)}`,
    sk: sortableTime(windowStart),
  }),

  /** Tenants, listed through gsi1 by parent then id: children of P are `begins_with(P#)`. */
  tenant: (tenantId: string): Key => ({ pk: `TENANT#${esc(tenantId)}`, sk: 'TENANT' }),
  tenantIndex: (tenantId: string, parentId?: string | null): IndexKey => ({ gsi1pk: 'TENANTS', gsi1sk: `${esc(parentId ?? '')}#${esc(tenantId)}` }),
  tenantChildrenPrefix: (parentId: string): string => `${esc(parentId)}#`,
  tenantsCollection: 'TENANTS',

  /** A user's membership of a tenant, in the tenant's partition; the user's side through gsi1. */
  membership: (tenantId: string, userId: string): Key => ({ pk: `TENANT#${esc(tenantId)}`, sk: `MEMBER#${esc(userId)}` }),
  membershipIndex: (userId: string, tenantId: string): IndexKey => ({ gsi1pk: `USERTENANTS#${esc(userId)}`, gsi1sk: esc(tenantId) }),
  membersPrefix: 'MEMBER#',
  userTenants: (userId: string): string => `USERTENANTS#${esc(userId)}`,
  /**
   * The user's side of a membership in the user's own partition, read consistently when a
   * membership is added to flag every membership of a user in two or more tenants as `shared`.
   */
  memberOf: (userId: string, tenantId: string): Key => ({ pk: `USER#${esc(userId)}`, sk: `MEMBEROF#${esc(tenantId)}` }),
  memberOfPrefix: 'MEMBEROF#',

  /** Tenant templates: the current head item and one item per version, in the tenant's partition. */
  tenantTemplate: (tenantId: string, templateId: string): Key => ({ pk: `TENANT#${esc(tenantId)}`, sk: `TEMPLATE#${esc(templateId)}` }),
  tenantTemplateVersion: (tenantId: string, templateId: string, version: string): Key => ({
    pk: `TENANT#${esc(tenantId)}`,
    sk: `TPLVERSION#${esc(templateId)}#${version}`,
  }),
  tenantTemplatesPrefix: 'TEMPLATE#',

  /** Lists, listed by id through gsi1 (a pattern's literal prefix is a begins_with). */
  list: (listId: string): Key => ({ pk: `LIST#${esc(listId)}`, sk: 'LIST' }),
  listIndex: (listId: string): IndexKey => ({ gsi1pk: 'LISTS', gsi1sk: esc(listId) }),
  listsCollection: 'LISTS',
  subscription: (listId: string, userId: string): Key => ({ pk: `LIST#${esc(listId)}`, sk: `SUB#${esc(userId)}` }),
  subscriptionIndex: (userId: string, listId: string): IndexKey => ({ gsi1pk: `USERLISTS#${esc(userId)}`, gsi1sk: esc(listId) }),
  subscriptionsPrefix: 'SUB#',
  userLists: (userId: string): string => `USERLISTS#${esc(userId)}`,

  /** Audiences and their materialised members; a user's audiences through gsi1. */
  audience: (audienceId: string): Key => ({ pk: `AUDIENCE#${esc(audienceId)}`, sk: 'AUDIENCE' }),
  /** The counter of an audience's generations, in its partition; it outlives the audience item. */
  audienceGeneration: (audienceId: string): Key => ({ pk: `AUDIENCE#${esc(audienceId)}`, sk: 'GENERATION' }),
  audienceIndex: (audienceId: string): IndexKey => ({ gsi1pk: 'AUDIENCES', gsi1sk: esc(audienceId) }),
  /** How far a backfill chain of the audience got, and which queue message holds its step. Expires through `ttl`. */
  audienceBackfill: (audienceId: string, chain: string): Key => ({ pk: `AUDIENCE#${esc(audienceId)}`, sk: `BACKFILL#${esc(chain)}` }),
  /**
   * How far a deleted tenant's cleanup chain got, and which queue message holds its step: a partition
   * of its own, not the tenant's (the cleanup walks that one). Expires through `ttl`.
   */
  tenantCleanup: (tenantId: string, chain: string): Key => ({ pk: `TENANTCLEANUP#${esc(tenantId)}`, sk: `CHAIN#${esc(chain)}` }),
  /**
   * How far a sweeper's check of an open request got (one chain a claim of its marker), and which
   * queue message holds its step: in the request's partition, outside its records' range. Expires through `ttl`.
   */
  /** How far the Expo receipt checks of a message got (store/job-claims.ts): one claim per check. Expires through `ttl`. */
  expoReceiptChecks: (messageId: string): Key => ({ pk: `EXPORECEIPTS#${esc(messageId)}`, sk: 'CHECKS' }),
  requestCheck: (requestId: string, chain: string): Key => ({ pk: requestKeys.request(requestId).pk, sk: `CHECK#${esc(chain)}` }),
  audiencesCollection: 'AUDIENCES',
  audienceMember: (audienceId: string, userId: string): Key => ({ pk: `AUDIENCE#${esc(audienceId)}`, sk: `MEMBER#${esc(userId)}` }),
  audienceMembersPrefix: 'MEMBER#',
  audienceMemberIndex: (userId: string, audienceId: string): IndexKey => ({ gsi1pk: `USERAUDIENCES#${esc(userId)}`, gsi1sk: esc(audienceId) }),
  userAudiences: (userId: string): string => `USERAUDIENCES#${esc(userId)}`,

  /** Workspace documents with a collection listing in gsi1: topics, brands, templates, providers, routing strategies. */
  document: (kind: DocumentKind, id: string): Key => ({ pk: `${kind}#${esc(id)}`, sk: kind }),
  documentIndex: (kind: DocumentKind, id: string): IndexKey => ({ gsi1pk: `${kind}S`, gsi1sk: esc(id) }),
  documentCollection: (kind: DocumentKind): string => `${kind}S`,
  /** Versions of a workspace document (template drafts and publications). */
  documentVersion: (kind: DocumentKind, id: string, version: string): Key => ({ pk: `${kind}#${esc(id)}`, sk: `VERSION#${version}` }),
  documentVersionsPrefix: 'VERSION#',
  /** The checks of a template's submission (`/notifications/:id/:submission_id/checks`), in the template's partition. */
  templateChecks: (templateId: string, submissionId: string): Key => ({
    pk: keys.document('NOTIFICATION', templateId).pk,
    sk: `CHECKS#${esc(submissionId)}`,
  }),
  /** A locale's translations (`/translations/:domain/:locale`, a `.po` text); the locale as normalised (lower case, `_`). */
  translation: (domain: string, locale: string): Key => ({ pk: `TRANSLATION#${esc(domain)}#${esc(locale)}`, sk: 'TRANSLATION' }),

  /**
   * A notification's mapped event (`event_ids`): which template an inbound event or a send's
   * `template: <event id>` resolves to. One item per event id, written and removed with the
   * template's own write (store/templates.ts), so an event maps to at most one notification.
   */
  eventMapping: (eventId: string): Key => ({ pk: `EVENTMAP#${esc(eventId)}`, sk: 'EVENTMAP' }),

  /**
   * An inbound event (`/inbound/courier`, Segment, RudderStack) by its source and `messageId`: the
   * record that applies a replay once, and what became of the event. Expires through `ttl`.
   */
  inboundEvent: (source: string, messageId: string): Key => ({ pk: `INBOUND#${source}#${esc(messageId)}`, sk: 'INBOUND' }),
  /** A provider webhook's one-time token (Mailgun's `signature.token`), seen once: a second arrival is a replay. Expires through `ttl`. */
  providerWebhookToken: (provider: string, token: string): Key => ({ pk: `PWTOKEN#${provider}#${esc(token)}`, sk: 'PWTOKEN' }),

  /**
   * A suppressed address (store/suppressions.ts, docs/decisions.md D21), by channel and normalized
   * address: its own partition, so the read each email or sms send makes spreads over the table;
   * listed through gsi1 by channel then address (`<channel>#` is one channel's).
   */
  suppression: (channel: string, address: string): Key => ({ pk: `SUPPRESSION#${channel}#${esc(address)}`, sk: 'SUPPRESSION' }),
  suppressionIndex: (channel: string, address: string): IndexKey => ({ gsi1pk: 'SUPPRESSIONS', gsi1sk: `${channel}#${esc(address)}` }),
  suppressionsCollection: 'SUPPRESSIONS',
  suppressionsOfChannel: (channel: string): string => `${channel}#`,

  /**
   * Inbox items, one per (user, message) in the user's partition: message ids sort by time, so a
   * newest-first Query lists the inbox (a per-tenant inbox filters it on the item's tenantId). The
   * partition also holds the recipient index entries of the user's other messages (`_t`
   * `RecipientEntry`, requestKeys.recipientEntry), which the inbox skips.
   */
  inboxMessage: (userId: string, messageId: string): Key => ({ pk: `INBOX#${esc(userId)}`, sk: `MSG#${esc(messageId)}` }),
  inbox: (userId: string): string => `INBOX#${esc(userId)}`,
  inboxPrefix: 'MSG#',
  /**
   * The key range of a user's inbox items whose message ids were made at `at` or later (ids made
   * here start with 9 base36 chars of epoch ms): from the first such key to the end of the prefix.
   */
  inboxSince: (at: number): [string, string] => [`MSG#${Math.max(0, Math.floor(at)).toString(36).padStart(9, '0')}`, 'MSG$'],
  /**
   * An open connection of the realtime inbox socket (lambdas/store/sockets.ts), by its API Gateway
   * connection id (what `$default` and `$disconnect` know), and in its user's gsi1 partition by
   * connection time, so a push lists the user's connections with one Query, oldest first.
   * Expires through `ttl` (API Gateway closes a connection after 2 hours at most).
   */
  socketConnection: (connectionId: string): Key => ({ pk: `SOCKET#${esc(connectionId)}`, sk: 'SOCKET' }),
  socketConnectionIndex: (userId: string, connectedAt: number, connectionId: string): IndexKey => ({
    gsi1pk: `SOCKETS#${esc(userId)}`,
    gsi1sk: `${sortableTime(connectedAt)}#${esc(connectionId)}`,
  }),
  userSockets: (userId: string): string => `SOCKETS#${esc(userId)}`,
  /** A user's unread counters (lambdas/store/inbox.ts), in the inbox partition, outside its messages' prefix. */
  inboxUnread: (userId: string): Key => ({ pk: `INBOX#${esc(userId)}`, sk: 'UNREAD' }),
};

/**
 * Send requests and their messages share a partition: the request item, its fan-out's outboxes
 * (`OUT#`), the records of its delivery jobs (`JOB#`, a slot per recipient) and the message records
 * of their own (`MSG#<suffix>`: a single send's is `MSG#-`, its message id being the request id).
 * Requests are listed newest first through gsi1 in hourly buckets; a trace id has a small look-up
 * item.
 */
export const requestKeys = {
  request: (requestId: string): Key => ({ pk: `REQUEST#${requestId}`, sk: 'REQUEST' }),
  /** The request id of an item in a request's partition (the request, or one of its messages). */
  requestIdOf: (pk: string): string => pk.slice('REQUEST#'.length),
  requestIndex: (requestId: string, at: number): IndexKey => ({ gsi1pk: requestKeys.bucket(at), gsi1sk: `${sortableTime(at)}#${requestId}` }),
  /** gsi1 partition of the requests enqueued in the hour containing `at` (epoch ms). */
  bucket: (at: number): string => `REQUESTS#${requestKeys.hourOf(at)}`,
  /** The UTC hour containing `at`, as its bucket and its directory entry name it (`2026-11-30T02`). */
  hourOf: (at: number): string => new Date(at).toISOString().slice(0, 13),
  /**
   * The directory of hour buckets that hold requests, one item per hour in one partition (written
   * once an hour by each warm function that stores a request), so a listing steps from one
   * non-empty bucket to the next older one and knows when there is none.
   */
  requestHour: (at: number): Key => ({ pk: 'REQUEST-HOURS', sk: requestKeys.hourOf(at) }),
  requestHours: 'REQUEST-HOURS',
  /** Marks an archived request (`PUT /requests/:id/archive`): a small item a listing reads beside the records. */
  archived: (requestId: string): Key => ({ pk: `REQUEST#${requestId}`, sk: 'ARCHIVED' }),
  message: (requestId: string, suffix: string): Key => ({ pk: `REQUEST#${requestId}`, sk: `MSG#${suffix}` }),
  messagesPrefix: 'MSG#',
  /**
   * A fan-out's outbox: the delivery jobs of one flush, written before they are sent, keyed by the
   * number of recipients the fan-out emitted before them (workers/fanout-send.ts).
   */
  outbox: (requestId: string, emittedBefore: number): Key => ({ pk: `REQUEST#${requestId}`, sk: `OUT#${emittedBefore.toString(36).padStart(8, '0')}` }),
  /**
   * A delivery job's record (store/jobs.ts): the message records of its recipients, one slot each,
   * for recipients whose message id names a slot (slotMessageId).
   */
  job: (requestId: string, outbox: number, job: number): Key => ({ pk: `REQUEST#${requestId}`, sk: `JOB#${outbox.toString(36)}.${job.toString(36)}` }),
  jobPrefix: 'JOB#',
  /** The sort keys of a request's job records and message records, and nothing else of its partition. */
  recordsRange: ['JOB#', 'MSG$'] as [string, string],
  trace: (traceId: string, requestId: string): Key => ({ pk: `TRACE#${esc(traceId)}`, sk: requestId }),
  /**
   * A request not yet known to be finished, in one of OPEN_SHARDS partitions, sorted by when the
   * sweeper should look at it: the sweeper's Query is `sk < now`.
   */
  open: (requestId: string, checkAt: number): Key => ({ pk: `OPEN#${openShardOf(requestId)}`, sk: `${sortableTime(checkAt)}#${requestId}` }),
  openShard: (shard: number): string => `OPEN#${shard}`,
  /**
   * The first sort key at `at` or later among keys of the form `<time>#<requestId>` (open markers'
   * sort keys, requests' gsi1 sort keys): a Query's `sk < timeFrom(t)` is "before t".
   */
  timeFrom: (at: number): string => `${sortableTime(at)}#`,
  traceRequests: (traceId: string): string => `TRACE#${esc(traceId)}`,
  /**
   * The sweeper's walk of single sends (docs/decisions.md D12): how far it has looked at the
   * requests in gsi1, by the gsi1 sort key of the last one.
   */
  singlesWalk: { pk: 'SWEEP', sk: 'SINGLES' } as Key,
  /**
   * A message's entry in its recipient's index (`GET /messages?recipient=`): the recipient's
   * partition (a user id, else the address the message went to), keyed by message id, newest first.
   * It is the key of the user's inbox item for the message: a message delivered to the inbox has
   * that item as its entry, and no other (docs/decisions.md D12).
   */
  recipientEntry: (recipient: string, messageId: string): Key => keys.inboxMessage(recipient, messageId),
  recipientPartition: (recipient: string): string => keys.inbox(recipient),
  recipientPrefix: keys.inboxPrefix,
};

/**
 * Partitions of the open markers. Each request writes its marker once (POST /send) and the sweeper
 * deletes it once, so one shard holds about 500 requests a second under DynamoDB's 1,000 writes a
 * second per partition; 16 keep the markers far from that at the 1,000 sends a second the API
 * stage is sized for, and let the sweeper page through the shards in parallel (README "Sweep
 * capacity"). A marker carries its partition key in the sweeper's job, so markers written under
 * another shard count are still found (shards 0-15 include the former 0-3) and removed.
 */
export const OPEN_SHARDS = 16;

/** The open-marker shard of a request, in 0..OPEN_SHARDS-1. */
export const openShardOf = (requestId: string): number => shardOf(requestId) % OPEN_SHARDS;

export type DocumentKind = 'TOPIC' | 'BRAND' | 'NOTIFICATION' | 'PROVIDER' | 'ROUTING_STRATEGY' | 'WEBHOOK';

/**
 * Automation runs (lambdas/store/automations.ts, docs/decisions.md D25). A run is one item, advanced
 * a step at a time by a conditional update of its `cursor`. While it is pending it is in one of
 * RUN_WAKE_SHARDS gsi1 partitions, sorted by when the sweeper should wake it (its delay's end, or a
 * grace period after its last job was enqueued); a finished run leaves the index. A run holding a
 * `cancelation_token` has an entry in the token's partition, so a `cancel` step finds every run of
 * the token with one Query.
 */
export const RUN_WAKE_SHARDS = 4;
export const runKeys = {
  run: (runId: string): Key => ({ pk: `RUN#${esc(runId)}`, sk: 'RUN' }),
  wake: (runId: string, at: number): IndexKey => ({ gsi1pk: runKeys.wakeShard(shardOf(runId) % RUN_WAKE_SHARDS), gsi1sk: `${sortableTime(at)}#${esc(runId)}` }),
  wakeShard: (shard: number): string => `RUNWAKE#${shard}`,
  /** The first wake sort key at `at` or later: `gsi1sk < wakeFrom(t)` is "due before t". */
  wakeFrom: (at: number): string => `${sortableTime(at)}#`,
  tokenRun: (token: string, runId: string): Key => ({ pk: runKeys.tokenRuns(token), sk: esc(runId) }),
  tokenRuns: (token: string): string => `RUNTOKEN#${esc(token)}`,
  /** Automation templates (our extension): the head item and one item per revision, listed by version (published, draft) then id through gsi1. */
  template: (templateId: string): Key => ({ pk: `AUTOMATION#${esc(templateId)}`, sk: 'AUTOMATION' }),
  templateRevision: (templateId: string, revision: number): Key => ({
    pk: `AUTOMATION#${esc(templateId)}`,
    sk: `REVISION#${String(revision).padStart(6, '0')}`,
  }),
  templateIndex: (version: string, templateId: string): IndexKey => ({ gsi1pk: runKeys.templates(version), gsi1sk: esc(templateId) }),
  templates: (version: string): string => `AUTOMATIONS#${version}`,
  /**
   * A batch step's open batch (issue 18 item 3, docs/decisions.md D27): the head, one item per batch
   * key (a hash of the automation, the step, the user and the category) holding its owner run, its
   * count and times, and the events of that batch in their own partition, named after the owner (so
   * each batch of the key is its own collection), sorted by arrival.
   */
  batchHead: (batchKey: string): Key => ({ pk: `BATCH#${batchKey}`, sk: 'OPEN' }),
  batchEvents: (owner: string): string => `BATCHEVENTS#${esc(owner)}`,
  batchEvent: (owner: string, at: number, runId: string): Key => ({ pk: runKeys.batchEvents(owner), sk: `${sortableTime(at)}#${esc(runId)}` }),
  /** A throttle step's counter for one key (a hash of the automation, the step and the scope's subject) and one fixed window. */
  throttle: (throttleKey: string, windowStart: number): Key => ({ pk: `RUNTHROTTLE#${throttleKey}`, sk: sortableTime(windowStart) }),
};

/** A stable shard in 0..15 from the id (FNV-1a), for write-spread collections. */
export const PROFILE_SHARDS = 16;
export function shardOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % PROFILE_SHARDS;
}

/** The table's key schema, read by the CDK app and by the local stack when it creates the table. */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  indexes: [{ name: GSI1, partitionKey: 'gsi1pk', sortKey: 'gsi1sk' }],
} as const;

/**
 * Bulk jobs: the job item (definition in `doc`; `status`, `received`, `enqueued`, `failures` and
 * the run's `requestId` as attributes, so counters change with UpdateItem ADD) and its users in the
 * same partition. A user's sort key is the time-sortable id of the call that added it, then its
 * position in that call, so a Query returns users in insertion order.
 */
export const bulkKeys = {
  job: (jobId: string): Key => ({ pk: `BULK#${esc(jobId)}`, sk: 'JOB' }),
  user: (jobId: string, chunkId: string, index: number): Key => ({ pk: `BULK#${esc(jobId)}`, sk: `USER#${chunkId}#${String(index).padStart(4, '0')}` }),
  usersPrefix: 'USER#',
};

/**
 * Audit events (lambdas/store/audit-events.ts). An event's id starts with the time it happened (9
 * base36 digits of epoch ms, then 12 random hex digits), and is its sort key, so ids sort by time.
 * The events are spread over AUDIT_SHARDS partitions by id, so the last writes of a busy admin
 * workload are not all on one partition's 1,000 writes a second; a newest-first page reads each
 * shard below the cursor and merges them (lambdas/domain/audit-events.ts).
 */
export const AUDIT_SHARDS = 4;
export const auditKeys = {
  event: (eventId: string): Key => ({ pk: auditKeys.shard(shardOf(eventId) % AUDIT_SHARDS), sk: eventId }),
  shard: (shard: number): string => `AUDIT#${shard}`,
  /** A new event id for an event at `at` (epoch ms), `random` being 12 hex digits. */
  newId: (at: number, random: string): string => `${sortableTime(at)}${random}`,
  /** The ids this store makes; anything else names no event. */
  idPattern: /^[0-9a-z]{9}[0-9a-f]{12}$/,
  /** The time (epoch ms) an event id was made at. */
  timeOf: (eventId: string): number => parseInt(eventId.slice(0, 9), 36),
};

/**
 * An `Idempotency-Key` record, by the SHA-256 of its scope (method, path) and the key: the key
 * itself is never stored. Expires through `ttl`.
 */
export const idempotencyRecordKey = (scopeHash: string): Key => ({ pk: `IDEMPOTENCY#${scopeHash}`, sk: 'IDEMPOTENCY' });
