/**
 * API keys: `npm run keys -- create [--name <name>] | list | revoke <id>`, and
 * `rotate-token-secret` for the stored secret that signs user tokens.
 *
 * Against the running `npm start` by default (it leaves its endpoint in .local/stack.json), or a
 * deployed stack's table with `TABLE_NAME=<the stack's TableName output>` and the usual AWS
 * credentials and AWS_REGION. Keys are stored as their SHA-256 only: `create` prints the key once;
 * `list` shows ids, names, hints and state; `revoke` refuses the key from the next request on.
 * Rotate a key by creating the new one, moving clients to it, then revoking the old one.
 * `create` and `revoke` record an audit event (`api-key:created`, `api-key:revoked`; source `cli`,
 * actor `cli:<os user>`), kept AUDIT_RETENTION_DAYS (set it here as on the stack if you changed it).
 */
import '../lambdas/local/env';
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LOCAL_STACK_FILE } from '../lambdas/local/stack-file';

function target(): string {
  if (process.env.TABLE_NAME) return `table ${process.env.TABLE_NAME}${process.env.DYNAMODB_ENDPOINT ? ` at ${process.env.DYNAMODB_ENDPOINT}` : ''}`;
  const file = path.resolve(LOCAL_STACK_FILE);
  if (!existsSync(file)) throw new Error('no local stack is running (start one with `npm start`), and TABLE_NAME is not set for a deployed one');
  const local = JSON.parse(readFileSync(file, 'utf8')) as { tableName: string; dynamodbEndpoint: string };
  Object.assign(process.env, { TABLE_NAME: local.tableName, DYNAMODB_ENDPOINT: local.dynamodbEndpoint });
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  return `the local stack (table ${local.tableName} at ${local.dynamodbEndpoint})`;
}

/** Records the audit event of a key change made; a failure to is reported, the change stays made. */
async function audit(type: string, keyId: string): Promise<void> {
  const { recordAuditEvent } = require('../lambdas/store/audit-events') as typeof import('../lambdas/store/audit-events');
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No user entry (some containers): the actor stays `cli:unknown`.
  }
  try {
    await recordAuditEvent({ type, target: `api-key:${keyId}`, actor: { id: `cli:${user}` }, source: 'cli' });
  } catch (e) {
    console.error(`warning: the audit event ${type} of key ${keyId} was not recorded: ${(e as Error).message}`);
  }
}

const usage = 'usage: npm run keys -- create [--name <name>] | list | revoke <id> | rotate-token-secret';

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (!['create', 'list', 'revoke', 'rotate-token-secret'].includes(command ?? '')) {
    console.error(usage);
    return 2;
  }
  const where = target();
  // Loaded now: these modules read TABLE_NAME and the endpoint when they load.
  const store = require('../lambdas/store/api-keys') as typeof import('../lambdas/store/api-keys');
  const { hashApiKey } = require('../lambdas/shared/middleware') as typeof import('../lambdas/shared/middleware');
  if (command === 'create') {
    const nameAt = rest.indexOf('--name');
    const name = nameAt >= 0 ? rest[nameAt + 1] : 'api key';
    if (!name || name.length > 128) {
      console.error('--name takes a name of 1-128 characters');
      return 2;
    }
    const key = `ck_${randomBytes(24).toString('base64url')}`;
    const hash = hashApiKey(key);
    await store.storeKeyHash(hash, { name, createdAt: new Date().toISOString(), hint: key.slice(0, 7) });
    await audit('api-key:created', store.keyIdOf(hash));
    console.log(`created key ${hash.slice(0, 12)} "${name}" in ${where}; it is shown only now:\n${key}`);
    return 0;
  }
  if (command === 'rotate-token-secret') {
    const { rotateStoredSigningKey } = require('../lambdas/store/signing-key') as typeof import('../lambdas/store/signing-key');
    await rotateStoredSigningKey();
    console.log(
      `rotated the user-token signing secret in ${where}: tokens signed before stop working within 5 minutes (when warm functions read the new secret)`,
    );
    console.log('(it is the stored secret; a USER_TOKEN_SECRET or USER_TOKEN_SECRET_PARAMETER, when set, is yours to change)');
    return 0;
  }
  if (command === 'list') {
    const keys = await store.listKeys();
    console.log(`${keys.length} keys in ${where}`);
    for (const k of keys) console.log(`${k.id}  ${k.revoked ? 'revoked' : 'active '}  ${k.createdAt}  ${k.hint}…  ${k.name}`);
    return 0;
  }
  const result = await store.revokeKey(rest[0] ?? '');
  if (typeof result === 'string') {
    console.error(result);
    return 1;
  }
  await audit('api-key:revoked', result.id);
  console.log(`revoked key ${result.id} "${result.name}" in ${where}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
