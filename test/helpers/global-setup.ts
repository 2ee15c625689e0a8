import { startDynamoDbLocal, startFauxqs, type Emulator } from '../../lambdas/local/emulators';

/**
 * Starts DynamoDB Local and fauxqs once for the integration run, on free ports; test files reach
 * them through the environment and create their own table and queues, so files never share data.
 */
export default async function globalSetup(): Promise<void> {
  const [dynamo, sqs] = await Promise.all([startDynamoDbLocal(), startFauxqs()]);
  (globalThis as { __emulators?: Emulator[] }).__emulators = [dynamo, sqs];
  process.env.TEST_DYNAMODB_ENDPOINT = dynamo.endpoint;
  process.env.TEST_SQS_ENDPOINT = sqs.endpoint;
}
