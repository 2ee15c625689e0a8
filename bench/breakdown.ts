/**
 * Where the DynamoDB capacity goes: by operation, and by what was written or read. The usage
 * counters (lambdas/shared/usage.ts) add up requests and capacity; this observer, added by the
 * bench as a middleware on the shared client's stack (lambdas/shared/aws.ts), also looks at each
 * request's keys. It sits inside the usage counter, so it sees the `ReturnConsumedCapacity` that
 * counter asks for and the capacity DynamoDB reports.
 *
 * An item is named by its key prefixes: the partition key's first `#`-part, then the sort key's
 * (`REQUEST/MSG`, `INBOX/MSG`, `USER/PROFILE`, `OPEN/…` where the sort key starts with a time or
 * an id); a Query by its partition and its `begins_with` prefix, with the index name in front when
 * it reads one. A request over several items (batches, transactions) has its reported capacity
 * split evenly over them: DynamoDB reports one figure per table, not one per item.
 */
import { capacityOf, type CapacityLike } from '../lambdas/shared/usage';

interface Tally {
  requests: number;
  wru: number;
  rru: number;
}

export interface Breakdown {
  byOperation: Record<string, Tally>;
  byItem: Record<string, Tally>;
}

type Doc = Record<string, unknown>;

const fresh = (): Breakdown => ({ byOperation: {}, byItem: {} });
let current = fresh();
let on = false;

/** A key attribute's string, whether the input is a document or still marshalled ({ S: ... }). */
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { S?: unknown }).S === 'string' ? (v as { S: string }).S : undefined;

const part = (s: string | undefined): string => {
  if (s === undefined) return '*';
  const head = s.split('#')[0];
  return /^[A-Z][A-Z0-9_-]*$/.test(head) ? head : '…';
};

const itemName = (item: Doc | undefined): string => (item ? `${part(str(item.pk))}/${part(str(item.sk))}` : '?');

/** A Query's partition (and begins_with prefix), from its key condition. */
function queryName(input: Doc): string {
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as Doc;
  const expr = String(input.KeyConditionExpression ?? '');
  const resolve = (n: string) => names[n] ?? n;
  const index = typeof input.IndexName === 'string' ? input.IndexName : undefined;
  let partition: string | undefined;
  let prefix: string | undefined;
  for (const m of expr.matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    if (resolve(m[1]) === (index ? `${index}pk` : 'pk')) partition = str(values[m[2]]);
  }
  const begins = /begins_with\s*\(\s*[#\w]+\s*,\s*(:\w+)\s*\)/.exec(expr);
  if (begins) prefix = str(values[begins[1]]);
  return `${index ? `${index}:` : ''}${part(partition)}/${begins ? part(prefix) : '*'}`;
}

/** The items one request touches, named. */
function itemsOf(command: string, input: Doc): string[] {
  const tables = (input.RequestItems ?? {}) as Record<string, unknown>;
  switch (command) {
    case 'PutItem':
      return [itemName(input.Item as Doc)];
    case 'GetItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return [itemName(input.Key as Doc)];
    case 'Query':
    case 'Scan':
      return [queryName(input)];
    case 'BatchGetItem':
      return Object.values(tables).flatMap((t) => ((t as { Keys?: Doc[] }).Keys ?? []).map(itemName));
    case 'BatchWriteItem':
      return Object.values(tables).flatMap((t) =>
        (t as { PutRequest?: { Item: Doc }; DeleteRequest?: { Key: Doc } }[]).map((r) => itemName(r.PutRequest?.Item ?? r.DeleteRequest?.Key)),
      );
    case 'TransactWriteItems':
    case 'TransactGetItems':
      return ((input.TransactItems ?? []) as Record<string, { Item?: Doc; Key?: Doc }>[]).map((t) => {
        const op = Object.values(t)[0];
        return itemName(op?.Item ?? op?.Key);
      });
    default:
      return ['?'];
  }
}

const add = (m: Record<string, Tally>, k: string, t: Tally) => {
  const x = (m[k] ??= { requests: 0, wru: 0, rru: 0 });
  x.requests += t.requests;
  x.wru += t.wru;
  x.rru += t.rru;
};

function record(command: string, input: Doc, consumed: CapacityLike | CapacityLike[] | undefined): void {
  const { rcu: rru, wcu: wru } = capacityOf(command, consumed);
  add(current.byOperation, command, { requests: 1, wru, rru });
  const items = itemsOf(command, input);
  const share = 1 / Math.max(1, items.length);
  for (const name of items) add(current.byItem, name, { requests: share, wru: wru * share, rru: rru * share });
}

interface StackClient {
  middlewareStack: {
    add(
      mw: (
        next: (args: { input: unknown }) => Promise<{ output: unknown }>,
        context: { commandName?: string },
      ) => (args: { input: unknown }) => Promise<unknown>,
      opts: { step: 'initialize'; name: string },
    ): void;
  };
}

let installed = false;

/** Adds the observer to the shared DynamoDB client (once; after the local stack has set the environment). */
export function observeDynamo(): void {
  if (installed) return;
  installed = true;
  const { ddb } = require('../lambdas/shared/aws') as typeof import('../lambdas/shared/aws');
  (ddb as unknown as StackClient).middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (on) {
        const out = result.output as { ConsumedCapacity?: CapacityLike | CapacityLike[] };
        record((context.commandName ?? 'Unknown').replace(/Command$/, ''), args.input as Doc, out.ConsumedCapacity);
      }
      return result;
    },
    { step: 'initialize', name: 'benchBreakdown' },
  );
  on = true;
}

export const resetBreakdown = (): void => {
  current = fresh();
};

export const breakdownSnapshot = (): Breakdown => JSON.parse(JSON.stringify(current)) as Breakdown;

/** Per recipient (or per send), rounded, largest WRU first. */
export function perUnit(b: Breakdown, n: number): Breakdown {
  const scale = (m: Record<string, Tally>) =>
    Object.fromEntries(
      Object.entries(m)
        .sort((a, b) => b[1].wru - a[1].wru || b[1].rru - a[1].rru)
        .map(([k, t]) => [k, { requests: Number((t.requests / n).toFixed(4)), wru: Number((t.wru / n).toFixed(4)), rru: Number((t.rru / n).toFixed(4)) }]),
    );
  return { byOperation: scale(b.byOperation), byItem: scale(b.byItem) };
}
