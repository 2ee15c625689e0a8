/**
 * Reads of a request's own state for the tests of issue 11: its record (fan-out progress and
 * log) and the sweeper's open markers. The store modules are loaded at call time, after the local
 * stack has set the table's configuration.
 */
type Messages = typeof import('../../lambdas/store/messages');
type Keys = typeof import('../../lambdas/store/keys');

const messages = () => require('../../lambdas/store/messages') as Messages;

export const getRequest = (requestId: string) => messages().getRequest(requestId);

/** Every open marker in the table: request id and sort key, whenever it is due. */
export async function openMarkers(): Promise<{ requestId: string; sk: string }[]> {
  const { OPEN_SHARDS } = require('../../lambdas/store/keys') as Keys;
  const { now } = require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock');
  const all = await Promise.all(Array.from({ length: OPEN_SHARDS }, (_, shard) => messages().openRequestsDue(shard, now() + 365 * 86_400_000, 100_000)));
  return all.flat();
}

/** The request's open marker still exists (the sweeper has not closed it). */
export async function isOpen(requestId: string): Promise<boolean> {
  return (await openMarkers()).some((o) => o.requestId === requestId);
}
