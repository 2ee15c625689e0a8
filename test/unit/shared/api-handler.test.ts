import type { Context } from 'aws-lambda';
import { apiHandler } from '../../../lambdas/shared/api';
import { logger } from '../../../lambdas/shared/logger';
import { route } from '../../../lambdas/shared/router';
import { httpEvent } from '../../helpers/events';

/** API functions log with the Lambda context, as the workers do: request id and cold start on every line. */
const context = { awsRequestId: 'req-42', functionName: 'Api-test', functionVersion: '$LATEST', memoryLimitInMB: '256', invokedFunctionArn: 'arn' } as Context;

it('puts the request id and cold start on the log lines of a request', async () => {
  const handler = apiHandler(
    [
      route({
        method: 'GET',
        path: '/ping',
        handler: async () => {
          logger.info('pinged');
          return { status: 200, body: { ok: true } };
        },
      }),
    ],
    { auth: 'none' },
  );
  const lines: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  logger.setLogLevel('INFO');
  try {
    const res = await handler(httpEvent('GET', '/ping'), context);
    expect(res).toMatchObject({ statusCode: 200 });
  } finally {
    logger.setLogLevel('SILENT');
    write.mockRestore();
  }
  const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.message === 'pinged');
  expect(line).toMatchObject({ function_request_id: 'req-42', function_name: 'Api-test', cold_start: expect.any(Boolean) });
});
