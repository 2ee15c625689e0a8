/**
 * `npm start`: the whole product on this machine. Starts DynamoDB Local and fauxqs, creates the
 * table and queues, serves the API on PORT (default 3000) with API_KEY (default local-dev-key),
 * and drives the workers from the queues; the realtime inbox socket listens on PORT + 1 (SOCKET_PORT),
 * and the inbox example page (examples/inbox/) on PORT + 2 (EXAMPLE_PORT; `off` serves none).
 * Data lives under .local/ unless `--in-memory`.
 */
import './env';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startDynamoDbLocal, startFauxqs, type Emulator } from './emulators';
import { guardClientSockets } from './socket-guard';
import { startLocalStack, type LocalStack } from './stack';
import { startInboxExample } from '../../examples/inbox/server';
import { LOCAL_STACK_FILE, type LocalStackFile } from './stack-file';
import { wallNow } from '../shared/clock';

async function main() {
  // One request must never end the stack: a connection that breaks after its request ended is logged.
  guardClientSockets();
  const inMemory = process.argv.includes('--in-memory');
  // `--api=rest`: stand in for the REST API of `cdk deploy -c api=rest` (payload 1.0, under /prod).
  const api = process.argv.includes('--api=rest') ? 'rest' : 'http';
  const port = Number(process.env.PORT ?? 3000);
  const apiKey = process.env.API_KEY ?? 'local-dev-key';
  const dataDir = path.resolve(process.env.LOCAL_DATA_DIR ?? '.local/dynamodb');
  const started: Emulator[] = [];
  let stack: LocalStack | undefined;
  let example: { url: string; close(): Promise<void> } | undefined;
  let stopping = false;

  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const e of started) e.expectExit();
    rmSync(LOCAL_STACK_FILE, { force: true });
    await example?.close().catch(() => undefined);
    await stack?.stop().catch(() => undefined);
    await Promise.all(started.map((e) => e.stop().catch(() => undefined)));
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    const t0 = wallNow();
    const [dynamo, sqs] = await Promise.all([startDynamoDbLocal({ dbPath: inMemory ? undefined : dataDir }), startFauxqs()]);
    started.push(dynamo, sqs);
    stack = await startLocalStack({
      api,
      port,
      apiKey,
      dynamodbEndpoint: dynamo.endpoint,
      sqsEndpoint: sqs.endpoint,
      tableName: process.env.TABLE_NAME ?? 'notifications',
      queuePrefix: 'notifications',
      onWorkerError: (queue, e) => console.error(`[${queue}] worker error: ${(e as Error).message}`),
      // The socket on the next port (SOCKET_PORT overrides; 0 picks a free one).
      socket: { port: Number(process.env.SOCKET_PORT ?? (port === 0 ? 0 : port + 1)) },
    });
    console.log(`dynamodb ${dynamo.endpoint} (${inMemory ? 'in memory' : dataDir}), sqs ${sqs.endpoint}, started in ${wallNow() - t0} ms`);
    mkdirSync(path.dirname(LOCAL_STACK_FILE), { recursive: true });
    const queues = stack.queues;
    const stackFile: LocalStackFile = {
      url: stack.url,
      wsUrl: stack.wsUrl,
      dynamodbEndpoint: dynamo.endpoint,
      tableName: process.env.TABLE_NAME ?? 'notifications',
      sqsEndpoint: sqs.endpoint,
      queues: {
        fanout: { url: queues.fanout.url, dlqUrl: queues.fanout.dlqUrl },
        delivery: { url: queues.delivery.url, dlqUrl: queues.delivery.dlqUrl },
        webhooks: { url: queues.webhooks.url, dlqUrl: queues.webhooks.dlqUrl },
      },
    };
    writeFileSync(LOCAL_STACK_FILE, JSON.stringify(stackFile) + '\n');
    console.log(`socket ${stack.wsUrl}`);
    const examplePort = process.env.EXAMPLE_PORT ?? String(port === 0 ? 0 : port + 2);
    if (examplePort !== 'off') {
      const page = await startInboxExample({ port: Number(examplePort), apiUrl: stack.url, webSocketUrl: stack.wsUrl, apiKey, defaultUserId: 'u-1' });
      example = page;
      console.log(`inbox example ${page.url}/?user=u-1`);
    }
    console.log(`ready ${stack.url}`);
  } catch (e) {
    console.error(`local stack failed to start: ${(e as Error).stack ?? e}`);
    await shutdown(1);
  }
}

void main();
