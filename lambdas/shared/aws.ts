import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { config } from './config';
import {
  batchGetMissedUnits,
  readFloorUnits,
  countingUsage,
  hasAwsCallListeners,
  notifyAwsCall,
  recordDynamo,
  recordSqs,
  type AwsCall,
  type CapacityLike,
} from './usage';

interface MiddlewareClient {
  config: { region: () => Promise<string> };
  middlewareStack: {
    add(
      mw: (next: (args: { input: unknown }) => Promise<unknown>, context: { commandName?: string }) => (args: { input: unknown }) => Promise<unknown>,
      opts: { step: 'initialize'; name: string },
    ): void;
  };
}

/** Reports each call of `client` to the AWS call listeners (lambdas/shared/usage.ts onAwsCall). */
export function observeCalls<C>(client: C, service: AwsCall['service']): C {
  const c = client as unknown as MiddlewareClient;
  c.middlewareStack.add(
    (next, context) => async (args) => {
      if (hasAwsCallListeners()) {
        const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        notifyAwsCall({ service, command, input: args.input as Record<string, unknown>, region: await c.config.region() });
      }
      return next(args);
    },
    { step: 'initialize', name: 'callObserver' },
  );
  return client;
}

/** Clients live at module scope so a warm function reuses their connections. */
const base = new DynamoDBClient({ region: config.AWS_REGION, endpoint: config.DYNAMODB_ENDPOINT });

base.middlewareStack.add(
  (next, context) => async (args) => {
    if (!countingUsage()) return next(args);
    const input = args.input as { ReturnConsumedCapacity?: string };
    input.ReturnConsumedCapacity ??= 'TOTAL';
    const result = await next(args);
    const out = result.output as { ConsumedCapacity?: CapacityLike | CapacityLike[] };
    const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
    const missed =
      command === 'BatchGetItem'
        ? batchGetMissedUnits(args.input as object, out as object)
        : readFloorUnits(command, args.input as object, out.ConsumedCapacity);
    recordDynamo(command, out.ConsumedCapacity, missed);
    return result;
  },
  { step: 'initialize', name: 'usageCounter' },
);

observeCalls(base, 'dynamodb');

export const ddb = DynamoDBDocumentClient.from(base, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
});

export const sqs = new SQSClient({
  region: config.AWS_REGION,
  endpoint: config.SQS_ENDPOINT,
  // fauxqs queue URLs name hosts like sqs.us-east-1.localhost that need not resolve here.
  ...(config.SQS_ENDPOINT ? { useQueueUrlAsEndpoint: false } : {}),
});

observeCalls(sqs, 'sqs');
sqs.middlewareStack.add(
  (next, context) => async (args) => {
    const result = await next(args);
    if (!countingUsage()) return result;
    const command = (context.commandName ?? 'Unknown').replace(/Command$/, '');
    const input = args.input as { MessageBody?: string; Entries?: { MessageBody?: string }[] };
    const bodies = input.MessageBody !== undefined ? [input.MessageBody] : (input.Entries ?? []).map((e) => e.MessageBody ?? '');
    const bytes = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0);
    const received = (result.output as { Messages?: unknown[] }).Messages?.length ?? 0;
    recordSqs(command, bytes, bodies.length || received);
    return result;
  },
  { step: 'initialize', name: 'usageCounter' },
);
