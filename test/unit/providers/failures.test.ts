import { httpFailure, ProviderError } from '../../../lambdas/providers/port';
import { slackOutcome } from '../../../lambdas/providers/slack';
import { smtpFailure } from '../../../lambdas/providers/smtp';
import { awsFailure, networkFailure, parseSettings, retryAfterMs } from '../../../lambdas/providers/transport';
import { webhookSettings } from '../../../lambdas/providers/catalog';

describe('classifying HTTP answers (httpFailure)', () => {
  const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
  it.each([
    ['200 as success', 200, null, undefined],
    ['201 as success', 201, null, undefined],
    ['400 as permanent', 400, null, { transient: false }],
    ['401 as permanent', 401, null, { transient: false }],
    ['404 as permanent', 404, null, { transient: false }],
    ['408 as transient', 408, null, { transient: true }],
    ['429 as transient, with retry-after in seconds', 429, '7', { transient: true, retryAfterMs: 7000 }],
    ['500 as transient', 500, null, { transient: true }],
    ['503 as transient, with retry-after as a date', 503, inTenSeconds, { transient: true }],
  ])('treats %s', (_, status, retryAfter, expected) => {
    const failure = httpFailure(status, retryAfter, 'webhook');
    if (expected === undefined) expect(failure).toBeUndefined();
    else expect(failure).toMatchObject({ ...expected, statusCode: status, message: `webhook answered ${status}` });
  });

  it('reads a retry-after date as the time left until then', () => {
    const ms = retryAfterMs(new Date(Date.now() + 10_000).toUTCString())!;
    expect(ms).toBeGreaterThan(8000);
    expect(ms).toBeLessThanOrEqual(10_000);
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe('classifying calls without an answer (networkFailure)', () => {
  it('retries a network error as transient, naming only its code (never the URL)', () => {
    const error = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }),
    });
    expect(networkFailure(error, 'webhook', 1000)).toMatchObject({ transient: true, message: 'webhook unreachable (ECONNREFUSED)' });
  });

  it('retries a timeout as transient', () => {
    const error = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(networkFailure(error, 'slack chat.postMessage', 5000)).toMatchObject({ transient: true, message: 'slack chat.postMessage timed out after 5000 ms' });
  });
});

describe('classifying AWS SDK errors (awsFailure)', () => {
  const awsError = (name: string, status?: number, extra: object = {}) =>
    Object.assign(new Error('detail with +15550001111'), { name, $metadata: status === undefined ? {} : { httpStatusCode: status }, ...extra });

  it.each([
    ['MessageRejected (400) as permanent', awsError('MessageRejected', 400), false],
    ['TooManyRequestsException (429) as transient', awsError('TooManyRequestsException', 429), true],
    ['Throttling answered with a 400 as transient', awsError('Throttling', 400), true],
    ['an error the SDK marks as throttling as transient', awsError('Whatever', 400, { $retryable: { throttling: true } }), true],
    ['InternalError (500) as transient', awsError('InternalError', 500), true],
    ['a request that got no answer as transient', awsError('Error'), true],
  ])('treats %s, naming the status and code but not the detail', (_, error, transient) => {
    const failure = awsFailure(error, 'sns', 1000);
    expect(failure.transient).toBe(transient);
    expect(failure.message).not.toContain('+1555');
  });

  it('reads the retry-after of the raw response', () => {
    expect(awsFailure(awsError('TooManyRequestsException', 429, { $response: { headers: { 'retry-after': '4' } } }), 'ses', 1000).retryAfterMs).toBe(4000);
  });

  it('treats the aborted request of the timeout as a transient timeout', () => {
    expect(awsFailure(Object.assign(new Error('Request aborted'), { name: 'AbortError' }), 'ses', 2500)).toMatchObject({
      transient: true,
      message: 'ses timed out after 2500 ms',
    });
  });
});

describe('classifying SMTP errors (smtpFailure)', () => {
  it.each([
    ['a 5xx reply as permanent', { code: 'EENVELOPE', responseCode: 550, permanent: true }, false, 'smtp answered 550 (EENVELOPE)'],
    ['a 4xx reply as transient', { code: 'EENVELOPE', responseCode: 451, permanent: false }, true, 'smtp answered 451 (EENVELOPE)'],
    ['a refused login as permanent', { code: 'EAUTH' }, false, 'smtp failed (EAUTH)'],
    ['a dropped connection as transient', { code: 'ECONNECTION' }, true, 'smtp failed (ECONNECTION)'],
    ['a socket timeout as transient', { code: 'ETIMEDOUT' }, true, 'smtp failed (ETIMEDOUT)'],
    ['the aborted send of the timeout as transient', { code: 'EABORT', name: 'AbortError' }, true, 'smtp timed out after 900 ms'],
  ])('treats %s', (_, error, transient, message) => {
    expect(smtpFailure(Object.assign(new Error('550 5.1.1 <ada@example.test>: unknown'), error), 900)).toMatchObject({ transient, message });
  });
});

describe('classifying Slack answers (slackOutcome)', () => {
  const reply = (status: number, body: unknown, retryAfter?: string) => ({
    status,
    headers: new Headers(retryAfter ? { 'retry-after': retryAfter } : {}),
    text: JSON.stringify(body),
  });

  it('returns the body of ok:true', () => {
    expect(slackOutcome('chat.postMessage', reply(200, { ok: true, ts: '1.2' }))).toEqual({ ok: true, ts: '1.2' });
  });

  it.each([
    [
      'ok:false ratelimited on a 200 as transient with its retry-after',
      reply(200, { ok: false, error: 'ratelimited' }, '9'),
      { transient: true, retryAfterMs: 9000 },
    ],
    ['a 429 as transient with its retry-after', reply(429, { ok: false, error: 'ratelimited' }, '3'), { transient: true, retryAfterMs: 3000 }],
    ['internal_error as transient', reply(200, { ok: false, error: 'internal_error' }), { transient: true }],
    ['invalid_auth as permanent', reply(200, { ok: false, error: 'invalid_auth' }), { transient: false, retryAfterMs: undefined }],
    ['channel_not_found as permanent', reply(200, { ok: false, error: 'channel_not_found' }), { transient: false }],
    [
      'a 200 that is not JSON as permanent',
      { status: 200, headers: new Headers(), text: '<html>' },
      { transient: false, message: 'slack chat.postMessage failed: unknown_error' },
    ],
    ['a 503 as transient', reply(503, {}), { transient: true, statusCode: 503 }],
  ])('treats %s', (_, r, expected) => {
    const thrown = (() => {
      try {
        slackOutcome('chat.postMessage', r);
      } catch (e) {
        return e;
      }
      throw new Error('slackOutcome did not throw');
    })();
    expect(thrown).toBeInstanceOf(ProviderError);
    expect(thrown).toMatchObject(expected);
  });
});

describe('validating settings (parseSettings)', () => {
  it('refuses bad settings as permanent, naming each field once and no value', () => {
    const call = () => parseSettings(webhookSettings, { signing_secret: 'short-secret', url: 'not a url', method: 'GET' }, 'webhook');
    expect(call).toThrow(new ProviderError('webhook settings are invalid: settings.url, settings.signing_secret, settings.method', false));
  });

  it('returns the parsed settings with defaults', () => {
    expect(parseSettings(webhookSettings, {}, 'webhook')).toEqual({ method: 'POST' });
  });
});
