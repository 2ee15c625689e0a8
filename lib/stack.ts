import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { API_GROUPS, functionIds, QUEUES, queueUrlEnv, SCHEDULED, SOCKET, type QueueName } from '../lambdas/shared/topology';
import { NotificationsApi, type ApiRouteGroup } from './api';
import { AppFunction } from './function';
import { Operations } from './operations';
import type { DeployOptions } from './options';
import { WorkQueue } from './queues';
import { InboxSocket } from './socket';
import { NotificationsTable } from './table';
import { configSchema, parseConfig } from '../lambdas/shared/settings';

export interface NotificationsStackProps extends StackProps {
  /**
   * The deployment's options (lib/options.ts). Its workspace `settings` go to every function as
   * environment, checked against the functions' own configuration schema at synth, so a bad value
   * fails `cdk synth`.
   */
  options: DeployOptions;
}

/** Settings the stack itself provides; the rest of the configuration schema is the user's. */
const STACK_OWNED = [
  'TABLE_NAME',
  'AWS_REGION',
  'FANOUT_QUEUE_URL',
  'DELIVERY_QUEUE_URL',
  'DYNAMODB_ENDPOINT',
  'SQS_ENDPOINT',
  'LOCAL_SMTP_URL',
  'LOCAL_CAPTURE_URL',
  'WEBSOCKET_MANAGEMENT_URL',
  // Tests only (an origin SNS signing certificates may come from): never deployed.
  'SNS_TEST_CERT_ORIGIN',
];

/** Settings that hold secrets: never in a template (and so in every function's environment). */
const SECRETS: Record<string, string> = {
  USER_TOKEN_SECRET: 'store the secret in SSM Parameter Store as a SecureString and pass its name as USER_TOKEN_SECRET_PARAMETER',
  SEGMENT_SHARED_SECRET: 'store the secret in SSM Parameter Store as a SecureString and pass its name as SEGMENT_SHARED_SECRET_PARAMETER',
  RUDDERSTACK_SHARED_SECRET: 'store the secret in SSM Parameter Store as a SecureString and pass its name as RUDDERSTACK_SHARED_SECRET_PARAMETER',
  SENDGRID_WEBHOOK_VERIFICATION_KEY:
    'store the secret in SSM Parameter Store as a SecureString and pass its name as SENDGRID_WEBHOOK_VERIFICATION_KEY_PARAMETER',
  MAILGUN_WEBHOOK_SIGNING_KEY: 'store the secret in SSM Parameter Store as a SecureString and pass its name as MAILGUN_WEBHOOK_SIGNING_KEY_PARAMETER',
  POSTMARK_WEBHOOK_CREDENTIALS: 'store the secret in SSM Parameter Store as a SecureString and pass its name as POSTMARK_WEBHOOK_CREDENTIALS_PARAMETER',
  TWILIO_AUTH_TOKEN: 'store the secret in SSM Parameter Store as a SecureString and pass its name as TWILIO_AUTH_TOKEN_PARAMETER',
  VONAGE_SIGNATURE_SECRET: 'store the secret in SSM Parameter Store as a SecureString and pass its name as VONAGE_SIGNATURE_SECRET_PARAMETER',
};

function checkSettings(settings: Record<string, string>): Record<string, string> {
  for (const name of Object.keys(settings).filter((k) => SECRETS[k])) {
    throw new Error(`settings: ${name} would be written into the template and every function's environment; ${SECRETS[name]}`);
  }
  const known = Object.keys(configSchema.shape).filter((k) => !STACK_OWNED.includes(k));
  const unknown = Object.keys(settings).filter((k) => !known.includes(k));
  if (unknown.length) throw new Error(`settings: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);
  parseConfig({ TABLE_NAME: 'synth', ...settings });
  return settings;
}

/**
 * What the provider adapters call on AWS (from the delivery worker, and from the send API, which
 * delivers a single send due at once itself): SES (email) on the account's verified
 * identities and configuration sets, and SNS Publish to phone numbers (SMS), which has no resource
 * ARN to scope to (lib/nag.ts carries the acknowledgement).
 */
export const SMS_PUBLISH_SID = 'SmsPublishToPhoneNumbers';
/** The SQS actions Lambda's event source needs from the worker's role to poll its queue. */
export const EVENT_SOURCE_SID = 'QueueEventSource';
export const EVENT_SOURCE_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];
function grantProviders(fn: AppFunction): void {
  fn.fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['ses:SendEmail'],
      // Any region: an SES provider names its own (`settings.region`), SES identities are regional.
      // Pseudo parameters, not the synth-time account: the ARN (and the acknowledgement in
      // lib/nag.ts that names it) stays the same whatever CDK_DEFAULT_ACCOUNT the CLI set.
      resources: ['identity', 'configuration-set'].map((kind) => `arn:${Aws.PARTITION}:ses:*:${Aws.ACCOUNT_ID}:${kind}/*`),
    }),
  );
  fn.fn.addToRolePolicy(new PolicyStatement({ sid: SMS_PUBLISH_SID, actions: ['sns:Publish'], resources: ['*'] }));
}

/**
 * Lets a function read a secret (the user-token secret, an inbound webhook's) from SSM Parameter Store. With the AWS managed key
 * (aws/ssm) that is all it needs; a SecureString under your own KMS key also needs kms:Decrypt.
 */
function grantTokenSecret(fn: AppFunction, name: string): void {
  const parameter = `arn:${Aws.PARTITION}:ssm:${Aws.REGION}:${Aws.ACCOUNT_ID}:parameter/${name.replace(/^\//, '')}`;
  fn.fn.addToRolePolicy(new PolicyStatement({ actions: ['ssm:GetParameter'], resources: [parameter] }));
}

/** What every function of the stack shares: the table, the workspace settings, logs and tracing. */
type FunctionCommon = { table: NotificationsTable; environment: Record<string, string>; logRetention: RetentionDays; tracing: boolean };

/**
 * The whole product: one table, the fan-out and delivery queues (each with a DLQ), an API with one
 * function per resource group, the two queue workers, the sweeper, and the alarms.
 */
export class NotificationsStack extends Stack {
  readonly api: NotificationsApi;
  /** The realtime inbox socket (a WebSocket API). */
  readonly socket: InboxSocket;
  readonly table: NotificationsTable;
  readonly queues: Record<QueueName, WorkQueue>;
  readonly workers: Record<string, AppFunction> = {};
  /** Every function by its id (lambdas/shared/topology.ts functionIds). */
  readonly functions: Record<string, AppFunction> = {};
  readonly operations?: Operations;
  readonly options: DeployOptions;

  constructor(scope: Construct, id: string, props: NotificationsStackProps) {
    super(scope, id, props);
    const o = (this.options = props.options);
    const settings = checkSettings(o.settings);
    this.table = new NotificationsTable(this, 'Data', { removalPolicy: o.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN });
    const common: FunctionCommon = { table: this.table, environment: settings, logRetention: retention(o.logRetentionDays), tracing: o.tracing };
    this.queues = {
      fanout: new WorkQueue(this, 'Fanout', QUEUES.fanout),
      delivery: new WorkQueue(this, 'Delivery', QUEUES.delivery),
      webhooks: new WorkQueue(this, 'Webhooks', QUEUES.webhooks),
    };
    this.api = this.addApi(o, common, settings);
    this.addQueueWorkers(o, common);
    this.socket = this.addSocket(o, common, settings);
    this.addScheduled(common);
    if (o.alarms) this.operations = this.addAlarms(o);
    this.addOutputs(id);
  }

  /** One function per API resource group (lambdas/shared/topology.ts API_GROUPS), behind the API. */
  private addApi(o: DeployOptions, common: FunctionCommon, settings: Record<string, string>): NotificationsApi {
    const routes: ApiRouteGroup[] = [];
    for (const group of API_GROUPS) {
      const fn = new AppFunction(this, functionIds.api(group.module), { ...common, entry: `lambdas/http/${group.module}.ts` });
      this.functions[functionIds.api(group.module)] = fn;
      fn.bindTable(group.table);
      if (group.signsTokens && settings.USER_TOKEN_SECRET_PARAMETER) grantTokenSecret(fn, settings.USER_TOKEN_SECRET_PARAMETER);
      for (const setting of group.secretParameters ?? []) if (settings[setting]) grantTokenSecret(fn, settings[setting]);
      if (group.delivers) grantProviders(fn);
      for (const name of group.queues ?? []) fn.bindQueue(queueUrlEnv(name), this.queues[name].queue);
      routes.push({ segments: group.segments, fn: fn.fn, public: group.public, subpaths: group.subpaths, unmatched: group.unmatched });
    }
    const api = new NotificationsApi(this, 'Api', {
      kind: o.api,
      groups: routes,
      rateLimit: o.apiRateLimit,
      burstLimit: o.apiBurstLimit,
      logRetention: retention(o.logRetentionDays),
      tracing: o.tracing,
      corsOrigins: parseConfig({ TABLE_NAME: 'synth', ...settings }).CORS_ALLOWED_ORIGINS,
    });
    // Functions that deliver put tracking links to the API in what they send (docs/decisions.md D22).
    for (const group of API_GROUPS.filter((g) => g.delivers)) this.setApiUrl(this.functions[functionIds.api(group.module)], api, settings);
    return api;
  }

  /** API_URL, where tracking links point: the API's own URL unless the settings name one (a custom domain). */
  private setApiUrl(fn: AppFunction, api: NotificationsApi, settings: Record<string, string>): void {
    if (settings.API_URL === undefined) fn.fn.addEnvironment('API_URL', api.url);
  }

  /** The fan-out and delivery workers, each fed by its queue. */
  private addQueueWorkers(o: DeployOptions, common: FunctionCommon): void {
    const maxConcurrency: Record<QueueName, number> = {
      fanout: o.fanoutMaxConcurrency,
      delivery: o.deliveryMaxConcurrency,
      webhooks: o.webhooksMaxConcurrency,
    };
    for (const [name, spec] of Object.entries(QUEUES) as [QueueName, (typeof QUEUES)[QueueName]][]) {
      const worker = new AppFunction(this, functionIds.worker(spec.worker), {
        ...common,
        entry: `lambdas/workers/${spec.worker}.ts`,
        timeout: Duration.seconds(spec.timeoutSeconds),
        memorySize: spec.memoryMB,
      }).bindTable(spec.table);
      this.workers[spec.worker] = worker;
      this.functions[functionIds.worker(spec.worker)] = worker;
      for (const target of spec.sendsTo) worker.bindQueue(queueUrlEnv(target), this.queues[target].queue);
      if (spec.worker === 'deliver') {
        grantProviders(worker);
        // It signs tracking links with a key derived from the user-token secret.
        if (o.settings.USER_TOKEN_SECRET_PARAMETER) grantTokenSecret(worker, o.settings.USER_TOKEN_SECRET_PARAMETER);
        this.setApiUrl(worker, this.api, o.settings);
      }
      // The event source polls with the function's role: exactly what AWS requires for SQS
      // (CDK's SqsEventSource would also grant ChangeMessageVisibility and GetQueueUrl).
      const queue = this.queues[name].queue;
      worker.fn.addToRolePolicy(new PolicyStatement({ sid: EVENT_SOURCE_SID, actions: EVENT_SOURCE_ACTIONS, resources: [queue.queueArn] }));
      worker.fn.addEventSourceMapping('Queue', {
        eventSourceArn: queue.queueArn,
        batchSize: spec.batchSize,
        reportBatchItemFailures: true,
        maxBatchingWindow: Duration.seconds(1),
        maxConcurrency: maxConcurrency[name],
      });
    }
  }

  /**
   * The realtime inbox socket: its function (topology SOCKET) behind a WebSocket API, and the push
   * grant (management URL, execute-api:ManageConnections) for it and every function that pushes.
   */
  private addSocket(o: DeployOptions, common: FunctionCommon, settings: Record<string, string>): InboxSocket {
    const id = functionIds.socket(SOCKET.name);
    const fn = new AppFunction(this, id, {
      ...common,
      entry: `lambdas/http/${SOCKET.module}.ts`,
      timeout: Duration.seconds(SOCKET.timeoutSeconds),
      memorySize: SOCKET.memoryMB,
    }).bindTable(SOCKET.table);
    this.functions[id] = fn;
    // It verifies user tokens.
    if (settings.USER_TOKEN_SECRET_PARAMETER) grantTokenSecret(fn, settings.USER_TOKEN_SECRET_PARAMETER);
    // The same stage limits as the API's.
    const socket = new InboxSocket(this, 'InboxSocket', { fn: fn.fn, rateLimit: o.apiRateLimit, burstLimit: o.apiBurstLimit });
    const pushers = [
      fn,
      ...API_GROUPS.filter((g) => g.pushes).map((g) => this.functions[functionIds.api(g.module)]),
      ...Object.values(QUEUES)
        .filter((q) => 'pushes' in q && q.pushes)
        .map((q) => this.functions[functionIds.worker(q.worker)]),
    ];
    for (const f of pushers) socket.grantPush(f.fn);
    return socket;
  }

  /** The scheduled functions (the sweeper), each on its EventBridge rule. */
  private addScheduled(common: FunctionCommon): void {
    for (const spec of SCHEDULED) {
      const fn = new AppFunction(this, functionIds.scheduled(spec.worker), {
        ...common,
        entry: `lambdas/workers/${spec.worker}.ts`,
        timeout: Duration.seconds(spec.timeoutSeconds),
        // EventBridge invokes it asynchronously: a failed or late tick is worth nothing, the next
        // one comes a minute later (lib/nag.ts explains why there is no dead-letter target).
        retryAttempts: 0,
        maxEventAge: Duration.seconds(spec.everyMinutes * 60),
      }).bindTable(spec.table);
      this.workers[spec.worker] = fn;
      this.functions[functionIds.scheduled(spec.worker)] = fn;
      for (const target of spec.sendsTo) fn.bindQueue(queueUrlEnv(target), this.queues[target].queue);
      new Rule(this, `Every-${spec.worker}`, {
        schedule: Schedule.rate(Duration.minutes(spec.everyMinutes)),
        targets: [new LambdaFunction(fn.fn, { retryAttempts: 0, maxEventAge: Duration.seconds(spec.everyMinutes * 60) })],
      });
    }
  }

  private addAlarms(o: DeployOptions): Operations {
    const operations = new Operations(this, 'Operations', {
      queues: this.queues,
      workers: Object.fromEntries(Object.entries(this.workers).map(([name, w]) => [name, w.fn])),
      api: { serverErrors: this.api.metricServerErrors, requests: this.api.metricRequests },
      queueAgeAlarmSeconds: o.queueAgeAlarmSeconds,
      api5xxAlarmPercent: o.api5xxAlarmPercent,
      alarmEmail: o.alarmEmail,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: operations.topic.topicArn, description: 'SNS topic every alarm notifies' });
    return operations;
  }

  private addOutputs(id: string): void {
    new CfnOutput(this, 'ApiUrl', { value: this.api.url });
    new CfnOutput(this, 'WebSocketUrl', { value: this.socket.url, description: "The inbox's realtime socket (courier-js apiUrls.inbox.webSocket)" });
    new CfnOutput(this, 'ApiUrls', {
      value: this.toJsonString({
        courier: { rest: this.api.url, graphql: `${this.api.url}/client/q` },
        inbox: { graphql: `${this.api.url}/inbox/graphql`, webSocket: this.socket.url },
      }),
      description: "courier-js's apiUrls for a page of this stack (CourierClient options)",
    });
    new CfnOutput(this, 'TableName', { value: this.table.table.tableName });
    for (const [name, q] of Object.entries(this.queues) as [QueueName, WorkQueue][]) {
      const title = name[0].toUpperCase() + name.slice(1);
      new CfnOutput(this, `${title}QueueUrl`, { value: q.queue.queueUrl });
      new CfnOutput(this, `${title}DlqUrl`, { value: q.dlq.queueUrl, description: `npm run dlq -- list --stack ${id}` });
    }
  }
}

/** CloudWatch Logs retention from a number of days (validated in lib/options.ts). */
const retention = (days: number): RetentionDays => days as RetentionDays;
