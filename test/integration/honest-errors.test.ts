import { startFaultProxy } from '../helpers/fault-proxy';
import { messagesOf } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * A failing read is an error, not an empty answer: with DynamoDB failing (as it does when it
 * throttles past the SDK's retries), `GET /messages?messageId=` used to answer 200 with no
 * results, which says the message does not exist.
 */
let s: TestStack;
let proxy: Awaited<ReturnType<typeof startFaultProxy>>;
const GET_ITEM = 'DynamoDB_20120810.GetItem';

beforeAll(async () => {
  proxy = await startFaultProxy(process.env.TEST_DYNAMODB_ENDPOINT!);
  s = await startTestStack({ env: { DYNAMODB_ENDPOINT: proxy.url } });
});
afterAll(async () => {
  await s?.stop();
  await proxy?.close();
});

describe('GET /messages?messageId= while DynamoDB fails', () => {
  it('answers 5xx, not an empty page', async () => {
    const trace = uid('trace');
    const sent = await s.http('POST', '/send', {
      message: {
        to: { user_id: uid('u') },
        content: { title: 't', body: 'b' },
        routing: { method: 'single', channels: ['inbox'] },
        metadata: { trace_id: trace },
      },
    });
    expect(sent.status).toBe(202);
    const [m] = await messagesOf(s, trace, 1);
    const path = `/messages?messageId=${encodeURIComponent(m.id)}`;
    expect((await s.http('GET', path)).json.results).toHaveLength(1);

    // Every attempt of the SDK's own retries to read the message fails (the API key check still works).
    proxy.fail(GET_ITEM, 10, '"MSG#');
    const res = await s.http('GET', path);
    expect([res.status >= 500, res.json.results]).toEqual([true, undefined]);
    proxy.fail(GET_ITEM, 0);
    expect((await s.http('GET', path)).json.results).toHaveLength(1);
  });
});
