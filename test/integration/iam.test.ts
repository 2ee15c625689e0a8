import { readFileSync } from 'node:fs';
import { LOCAL_ACCOUNT } from '../../lambdas/local/stack';
import { bindLocal, type StackDescription } from '../../lambdas/local/template';
import { deniedCalls, functionRoles, resourcePolicies } from '../helpers/iam';
import { sendAndWait } from '../helpers/send';
import { checkIam, startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';
import { startRecorder, type Recorder } from './providers/recorder';

/**
 * Every test stack checks its functions' AWS calls against the synthesized roles when it stops
 * (test/helpers/stack.ts). This file checks that check: calls are recorded per function, with the
 * resource IAM sees, and a call outside a role is reported.
 */
let s: TestStack;
let ses: Recorder;
const table = `t-iam-${Date.now()}`;
beforeAll(async () => {
  ses = await startRecorder();
  ses.reply(() => ({ status: 200, body: { MessageId: 'ses-1' } }));
  s = await startTestStack({ tableName: table, env: { SES_ENDPOINT: ses.url, CACHE_TTL_MS: '0' } });
});
afterAll(async () => {
  await ses?.close();
  await s?.stop();
});

const arn = (resource: string) => `arn:aws:${resource}`;

describe('the inbox function', () => {
  // First in this file: no token has been issued on this stack yet.
  it('refuses a token before any was issued without making the signing secret (it has no write grant for it)', async () => {
    const forged = [
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9',
      Buffer.from(JSON.stringify({ scope: 'user_id:x inbox:read:messages', iss: 'courier-compatible-notifications' })).toString('base64url'),
      'c2ln',
    ].join('.');
    const res = await s.http('GET', '/inbox/messages', undefined, { key: forged });
    expect([res.status, res.json.type]).toEqual([401, 'authentication_error']);
    expect(
      s
        .awsCalls()
        .filter((c) => c.fn === 'Api-inbox')
        .map((c) => c.action),
    ).toEqual(['dynamodb:GetItem']);
    expect(await checkIam(s, table)).toEqual([]);
  });
});

describe('recorded calls', () => {
  it('tags each call with the function that made it and the resource IAM evaluates', async () => {
    const user = uid('iam-user');
    expect((await s.http('PUT', `/profiles/${user}`, { profile: { email: `${user}@x.test` } })).status).toBe(200);
    await sendAndWait(s, { to: { user_id: user }, content: { title: 't', body: 'b' }, routing: { method: 'single', channels: ['inbox'] } }, 1);
    const calls = s.awsCalls();
    const tableArn = arn(`dynamodb:us-east-1:${LOCAL_ACCOUNT}:table/${table}`);
    expect(calls).toEqual(
      expect.arrayContaining([
        { fn: 'Api-profiles', action: 'dynamodb:UpdateItem', resource: tableArn },
        { fn: 'Api-profiles', action: 'sqs:SendMessage', resource: arn(`sqs:us-east-1:${LOCAL_ACCOUNT}:${s.queues.fanout.url.split('/').pop()}`) },
        { fn: 'Api-send', action: expect.stringMatching(/^dynamodb:/), resource: tableArn },
        // A single send due at once is delivered by the send function itself (D14): it reads the profile.
        { fn: 'Api-send', action: 'dynamodb:BatchGetItem', resource: tableArn },
      ]),
    );
    // The emulators' own calls (the pollers' receive and delete) belong to no function.
    expect(calls.some((c) => c.action === 'sqs:ReceiveMessage')).toBe(false);
  });

  it('records an index query against the index ARN', async () => {
    expect((await s.http('GET', '/lists')).status).toBe(200);
    expect(s.awsCalls()).toContainEqual({
      fn: 'Api-lists',
      action: 'dynamodb:Query',
      resource: arn(`dynamodb:us-east-1:${LOCAL_ACCOUNT}:table/${table}/index/gsi1`),
    });
  });

  it('allows SES in the region a provider names, not only the stack region', async () => {
    expect(
      (await s.http('POST', '/providers', { provider: 'ses', priority: 1, settings: { from: 'hello@acme.test', region: 'eu-west-1' } })).status,
    ).toBeLessThan(300);
    const { messages } = await sendAndWait(
      s,
      { to: { email: 'ada@example.test' }, content: { title: 'Hi', body: 'x' }, routing: { method: 'single', channels: ['email'] } },
      1,
    );
    expect(messages[0].status).toBe('SENT');
    expect(s.awsCalls()).toContainEqual({
      fn: 'Api-send',
      action: 'ses:SendEmail',
      resource: `arn:aws:ses:eu-west-1:${LOCAL_ACCOUNT}:identity/acme.test`,
    });
    expect(await checkIam(s, table)).toEqual([]);
  });
});

describe('the check', () => {
  it('reports a call outside the function role, and allows what the role grants', async () => {
    const description = JSON.parse(readFileSync(process.env.TEST_STACK_DESCRIPTION!, 'utf8')) as StackDescription;
    const bindings = bindLocal(description, { region: 'us-east-1', account: LOCAL_ACCOUNT, tableName: table, queues: s.queues });
    const tableArn = arn(`dynamodb:us-east-1:${LOCAL_ACCOUNT}:table/${table}`);
    const delivery = arn(`sqs:us-east-1:${LOCAL_ACCOUNT}:${s.queues.delivery.url.split('/').pop()}`);
    const denied = await deniedCalls(
      [
        { fn: 'Api-health', action: 'dynamodb:GetItem', resource: tableArn },
        { fn: 'Api-profiles', action: 'sqs:SendMessage', resource: delivery },
        { fn: 'Api-profiles', action: 'dynamodb:GetItem', resource: arn(`dynamodb:us-east-1:${LOCAL_ACCOUNT}:table/another-table`) },
        { fn: 'Api-profiles', action: 'dynamodb:GetItem', resource: tableArn },
        { fn: 'Api-send', action: 'sqs:SendMessage', resource: delivery },
      ],
      functionRoles(description, bindings),
      resourcePolicies(description, bindings),
      LOCAL_ACCOUNT,
    );
    expect(denied).toEqual([
      `Api-health dynamodb:GetItem ${tableArn}: ImplicitlyDenied`,
      `Api-profiles sqs:SendMessage ${delivery}: ImplicitlyDenied`,
      expect.stringMatching(/^Api-profiles dynamodb:GetItem .*another-table: ImplicitlyDenied$/),
    ]);
  });
});
