import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type {
  DeleteCommand,
  DeleteCommandOutput,
  PutCommand,
  PutCommandOutput,
  TransactWriteCommand,
  TransactWriteCommandOutput,
  UpdateCommand,
  UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { ddb } from '../shared/aws';
import { ConflictError, isContention } from '../shared/errors';

/**
 * Conditional writes and optimistic concurrency, in one place. A write DynamoDB refuses is either a
 * failed condition (the item is not as the caller expected: an answer, `false`) or contention
 * (another transaction held the same items: a retryable ConflictError, which `retryOnConflict`
 * re-runs and an HTTP handler answers as a 409 with `x-should-retry: true`). Any other error is
 * rethrown as it is.
 */

/** Why DynamoDB refused a write: a condition failed, or another write contended for the same items; undefined for any other error. */
export function refusal(e: unknown): 'condition' | 'contention' | undefined {
  const name = (e as { name?: string } | undefined)?.name;
  if (e instanceof ConditionalCheckFailedException || name === 'ConditionalCheckFailedException') return 'condition';
  if (name === 'TransactionConflictException') return 'contention';
  if (name !== 'TransactionCanceledException') return undefined;
  const codes = ((e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((r) => r.Code ?? 'None');
  if (codes.includes('ConditionalCheckFailed')) return 'condition';
  if (codes.includes('TransactionConflict')) return 'contention';
  return undefined;
}

type WriteCommand = PutCommand | UpdateCommand | DeleteCommand | TransactWriteCommand;
type OutputOf<C extends WriteCommand> = C extends PutCommand
  ? PutCommandOutput
  : C extends UpdateCommand
    ? UpdateCommandOutput
    : C extends DeleteCommand
      ? DeleteCommandOutput
      : TransactWriteCommandOutput;

/** Sends a conditional write: its output when written, undefined when a condition failed; contention is a retryable ConflictError. */
export async function conditionalWrite<C extends WriteCommand>(cmd: C): Promise<OutputOf<C> | undefined> {
  try {
    return (await ddb.send(cmd as PutCommand)) as OutputOf<C>;
  } catch (e) {
    const why = refusal(e);
    if (why === 'condition') return undefined;
    if (why === 'contention') throw new ConflictError('Another request was changing the same data at the same time; try again', true);
    throw e;
  }
}

/** Sends a conditional write: true when written, false when a condition failed; contention is a retryable ConflictError. */
export async function conditional(cmd: WriteCommand): Promise<boolean> {
  return (await conditionalWrite(cmd)) !== undefined;
}

export interface RetryOptions {
  /** Runs of `fn` at most, the first included. */
  attempts: number;
  /** Milliseconds to wait before run `attempt` + 1 (default: jittered exponential, 10 ms doubling up to 500 ms). */
  backoffMs?: (attempt: number) => number;
}

/** The wait before another round after contention: doubling from 10 ms up to 500 ms, jittered. */
export const jittered = (attempt: number): number => Math.min(500, 10 * 2 ** attempt) * (0.5 + Math.random());

/**
 * Runs `fn` (given its run's index, from 0) and runs it again while it throws contention (a
 * retryable ConflictError), at most `attempts` times; then rethrows that last ConflictError. Any
 * other error ends it at once. `fn` re-reads what it decides from: a lost race is a fresh look.
 */
export async function retryOnConflict<T>(fn: (attempt: number) => Promise<T>, { attempts, backoffMs = jittered }: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!isContention(e) || attempt + 1 >= attempts) throw e;
    }
    const wait = backoffMs(attempt);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

/**
 * Optimistic concurrency, one scheme for every item: each write gives the item a fresh `rev`
 * (`newRev()`), and a write decided from a read is conditional on what was read (`Expected`): the
 * item absent, present whatever its revision, or present with the `rev` read (null: an item written
 * before it had one). See docs/decisions.md D11.
 */
export type Expected = 'absent' | 'present' | { rev: string | null };

export const newRev = (): string => crypto.randomUUID();

/** An item's revision as read (null: written before it had one). */
export const revOf = (item: { rev?: unknown }): string | null => (typeof item.rev === 'string' ? item.rev : null);

/** What a write made from this read expects: absent when nothing was read, else the revision read. */
export const expectedOf = (item: { rev?: unknown } | undefined): Expected => (item ? { rev: revOf(item) } : 'absent');

export interface ConditionParts {
  ConditionExpression: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

/** The condition of a write expecting `expected` (placeholders `#rev` and `:rev`, free for the write's own). */
export function expectation(expected: Expected): ConditionParts {
  if (expected === 'absent') return { ConditionExpression: 'attribute_not_exists(pk)' };
  if (expected === 'present') return { ConditionExpression: 'attribute_exists(pk)' };
  if (expected.rev === null) return { ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#rev)', ExpressionAttributeNames: { '#rev': 'rev' } };
  return { ConditionExpression: '#rev = :rev', ExpressionAttributeNames: { '#rev': 'rev' }, ExpressionAttributeValues: { ':rev': expected.rev } };
}

/** The condition of a write expecting `expected`, with the write's own placeholders merged in. */
export function withExpectation(expected: Expected, names: Record<string, string> = {}, values: Record<string, unknown> = {}): ConditionParts {
  const condition = expectation(expected);
  const allValues = { ...values, ...condition.ExpressionAttributeValues };
  return {
    ConditionExpression: condition.ConditionExpression,
    ExpressionAttributeNames: { ...names, ...condition.ExpressionAttributeNames },
    ...(Object.keys(allValues).length ? { ExpressionAttributeValues: allValues } : {}),
  };
}

/** The contention a read-modify-write reports when its conditional write found the item changed since the read. */
export const changed = (what: string): ConflictError => new ConflictError(`${what} kept changing; try again`, true);
