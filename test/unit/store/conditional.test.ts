/**
 * The conditional-write primitives (issue 12, item 1): how a refused write is classified, and how
 * retryOnConflict re-runs contention and nothing else.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { changed, expectation, expectedOf, refusal, retryOnConflict, withExpectation, type Expected } from '../../../lambdas/store/conditional';
import { ConflictError, isContention } from '../../../lambdas/shared/errors';

const named = (name: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(name), { name, ...extra });
const cancelled = (...codes: (string | undefined)[]) => named('TransactionCanceledException', { CancellationReasons: codes.map((Code) => ({ Code })) });

describe('refusal', () => {
  it.each<[string, unknown, ReturnType<typeof refusal>]>([
    ['the SDK exception', new ConditionalCheckFailedException({ message: 'no', $metadata: {} }), 'condition'],
    ['a ConditionalCheckFailedException by name', named('ConditionalCheckFailedException'), 'condition'],
    ['a transaction cancelled for a condition', cancelled('None', 'ConditionalCheckFailed'), 'condition'],
    ['a condition and a conflict: the condition decides', cancelled('TransactionConflict', 'ConditionalCheckFailed'), 'condition'],
    ['a transaction cancelled for a conflict', cancelled('None', 'TransactionConflict'), 'contention'],
    ['a TransactionConflictException', named('TransactionConflictException'), 'contention'],
    ['a transaction cancelled for throttling', cancelled('ThrottlingError', 'None'), undefined],
    ['a transaction cancelled without reasons', named('TransactionCanceledException'), undefined],
    ['a validation error', named('ValidationException'), undefined],
    ['a plain Error', new Error('boom'), undefined],
    ['not an error', undefined, undefined],
  ])('%s', (_, error, expected) => {
    expect(refusal(error)).toBe(expected);
  });
});

describe('retryOnConflict', () => {
  const noWait = { backoffMs: () => 0 };

  it.each<[string, number, number, 'ok' | 'conflict']>([
    ['succeeds at once', 3, 0, 'ok'],
    ['succeeds on the last attempt', 3, 2, 'ok'],
    ['gives up after the attempts', 3, 3, 'conflict'],
    ['one attempt never retries', 1, 1, 'conflict'],
    ['ten attempts', 10, 9, 'ok'],
  ])('%s (attempts %i, %i conflicts first)', async (_, attempts, conflicts, outcome) => {
    const runs: number[] = [];
    const run = retryOnConflict(
      async (attempt) => {
        runs.push(attempt);
        if (attempt < conflicts) throw changed(`thing ${attempt}`);
        return 'done';
      },
      { attempts, ...noWait },
    );
    if (outcome === 'ok') await expect(run).resolves.toBe('done');
    else {
      // The last conflict itself surfaces: retryable, a 409.
      const error = await run.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(isContention(error)).toBe(true);
      expect((error as ConflictError).message).toBe(`thing ${attempts - 1} kept changing; try again`);
      expect((error as ConflictError).status).toBe(409);
      expect((error as ConflictError).headers['x-should-retry']).toBe('true');
    }
    expect(runs).toEqual([...Array(Math.min(attempts, conflicts + 1)).keys()]);
  });

  it.each<[string, unknown]>([
    ['a semantic (not retryable) 409', new ConflictError('already exists')],
    ['any other error', new Error('boom')],
  ])('never retries %s', async (_, error) => {
    let runs = 0;
    await expect(
      retryOnConflict(
        () => {
          runs++;
          return Promise.reject(error);
        },
        { attempts: 5, ...noWait },
      ),
    ).rejects.toBe(error);
    expect(runs).toBe(1);
  });

  it('waits the backoff between runs, not after the last', async () => {
    const waits: number[] = [];
    await expect(
      retryOnConflict(() => Promise.reject(changed('x')), {
        attempts: 3,
        backoffMs: (attempt) => {
          waits.push(attempt);
          return 1;
        },
      }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(waits).toEqual([0, 1]);
  });
});

describe('expectation: one optimistic-concurrency scheme', () => {
  it.each<[string, Expected, ReturnType<typeof expectation>]>([
    ['absent', 'absent', { ConditionExpression: 'attribute_not_exists(pk)' }],
    ['present, whatever its revision', 'present', { ConditionExpression: 'attribute_exists(pk)' }],
    [
      'at a revision',
      { rev: 'r1' },
      { ConditionExpression: '#rev = :rev', ExpressionAttributeNames: { '#rev': 'rev' }, ExpressionAttributeValues: { ':rev': 'r1' } },
    ],
    [
      'present, written before revisions',
      { rev: null },
      { ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#rev)', ExpressionAttributeNames: { '#rev': 'rev' } },
    ],
  ])('%s', (_, expected, condition) => {
    expect(expectation(expected)).toEqual(condition);
  });

  it.each<[string, { rev?: unknown } | undefined, Expected]>([
    ['nothing read', undefined, 'absent'],
    ['an item with a revision', { rev: 'r1' }, { rev: 'r1' }],
    ['an item without one', {}, { rev: null }],
    ['an item with a numeric version only', { v: 3 } as { rev?: unknown }, { rev: null }],
  ])('expectedOf %s', (_, item, expected) => {
    expect(expectedOf(item)).toEqual(expected);
  });

  it("merges the write's own placeholders", () => {
    expect(withExpectation({ rev: 'r1' }, { '#doc': 'doc' }, { ':doc': '{}' })).toEqual({
      ConditionExpression: '#rev = :rev',
      ExpressionAttributeNames: { '#doc': 'doc', '#rev': 'rev' },
      ExpressionAttributeValues: { ':doc': '{}', ':rev': 'r1' },
    });
    expect(withExpectation('present', { '#a': 'a' })).toEqual({ ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeNames: { '#a': 'a' } });
  });
});
