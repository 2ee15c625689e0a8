/**
 * AWS list prices used to turn counted requests into dollars: us-east-1, on-demand / standard,
 * after free tiers, as published on the services' pricing pages. Checked 2026-11-22; update the
 * date and figures when AWS changes them.
 */
export const PRICES = {
  checked: '2026-11-22',
  region: 'us-east-1',
  /** DynamoDB on-demand (since the 2024-11-01 price cut): per million write / read request units. */
  dynamodbPerMillionWRU: 0.625,
  dynamodbPerMillionRRU: 0.125,
  /**
   * DynamoDB provisioned capacity (https://aws.amazon.com/dynamodb/pricing/provisioned/, checked
   * 2026-11-22): per WCU-hour and per RCU-hour. One WCU is one 1 KB write a second (one WRU a
   * second), one RCU one 4 KB strongly consistent read a second (one RRU a second).
   */
  dynamodbPerWcuHour: 0.00065,
  dynamodbPerRcuHour: 0.00013,
  /** The utilisation provisioned capacity is priced at: auto scaling's usual target, 70%. */
  provisionedUtilisation: 0.7,
  /** SQS standard queues: per million requests (each 64 KB chunk of a payload is one request). */
  sqsPerMillionRequests: 0.4,
  /** Lambda on arm64: per million requests, and per GB-second (first pricing tier). */
  lambdaPerMillionRequests: 0.2,
  lambdaArmPerGbSecond: 0.0000133334,
  /** API Gateway HTTP APIs: per million requests (first 300 million a month). */
  httpApiPerMillionRequests: 1.0,
  /** CloudWatch Logs: per GB ingested. */
  logsPerGbIngested: 0.5,
} as const;
