import path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { API_TIMEOUT_SECONDS, type TableAction } from '../lambdas/shared/topology';
import type { NotificationsTable } from './table';

export interface AppFunctionProps extends Omit<Partial<NodejsFunctionProps>, 'tracing'> {
  /** Module path from the project root, e.g. `lambdas/http/profiles.ts`. */
  entry: string;
  table: NotificationsTable;
  /** Days its log group keeps logs (deploy option logRetentionDays). */
  logRetention: RetentionDays;
  /** X-Ray active tracing (deploy option tracing). */
  tracing: boolean;
}

/**
 * A function with the project's defaults (Node 24 on arm64, ESM bundle by the local esbuild, its
 * own log group with the deployment's retention, its own role with only the basic logging
 * permissions) and binders that set an environment variable and the matching IAM grant together.
 * Caller props win over defaults.
 */
export class AppFunction extends Construct {
  readonly fn: NodejsFunction;
  private readonly tableRef: NotificationsTable;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    super(scope, id);
    const logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention });
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
    const { entry, table, environment, logRetention: _retention, tracing, ...rest } = props;
    this.tableRef = table;
    this.fn = new NodejsFunction(this, 'Fn', {
      entry: path.join(__dirname, '..', entry),
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(API_TIMEOUT_SECONDS),
      logGroup,
      role,
      tracing: tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: {
        TABLE_NAME: table.table.tableName,
        POWERTOOLS_SERVICE_NAME: id,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        ...environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        forceDockerBundling: false,
        banner: "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
      },
      ...rest,
    });
  }

  /** Grants exactly these item-level DynamoDB actions, on the table and its named indexes. */
  bindTable(actions: readonly TableAction[]): this {
    if (actions.length) this.fn.addToRolePolicy(new PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources: this.tableRef.arns() }));
    return this;
  }

  /**
   * Sets `envName` to the queue URL and lets the function send to it: `sqs:SendMessage` only
   * (it also authorises SendMessageBatch), not the GetQueueAttributes and GetQueueUrl that CDK's
   * grantSendMessages adds and no function calls. The queues use SQS-managed encryption: no KMS grant.
   */
  bindQueue(envName: string, queue: Queue): this {
    this.fn.addEnvironment(envName, queue.queueUrl);
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
    return this;
  }
}
