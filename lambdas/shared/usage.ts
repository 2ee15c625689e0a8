/**
 * Cost counters: while counting is on (the local stack turns it on; a deployed function never
 * does), every DynamoDB and SQS request made through the shared clients is recorded here, with the
 * capacity DynamoDB reports (ReturnConsumedCapacity, asked for only then) and the 64 KB chunks SQS
 * bills. Tests read them to assert access patterns (no Scan), benchmarks to price a send.
 */
export interface Usage {
  dynamodb: { requests: Record<string, number>; rcu: number; wcu: number };
  sqs: { requests: Record<string, number>; billedRequests: number; messages: number };
}

const fresh = (): Usage => ({
  dynamodb: { requests: {}, rcu: 0, wcu: 0 },
  sqs: { requests: {}, billedRequests: 0, messages: 0 },
});

let current = fresh();
let on = false;

/** Turns the counters on (the local stack, for tests and benchmarks). */
export function countUsage(): void {
  on = true;
}

export const countingUsage = (): boolean => on;

/** Command names in the order they were sent, for tests that assert access patterns. */
const log: string[] = [];
const LOG_LIMIT = 100_000;

export interface CapacityLike {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

const bump = (m: Record<string, number>, k: string, n = 1) => {
  m[k] = (m[k] ?? 0) + n;
};

/**
 * AWS bills a transactional write 2 write units per item and KB (a ConditionCheck too); the DynamoDB
 * Local we pin reports 1 (test/integration/transaction-capacity.test.ts pins that), so its figure
 * is doubled. Counting only ever runs against DynamoDB Local.
 */
const EMULATOR_TRANSACT_WRITE_FACTOR = 2;

/** The read and write units of one DynamoDB response, as AWS bills them (see EMULATOR_TRANSACT_WRITE_FACTOR). */
export function capacityOf(command: string, consumed: CapacityLike | CapacityLike[] | undefined): { rcu: number; wcu: number } {
  const factor = command === 'TransactWriteItems' ? EMULATOR_TRANSACT_WRITE_FACTOR : 1;
  let rcu = 0;
  let wcu = 0;
  for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
    const read = c.ReadCapacityUnits ?? 0;
    const write = c.WriteCapacityUnits ?? 0;
    // DynamoDB Local reports only CapacityUnits; attribute it by the command's kind.
    if (read || write) {
      rcu += read;
      wcu += write * factor;
    } else if (isWrite(command)) wcu += (c.CapacityUnits ?? 0) * factor;
    else rcu += c.CapacityUnits ?? 0;
  }
  return { rcu, wcu };
}

interface BatchGetShape {
  RequestItems?: Record<string, { Keys?: unknown[]; ConsistentRead?: boolean }>;
  Responses?: Record<string, unknown[]>;
  UnprocessedKeys?: Record<string, { Keys?: unknown[] }>;
}

/**
 * The read units of the keys a BatchGetItem asked for and did not find. AWS reads each key of a
 * batch as a GetItem, and a read of an item that does not exist still costs its minimum (half a unit
 * eventually consistent, one strongly); the DynamoDB Local we pin reports capacity only for the
 * items it found, so the counters add these.
 */
export function batchGetMissedUnits(input: BatchGetShape, output: BatchGetShape): number {
  let units = 0;
  for (const [table, request] of Object.entries(input.RequestItems ?? {})) {
    const missed = (request.Keys?.length ?? 0) - (output.Responses?.[table]?.length ?? 0) - (output.UnprocessedKeys?.[table]?.Keys?.length ?? 0);
    units += Math.max(0, missed) * (request.ConsistentRead ? 1 : 0.5);
  }
  return units;
}

/**
 * The read units AWS bills a GetItem, Query or Scan beyond what DynamoDB Local reported: each is at
 * least its minimum read (half a unit eventually consistent, one strongly) even when it finds
 * nothing, and the DynamoDB Local we pin reports 0 then (a Query of a user with no open socket,
 * a GetItem of a missing item), so the counters add the difference.
 */
export function readFloorUnits(command: string, input: { ConsistentRead?: boolean }, consumed: CapacityLike | CapacityLike[] | undefined): number {
  if (command !== 'GetItem' && command !== 'Query' && command !== 'Scan') return 0;
  const floor = input.ConsistentRead ? 1 : 0.5;
  return Math.max(0, floor - capacityOf(command, consumed).rcu);
}

export function recordDynamo(command: string, consumed: CapacityLike | CapacityLike[] | undefined, missedReadUnits = 0): void {
  bump(current.dynamodb.requests, command);
  if (log.length < LOG_LIMIT) log.push(command);
  const { rcu, wcu } = capacityOf(command, consumed);
  current.dynamodb.rcu += rcu + missedReadUnits;
  current.dynamodb.wcu += wcu;
}

const isWrite = (command: string) => /Put|Update|Delete|Write/.test(command);

/** SQS bills each 64 KB chunk of a request's payload as one request. */
export function recordSqs(command: string, payloadBytes: number, messages: number): void {
  bump(current.sqs.requests, command);
  if (log.length < LOG_LIMIT) log.push(`SQS.${command}`);
  current.sqs.billedRequests += Math.max(1, Math.ceil(payloadBytes / 65_536));
  current.sqs.messages += messages;
}

export function usageSnapshot(): Usage {
  return JSON.parse(JSON.stringify(current)) as Usage;
}

export function commandLog(): readonly string[] {
  return log;
}

export function resetUsage(): void {
  current = fresh();
  log.length = 0;
}

/** One AWS API call as the SDK is about to send it: the service, the command and its input. */
export interface AwsCall {
  service: 'dynamodb' | 'sqs' | 'sesv2' | 'sns' | 'ssm' | 'apigatewaymanagementapi';
  command: string;
  input: Record<string, unknown>;
  /** The region the client sends to. */
  region: string;
}

const callListeners = new Set<(call: AwsCall) => void>();

/**
 * Subscribes to every AWS call made through the instrumented clients (lambdas/shared/aws.ts, the
 * SES and SNS adapters). Nothing subscribes on AWS; the local runner records each call with the
 * function it ran as, for the IAM check. Returns the unsubscribe function.
 */
export function onAwsCall(listener: (call: AwsCall) => void): () => void {
  callListeners.add(listener);
  return () => callListeners.delete(listener);
}

export const hasAwsCallListeners = (): boolean => callListeners.size > 0;

export function notifyAwsCall(call: AwsCall): void {
  for (const l of callListeners) l(call);
}
