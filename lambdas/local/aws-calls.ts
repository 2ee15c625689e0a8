import { AsyncLocalStorage } from 'node:async_hooks';
import { onAwsCall, type AwsCall } from '../shared/usage';

/**
 * The IAM side of AWS calls: which action on which resource each SDK call needs, as IAM authorises
 * it (a batch is authorised by its item action, a transaction by each item's action, a query on an
 * index by the index ARN). Used by the local runner to record what every function calls, and by
 * the tests that check those calls against each function's role in the synthesized template.
 */
export interface IamRequest {
  /** The function that made the call: its construct id (`Api-profiles`, `Worker-deliver`, ...). */
  fn: string;
  action: string;
  /** The resource ARN, or `*` for actions with no resource (SNS Publish to a phone number). */
  resource: string;
}

/** The account the ARNs are written for (the local stack's, or a template's resolved one). */
export interface ArnContext {
  account: string;
  /**
   * The WebSocket API the management API calls reach (its id and stage, as in
   * `https://<apiId>.execute-api.<region>.amazonaws.com/<stage>`): the local socket server's stand-in id.
   */
  socketApi?: { apiId: string; stage: string };
}

const tableArn = (c: ArnContext & { region: string }, name: string, index?: string) =>
  `arn:aws:dynamodb:${c.region}:${c.account}:table/${name}${index ? `/index/${index}` : ''}`;
/** The queue's name is the last segment of its URL (AWS, fauxqs and the recording gateway alike). */
export const queueName = (url: string) => url.slice(url.lastIndexOf('/') + 1);
const queueArn = (c: ArnContext & { region: string }, url: string) => `arn:aws:sqs:${c.region}:${c.account}:${queueName(url)}`;

const SQS_ACTIONS: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
};

const TRANSACT_WRITE: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' };

/** The (action, resource) pairs IAM evaluates for one call. */
export function iamRequestsOf(call: AwsCall, account: ArnContext): { action: string; resource: string }[] {
  const input = call.input;
  const c = { ...account, region: call.region };
  switch (call.service) {
    case 'dynamodb': {
      if (call.command === 'TransactWriteItems') {
        return (input.TransactItems as Record<string, { TableName: string }>[]).flatMap((item) =>
          Object.entries(item).map(([kind, op]) => ({ action: `dynamodb:${TRANSACT_WRITE[kind] ?? kind}`, resource: tableArn(c, op.TableName) })),
        );
      }
      if (call.command === 'TransactGetItems') {
        return (input.TransactItems as { Get: { TableName: string } }[]).map((item) => ({
          action: 'dynamodb:GetItem',
          resource: tableArn(c, item.Get.TableName),
        }));
      }
      if (call.command === 'BatchGetItem' || call.command === 'BatchWriteItem') {
        return Object.keys(input.RequestItems as object).map((table) => ({ action: `dynamodb:${call.command}`, resource: tableArn(c, table) }));
      }
      return [{ action: `dynamodb:${call.command}`, resource: tableArn(c, input.TableName as string, input.IndexName as string | undefined) }];
    }
    case 'sqs':
      return [{ action: `sqs:${SQS_ACTIONS[call.command] ?? call.command}`, resource: queueArn(c, input.QueueUrl as string) }];
    case 'sesv2': {
      const from = String(input.FromEmailAddress ?? '');
      const identity = from.slice(from.lastIndexOf('@') + 1).replace(/>$/, '');
      return [
        { action: 'ses:SendEmail', resource: `arn:aws:ses:${c.region}:${c.account}:identity/${identity}` },
        ...(input.ConfigurationSetName
          ? [{ action: 'ses:SendEmail', resource: `arn:aws:ses:${c.region}:${c.account}:configuration-set/${String(input.ConfigurationSetName)}` }]
          : []),
      ];
    }
    case 'sns':
      return [{ action: 'sns:Publish', resource: (input.TopicArn ?? input.TargetArn ?? '*') as string }];
    case 'apigatewaymanagementapi': {
      // execute-api:ManageConnections on `<api>/<stage>/<method>/@connections/<id>`: POST posts, DELETE closes, GET reads.
      const method = { PostToConnection: 'POST', DeleteConnection: 'DELETE', GetConnection: 'GET' }[call.command] ?? call.command;
      const api = c.socketApi ? `${c.socketApi.apiId}/${c.socketApi.stage}` : 'unknown-api/unknown-stage';
      return [
        {
          action: 'execute-api:ManageConnections',
          resource: `arn:aws:execute-api:${c.region}:${c.account}:${api}/${method}/@connections/${String(input.ConnectionId)}`,
        },
      ];
    }
    case 'ssm':
      return [{ action: `ssm:${call.command}`, resource: `arn:aws:ssm:${c.region}:${c.account}:parameter/${String(input.Name).replace(/^\//, '')}` }];
  }
}

/** Which function the current code runs as, in the local runner (one process serves them all). */
export const functionScope = new AsyncLocalStorage<string>();

/** Wraps a handler so that everything it does, awaited or not, runs as function `fn`. */
export function asFunction<A extends unknown[], R>(fn: string, handler: (...args: A) => R): (...args: A) => R {
  return (...args: A) => functionScope.run(fn, () => handler(...args));
}

export interface CallRecorder {
  /** Every distinct (function, action, resource) seen so far. */
  requests(): IamRequest[];
  stop(): void;
}

/**
 * Records the IAM requests of every AWS call made inside a function scope (calls made by the runner
 * itself or by a test, outside any function, are not a function's and are left out).
 */
export function recordCalls(c: ArnContext): CallRecorder {
  const seen = new Map<string, IamRequest>();
  const stop = onAwsCall((call) => {
    const fn = functionScope.getStore();
    if (!fn) return;
    for (const r of iamRequestsOf(call, c)) {
      const key = `${fn}|${r.action}|${r.resource}`;
      if (!seen.has(key)) seen.set(key, { fn, ...r });
    }
  });
  return { requests: () => [...seen.values()], stop };
}
