import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Template } from 'aws-cdk-lib/assertions';
import { jwtVerify } from 'jose';
import { buildApp } from '../../lib/app';
import type { CfnTemplate } from '../../lambdas/local/template';
import { describeStack } from '../helpers/iam';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * USER_TOKEN_SECRET_PARAMETER: the token secret lives in SSM Parameter Store, not in the template.
 * A local stand-in speaks SSM's JSON protocol (GetParameter); the IAM check at the end uses a
 * template synthesized with the same setting, so the two functions' ssm:GetParameter grant is proven.
 */
const PARAMETER = '/notifications/user-token-secret';
let secret = 'a'.repeat(40);
const asked: { name: string; decrypt: boolean }[] = [];
let ssm: http.Server;
let s: TestStack;

beforeAll(async () => {
  ssm = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const input = JSON.parse(body || '{}') as { Name: string; WithDecryption?: boolean };
      asked.push({ name: input.Name, decrypt: input.WithDecryption === true });
      if (req.headers['x-amz-target'] !== 'AmazonSSM.GetParameter' || input.Name !== PARAMETER) {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'ParameterNotFound', message: 'no such parameter' }));
        return;
      }
      res
        .writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
        .end(JSON.stringify({ Parameter: { Name: PARAMETER, Type: 'SecureString', Value: secret, Version: 1 } }));
    });
  });
  await new Promise<void>((r) => ssm.listen(0, '127.0.0.1', r));
  const settings = JSON.stringify({ USER_TOKEN_SECRET_PARAMETER: PARAMETER });
  const { stack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], settings } });
  const iamDescription = describeStack(stack, Template.fromStack(stack).toJSON() as CfnTemplate);
  s = await startTestStack({
    env: { USER_TOKEN_SECRET_PARAMETER: PARAMETER, AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${(ssm.address() as AddressInfo).port}` },
    iamDescription,
  });
});
afterAll(async () => {
  await s?.stop();
  ssm?.close();
});

const issue = async (user: string) =>
  (await s.http('POST', '/auth/issue-token', { scope: `user_id:${user} inbox:read:messages`, expires_in: '1h' })).json.token as string;

describe('a token secret in SSM Parameter Store', () => {
  it('signs tokens with the parameter, read decrypted, and the inbox accepts them', async () => {
    const token = await issue(uid('ssm'));
    await expect(jwtVerify(token, new TextEncoder().encode(secret))).resolves.toBeTruthy();
    expect(asked).toContainEqual({ name: PARAMETER, decrypt: true });
    expect((await s.http('GET', '/inbox/messages', undefined, { key: token })).status).toBe(200);
    // The table holds no secret of its own.
    const { getItem } = require('../../lambdas/store/table') as typeof import('../../lambdas/store/table');
    const { keys } = require('../../lambdas/store/keys') as typeof import('../../lambdas/store/keys');
    expect(await getItem(keys.tokenSigningKey())).toBeUndefined();
  });

  it('takes a rotated value once the functions read it again', async () => {
    const before = await issue(uid('ssm'));
    secret = 'b'.repeat(48);
    (require('../../lambdas/shared/tokens') as typeof import('../../lambdas/shared/tokens')).forgetSigningKey();
    expect((await s.http('GET', '/inbox/messages', undefined, { key: before })).status).toBe(401);
    await expect(jwtVerify(await issue(uid('ssm')), new TextEncoder().encode(secret))).resolves.toBeTruthy();
  });
});
