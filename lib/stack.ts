import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { API_GROUPS, functionIds, QUEUES, queueUrlEnv, SCHEDULED, type QueueName } from '../lambdas/shared/topology';
import { AppFunction } from './function';
import { WorkQueue } from './queues';
import { NotificationsTable } from './table';
import { configSchema, parseConfig } from '../lambdas/shared/settings';

export interface NotificationsStackProps extends StackProps {
  /** DESTROY for throwaway stages (LocalStack, previews); RETAIN (default) keeps the table. */
  removalPolicy?: RemovalPolicy;
  /** Sustained and burst request limits of the HTTP API. */
  throttle?: { rateLimit: number; burstLimit: number };
  /**
   * Workspace settings passed to every function as environment (MESSAGE_RETENTION_DAYS,
   * AUTO_INFER_TENANT_CONTEXT, PROVIDER_TIMEOUT_MS, ...: see lambdas/shared/config.ts), checked
   * against the functions' own configuration schema at synth, so a bad value fails `cdk synth`.
   */
  settings?: Record<string, string>;
}

/** Settings the stack itself provides; the rest of the configuration schema is the user's. */
const STACK_OWNED = ['TABLE_NAME', 'AWS_REGION', 'FANOUT_QUEUE_URL', 'DELIVERY_QUEUE_URL', 'DYNAMODB_ENDPOINT', 'SQS_ENDPOINT', 'LOCAL_SMTP_URL', 'LOCAL_CAPTURE_URL'];

function checkSettings(settings: Record<string, string>): Record<string, string> {
  const known = Object.keys(configSchema.shape).filter((k) => !STACK_OWNED.includes(k));
  const unknown = Object.keys(settings).filter((k) => !known.includes(k));
  if (unknown.length) throw new Error(`settings: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);
  parseConfig({ TABLE_NAME: 'synth', ...settings });
  return settings;
}

/**
 * What the delivery worker's provider adapters call on AWS: SES (email) on the account's verified
 * identities and configuration sets, and SNS Publish to phone numbers (SMS), which has no resource
 * ARN to scope to (lib/nag.ts carries the acknowledgement).
 */
export const SMS_PUBLISH_SID = 'SmsPublishToPhoneNumbers';
function grantProviders(worker: AppFunction): void {
  worker.fn.addToRolePolicy(
    new PolicyStatement({
      actions: ['ses:SendEmail'],
      // Any region: an SES provider names its own (`settings.region`), SES identities are regional.
      // Pseudo parameters, not the synth-time account: the ARN (and the acknowledgement in
      // lib/nag.ts that names it) stays the same whatever CDK_DEFAULT_ACCOUNT the CLI set.
      resources: ['identity', 'configuration-set'].map((kind) => `arn:${Aws.PARTITION}:ses:*:${Aws.ACCOUNT_ID}:${kind}/*`),
    }),
  );
  worker.fn.addToRolePolicy(new PolicyStatement({ sid: SMS_PUBLISH_SID, actions: ['sns:Publish'], resources: ['*'] }));
}

/**
 * The whole product: one table, the fan-out and delivery queues (each with a DLQ), an HTTP API
 * with one function per resource group, and the two workers.
 */
export class NotificationsStack extends Stack {
  readonly api: HttpApi;
  readonly table: NotificationsTable;
  readonly queues: Record<QueueName, WorkQueue>;
  readonly workers: Record<string, AppFunction> = {};
  /** Every function by its id (lambdas/shared/topology.ts functionIds). */
  readonly functions: Record<string, AppFunction> = {};

  constructor(scope: Construct, id: string, props: NotificationsStackProps = {}) {
    super(scope, id, props);
    const settings = checkSettings(props.settings ?? {});
    this.table = new NotificationsTable(this, 'Data', { removalPolicy: props.removalPolicy });
    this.queues = {
      fanout: new WorkQueue(this, 'Fanout', QUEUES.fanout),
      delivery: new WorkQueue(this, 'Delivery', QUEUES.delivery),
    };

    this.api = new HttpApi(this, 'Api', { createDefaultStage: false, description: 'Courier-compatible notifications API' });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', { retention: RetentionDays.ONE_MONTH });
    new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
      throttle: props.throttle ?? { rateLimit: 1000, burstLimit: 2000 },
    });

    for (const group of API_GROUPS) {
      const fn = new AppFunction(this, functionIds.api(group.module), { entry: `lambdas/http/${group.module}.ts`, table: this.table, environment: settings });
      this.functions[functionIds.api(group.module)] = fn;
      if (!group.public) fn.bindTable('RW');
      for (const name of group.queues ?? []) fn.bindQueue(queueUrlEnv(name), this.queues[name].queue);
      const integration = new HttpLambdaIntegration(`Api-${group.module}-integration`, fn.fn);
      for (const segment of group.segments) {
        if (group.public) {
          this.api.addRoutes({ path: `/${segment}`, methods: [HttpMethod.GET], integration });
          continue;
        }
        this.api.addRoutes({ path: `/${segment}`, integration });
        this.api.addRoutes({ path: `/${segment}/{proxy+}`, integration });
      }
    }

    for (const [name, spec] of Object.entries(QUEUES) as [QueueName, (typeof QUEUES)[QueueName]][]) {
      const worker = new AppFunction(this, functionIds.worker(spec.worker), {
        entry: `lambdas/workers/${spec.worker}.ts`,
        table: this.table,
        timeout: Duration.seconds(spec.timeoutSeconds),
        memorySize: spec.memoryMB,
        environment: settings,
      }).bindTable('RW');
      this.workers[spec.worker] = worker;
      this.functions[functionIds.worker(spec.worker)] = worker;
      for (const target of spec.sendsTo) worker.bindQueue(queueUrlEnv(target), this.queues[target].queue);
      if (spec.worker === 'deliver') grantProviders(worker);
      worker.fn.addEventSource(
        new SqsEventSource(this.queues[name].queue, { batchSize: spec.batchSize, reportBatchItemFailures: true, maxBatchingWindow: Duration.seconds(1) }),
      );
    }

    for (const spec of SCHEDULED) {
      const fn = new AppFunction(this, functionIds.scheduled(spec.worker), {
        entry: `lambdas/workers/${spec.worker}.ts`,
        table: this.table,
        timeout: Duration.seconds(spec.timeoutSeconds),
        environment: settings,
      }).bindTable('RO');
      this.functions[functionIds.scheduled(spec.worker)] = fn;
      for (const target of spec.sendsTo) fn.bindQueue(queueUrlEnv(target), this.queues[target].queue);
      new Rule(this, `Every-${spec.worker}`, { schedule: Schedule.rate(Duration.minutes(spec.everyMinutes)), targets: [new LambdaFunction(fn.fn)] });
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint });
    new CfnOutput(this, 'TableName', { value: this.table.table.tableName });
  }
}
