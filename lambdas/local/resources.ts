import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { TABLE_SCHEMA } from '../store/keys';
import { DLQ_RETENTION_SECONDS, QUEUES, visibilityTimeoutSeconds, type QueueName } from '../shared/topology';

/** Creates the single table as the CDK app defines it, unless it exists. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (e) {
    if (!(e instanceof ResourceNotFoundException) && (e as Error).name !== 'ResourceNotFoundException') throw e;
  }
  const s = TABLE_SCHEMA;
  const attributes = new Set<string>([s.partitionKey, s.sortKey, ...s.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]);
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
      KeySchema: [
        { AttributeName: s.partitionKey, KeyType: 'HASH' },
        { AttributeName: s.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: s.indexes.map((i) => ({
        IndexName: i.name,
        KeySchema: [
          { AttributeName: i.partitionKey, KeyType: 'HASH' },
          { AttributeName: i.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    }),
  );
  await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: { AttributeName: s.ttlAttribute, Enabled: true } }));
}

export interface QueueUrls {
  url: string;
  dlqUrl: string;
  arn: string;
}

/** Creates each queue and its dead-letter queue with the CDK app's settings (redrive, visibility). */
export async function ensureQueues(
  client: SQSClient,
  prefix: string,
  /** Tests shorten the visibility timeout to see redelivery within seconds. */
  overrides: { visibilityTimeoutSeconds?: Partial<Record<QueueName, number>> } = {},
): Promise<Record<QueueName, QueueUrls>> {
  const out = {} as Record<QueueName, QueueUrls>;
  for (const [name, spec] of Object.entries(QUEUES) as [QueueName, (typeof QUEUES)[QueueName]][]) {
    const dlq = await client.send(
      new CreateQueueCommand({ QueueName: `${prefix}-${name}-dlq`, Attributes: { MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS) } }),
    );
    const dlqAttrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }));
    const main = await client.send(
      new CreateQueueCommand({
        QueueName: `${prefix}-${name}`,
        Attributes: {
          VisibilityTimeout: String(overrides.visibilityTimeoutSeconds?.[name] ?? visibilityTimeoutSeconds(spec)),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqAttrs.Attributes?.QueueArn, maxReceiveCount: spec.maxReceiveCount }),
        },
      }),
    );
    const mainAttrs = await client.send(new GetQueueAttributesCommand({ QueueUrl: main.QueueUrl, AttributeNames: ['QueueArn'] }));
    out[name] = { url: main.QueueUrl!, dlqUrl: dlq.QueueUrl!, arn: mainAttrs.Attributes?.QueueArn ?? '' };
  }
  return out;
}
