import { startTestStack, type TestStack } from '../../helpers/stack';
import { sendOf } from './recorder';

// The registry reads LOCAL_SMTP_URL / LOCAL_CAPTURE_URL when it loads: required once the stack set them.
let s: TestStack;
let registry: typeof import('../../../lambdas/providers/registry');
beforeAll(async () => {
  s = await startTestStack();
  registry = require('../../../lambdas/providers/registry');
});
afterAll(() => s?.stop());

/** Sends through what the channel falls back to with no /providers configured, as the delivery worker does. */
async function sendByFallback(message: ReturnType<typeof sendOf>) {
  const [fallback] = registry.fallbackProviders(message.channel, message.address);
  return registry.adapterFor(fallback.provider)!.send({ ...message, settings: fallback.settings });
}

const captures = async (query = '') => {
  const res = await fetch(`${s.url}/_local/captures${query}`);
  return { status: res.status, json: (await res.json()) as { results: Record<string, unknown>[] } };
};

describe('local provider targets of a started stack', () => {
  it('captures an SMS through the local-capture fallback, readable over HTTP without an API key', async () => {
    const result = await sendByFallback(
      sendOf({ messageId: 'm-sms-1', channel: 'sms', address: '+15550001111', content: { channel: 'sms', body: 'Code 1234' } }),
    );

    expect(result).toEqual({ status: 'SENT', providerMessageId: 'm-sms-1' });
    const { status, json } = await captures('?messageId=m-sms-1');
    expect(status).toBe(200);
    expect(json.results).toEqual([
      {
        seq: expect.any(Number),
        capturedAt: expect.any(String),
        via: 'http',
        channel: 'sms',
        messageId: 'm-sms-1',
        address: '+15550001111',
        content: { channel: 'sms', body: 'Code 1234' },
      },
    ]);
    expect(s.captures().find((c) => c.messageId === 'm-sms-1')).toEqual(json.results[0]);
  });

  it('captures a push the same way, with the tokens as the address', async () => {
    await sendByFallback(
      sendOf({ messageId: 'm-push-1', channel: 'push', address: { firebaseToken: 'tok' }, content: { channel: 'push', title: 'Hi', body: 'There' } }),
    );
    const { json } = await captures('?channel=push');
    expect(json.results.map((c) => [c.messageId, c.address])).toEqual([['m-push-1', { firebaseToken: 'tok' }]]);
  });

  it('captures an email through the SMTP fallback with its message id, subject, bodies and headers', async () => {
    const result = await sendByFallback(sendOf({ messageId: 'm-mail-1' }));

    expect(result.status).toBe('SENT');
    const { json } = await captures('?channel=email&messageId=m-mail-1');
    expect(json.results).toEqual([
      expect.objectContaining({
        via: 'smtp',
        channel: 'email',
        messageId: 'm-mail-1',
        from: 'notifications@localhost',
        to: ['ada@example.test'],
        subject: 'Hello Ada',
        text: 'Your order shipped.',
        html: '<p>Your order shipped.</p>',
        headers: expect.objectContaining({ 'x-courier-message-id': 'm-mail-1', 'message-id': '<m-mail-1@localhost>', subject: 'Hello Ada' }),
      }),
    ]);
  });

  it('lists captures oldest first and forgets them on DELETE', async () => {
    const seqs = (await captures()).json.results.map((c) => c.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect((await fetch(`${s.url}/_local/captures`, { method: 'DELETE' })).status).toBe(204);
    expect((await captures()).json.results).toEqual([]);
    expect(s.captures()).toEqual([]);
  });

  it('refuses a malformed capture POST with 400 and answers unknown /_local paths with 404', async () => {
    const bad = await fetch(`${s.url}/_local/capture`, { method: 'POST', body: '{"channel":"sms"}' });
    expect(bad.status).toBe(400);
    expect((await fetch(`${s.url}/_local/nothing`)).status).toBe(404);
    expect(s.captures()).toEqual([]);
  });

  it('leaves the API behind its key: only /_local/ paths skip it', async () => {
    expect((await s.http('GET', '/profiles/anyone', undefined, { key: null })).status).toBe(401);
  });
});
