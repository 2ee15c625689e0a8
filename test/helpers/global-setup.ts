import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { startDynamoDbLocal, startFauxqs, type Emulator } from '../../lambdas/local/emulators';
import type { CfnTemplate } from '../../lambdas/local/template';
import { describeStack } from './iam';

/**
 * Starts DynamoDB Local and fauxqs once for the integration run, on free ports; test files reach
 * them through the environment and create their own table and queues, so files never share data.
 * Also synthesizes the stack once (without bundling): every test stack checks the AWS calls its
 * functions made against their roles in this template when it stops (test/helpers/stack.ts).
 */
export default async function globalSetup(): Promise<void> {
  const [dynamo, sqs] = await Promise.all([startDynamoDbLocal(), startFauxqs()]);
  (globalThis as { __emulators?: Emulator[] }).__emulators = [dynamo, sqs];
  process.env.TEST_DYNAMODB_ENDPOINT = dynamo.endpoint;
  process.env.TEST_SQS_ENDPOINT = sqs.endpoint;

  const { stack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [] } });
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'stack-description-')), 'stack.json');
  writeFileSync(file, JSON.stringify(describeStack(stack, Template.fromStack(stack).toJSON() as CfnTemplate)));
  process.env.TEST_STACK_DESCRIPTION = file;
  // Each test stack appends the calls its functions made here; the teardown sums them up.
  process.env.TEST_AWS_CALLS_LOG = path.join(path.dirname(file), 'aws-calls.jsonl');
}
