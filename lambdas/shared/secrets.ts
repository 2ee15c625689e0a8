import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { observeCalls } from './aws';
import { wallNow } from './clock';
import { config } from './config';

/** How long a warm function keeps a secret read from SSM before reading it again (a rotation takes effect without a deploy). */
const SECRET_TTL_MS = 5 * 60_000;

let client: SSMClient | undefined;
const ssm = (): SSMClient => (client ??= observeCalls(new SSMClient({ region: config.AWS_REGION }), 'ssm'));
const cache = new Map<string, { value: string; until: number }>();

/**
 * A secret setting: its value when set (the local stack), else the SSM Parameter Store
 * SecureString its `_PARAMETER` setting names (AWS), else undefined (not configured).
 */
export async function secretSetting(value: string | undefined, parameter: string | undefined): Promise<string | undefined> {
  if (value !== undefined) return value;
  if (parameter === undefined) return undefined;
  const hit = cache.get(parameter);
  if (hit && hit.until > wallNow()) return hit.value;
  const out = await ssm().send(new GetParameterCommand({ Name: parameter, WithDecryption: true }));
  const secret = out.Parameter?.Value ?? '';
  if (secret.length < 16) throw new Error(`the SSM parameter ${parameter} must hold a secret of at least 16 characters`);
  cache.set(parameter, { value: secret, until: wallNow() + SECRET_TTL_MS });
  return secret;
}
