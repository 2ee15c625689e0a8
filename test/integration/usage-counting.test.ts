import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Cost counting is for the local stack: a deployed function neither asks DynamoDB for its consumed
 * capacity nor keeps a log of its calls in a warm container. A local HTTP server stands in for
 * DynamoDB and shows what the shared client sends.
 */
let server: http.Server;
const bodies: Record<string, unknown>[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>);
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify({ ConsumedCapacity: { CapacityUnits: 0.5 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.env.DYNAMODB_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

it('asks for and records consumed capacity only once counting is on', async () => {
  // Loaded after the endpoint is set: the client reads it when the module loads.
  const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  const usage = require('../../lambdas/shared/usage') as typeof import('../../lambdas/shared/usage');
  const { GetCommand } = require('@aws-sdk/lib-dynamodb') as typeof import('@aws-sdk/lib-dynamodb');
  const get = () => ddb.send(new GetCommand({ TableName: 't', Key: { pk: 'a', sk: 'b' } }));

  await get();
  expect(bodies[0].ReturnConsumedCapacity).toBeUndefined();
  expect([usage.usageSnapshot().dynamodb, usage.commandLog()]).toEqual([{ requests: {}, rcu: 0, wcu: 0 }, []]);

  usage.countUsage();
  await get();
  expect(bodies[1].ReturnConsumedCapacity).toBe('TOTAL');
  expect([usage.usageSnapshot().dynamodb, usage.commandLog()]).toEqual([{ requests: { GetItem: 1 }, rcu: 0.5, wcu: 0 }, ['GetItem']]);
});
