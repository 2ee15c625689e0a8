import { Validations, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { NotificationsStack } from './stack';
import { API_GROUPS, functionIds, SOCKET } from '../lambdas/shared/topology';

/**
 * Every cdk-nag finding (AwsSolutions and ServerlessChecks packs) this app accepts, each with its
 * reason and on the narrowest construct it concerns. Anything not listed here fails `cdk synth`
 * and the CDK tests.
 */
export function acknowledgeNagFindings(stack: NotificationsStack): void {
  const ack = (scope: IConstruct, id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });

  // --- the API -------------------------------------------------------------------------------
  const api = stack.api.api;
  ack(
    api,
    'AwsSolutions-APIG4',
    "Courier's API authenticates with `Authorization: Bearer <api key>`. Every API function checks the key's SHA-256 " +
      'against the hashed, revocable keys in the table before doing anything (lambdas/shared/middleware.ts apiKeyAuth), ' +
      'uncached so a revoked key is refused at once; end-user routes accept only a signed user token; GET /health, and the 404 for a path ' +
      'no route serves, are public by design and touch no data.',
  );
  if (stack.options.api === 'rest') {
    ack(api, 'AwsSolutions-COG4', 'No Cognito user pool: callers are API keys and user tokens checked by the functions (see AwsSolutions-APIG4).');
    ack(
      api,
      'AwsSolutions-APIG2',
      'Every body, path and query is validated by the functions with zod (a 400 naming the field); an API Gateway model would duplicate those schemas and disagree with them.',
    );
    ack(
      api,
      'AwsSolutions-APIG3',
      'A WAF web ACL costs at least US$ 5 a month plus per request; throttling is on the stage, and teams that need WAF attach their own ACL to the stage.',
    );
    if (!stack.options.tracing)
      ack(
        api,
        'Serverless-APIGWXrayEnabled',
        'X-Ray tracing is opt-in (`-c tracing=true`, which also traces the stage): traces are billed past the free tier.',
      );
    ack(
      api,
      'AwsSolutions-APIG6',
      "Execution logging needs API Gateway's account-wide CloudWatch role, shared by every API in the account; JSON access logs are on, and the functions log each error.",
    );
  }

  // --- the realtime inbox socket ------------------------------------------------------------
  const socket = stack.socket;
  ack(
    socket.api,
    'AwsSolutions-APIG4',
    "The socket's `$connect` route is where courier-js presents its user token (`?auth=<jwt>`): the socket function verifies it as the inbox routes do " +
      '(signature, expiry, revocation, scopes) and answers 401 or 403, which fails the handshake; `$default` and `$disconnect` serve only connections it accepted.',
  );
  const socketFn = stack.functions[functionIds.socket(SOCKET.name)];
  ack(
    socketFn,
    'Serverless-LambdaDLQ',
    "Invoked synchronously by the WebSocket API: a failure is the client's refused handshake or the answer it gets; a dead-letter target only applies to asynchronous invocations.",
  );
  for (const id of ['AwsSolutions-APIG1', 'Serverless-APIGWAccessLogging'])
    ack(
      socket.stage,
      id,
      "A WebSocket stage's access logs need API Gateway's account-wide CloudWatch role, shared by every API in the account; the socket function logs each connection it accepts or refuses and each error.",
    );
  const apiId = stack.getLogicalId(socket.api.node.defaultChild as CfnElement);
  const pushers = [socketFn, stack.workers.deliver, ...API_GROUPS.filter((g) => g.pushes).map((g) => stack.functions[functionIds.api(g.module)])];
  for (const fn of pushers)
    ack(
      fn,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiId}>/${SOCKET.stage}/*/@connections/*]`,
      "execute-api:ManageConnections is authorised per connection id, which API Gateway makes when a client connects; the statement names this API's one stage.",
    );

  // --- functions -----------------------------------------------------------------------------
  const apiFunctions = Object.entries(stack.functions).filter(([name]) => name.startsWith('Api-'));
  for (const [, fn] of apiFunctions) {
    ack(
      fn,
      'Serverless-LambdaDLQ',
      'Invoked synchronously by API Gateway: a failure is the HTTP response the caller sees; a dead-letter target only applies to asynchronous invocations.',
    );
  }
  for (const [name, worker] of Object.entries(stack.workers)) {
    if (name === 'sweeper') continue;
    ack(
      worker,
      'Serverless-LambdaDLQ',
      "Invoked synchronously by its SQS event source: a record that keeps failing moves to the queue's own dead-letter queue (redrive policy), which is alarmed.",
    );
    ack(
      worker,
      'Serverless-LambdaEventSourceMappingDestination',
      "SQS event sources have no on-failure destination (only stream and Kafka sources do); failed records go to the queue's dead-letter queue through its redrive policy, which is alarmed.",
    );
  }
  const sweeper = stack.workers.sweeper;
  const sweepReason =
    'Invoked by EventBridge every minute to re-drive unfinished work from the table; a failed or late tick is worth nothing because the next one repeats it, ' +
    'so it is not retried (retryAttempts 0, maxEventAge one minute) and not kept; its errors and throttles are alarmed.';
  ack(sweeper, 'Serverless-LambdaDLQ', sweepReason);
  ack(sweeper, 'Serverless-LambdaAsyncFailureDestination', sweepReason);
  ack(stack.node.findChild('Every-sweeper'), 'Serverless-EventBusDLQ', sweepReason);
  if (!stack.options.tracing) {
    for (const fn of Object.values(stack.functions)) {
      ack(
        fn,
        'Serverless-LambdaTracing',
        'X-Ray tracing is opt-in (`-c tracing=true`): traces are billed past the free tier, and every function writes structured JSON logs with its request id.',
      );
    }
  } else {
    for (const fn of Object.values(stack.functions)) {
      ack(
        fn,
        'AwsSolutions-IAM5[Resource::*]',
        'xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing) have no resource-level permissions.',
      );
    }
  }

  // --- queues --------------------------------------------------------------------------------
  for (const q of Object.values(stack.queues)) {
    ack(
      q.dlq,
      'Serverless-SQSRedrivePolicy',
      'This is a dead-letter queue (the end of the redrive chain); `npm run dlq -- redrive` moves its messages back to the work queue.',
    );
  }

  // --- alarms ----------------------------------------------------------------------------------
  if (stack.operations && stack.options.alarmEmail) {
    ack(
      stack.operations.topic,
      'Serverless-SNSRedrivePolicy',
      'An email subscription: SNS retries email delivery itself, and an alarm notification that never arrives is still visible as the alarm state in CloudWatch.',
    );
  }

  // --- provider grants of the delivery worker and of the send API (it delivers single sends) ---
  for (const fn of [stack.workers.deliver, stack.functions[functionIds.api('send')]]) {
    ack(fn, 'AwsSolutions-IAM5[Resource::*]', 'sns:Publish to a phone number (SMS) has no resource ARN to scope it to; the statement allows only sns:Publish.');
    for (const kind of ['identity', 'configuration-set']) {
      ack(
        fn,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:*:<AWS::AccountId>:${kind}/*]`,
        `ses:SendEmail is authorised per sending ${kind}; which verified identities a workspace sends from, and in which region, is configured at run time through /providers.`,
      );
    }
  }
}
