import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../lambdas/store/keys';

/** The single table: keys from lambdas/store/keys.ts, on-demand, PITR, encrypted, TTL. */
export class NotificationsTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: { removalPolicy?: RemovalPolicy } = {}) {
    super(scope, id);
    const s = TABLE_SCHEMA;
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: s.partitionKey, type: AttributeType.STRING },
      sortKey: { name: s.sortKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      timeToLiveAttribute: s.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryptionV2.awsManagedKey(),
      deletionProtection: props.removalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      globalSecondaryIndexes: s.indexes.map((i) => ({
        indexName: i.name,
        partitionKey: { name: i.partitionKey, type: AttributeType.STRING },
        sortKey: { name: i.sortKey, type: AttributeType.STRING },
      })),
    });
  }

  /** ARNs of the table and of each index by name: grants never use `index/*`. */
  arns(): string[] {
    const stack = Stack.of(this);
    return [
      this.table.tableArn,
      ...TABLE_SCHEMA.indexes.map((i) => stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: `${this.table.tableName}/index/${i.name}` })),
    ];
  }
}
