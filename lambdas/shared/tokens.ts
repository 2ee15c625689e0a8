import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { parseScopes, type Scopes } from '../domain/tokens';
import { deriveTrackingKey } from '../domain/tracking';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { storedSigningKey } from '../store/signing-key';
import { tokensValidAfter } from '../store/token-revocations';
import { observeCalls } from './aws';
import { config } from './config';
import { AuthenticationError } from './errors';
import { now as clockNow, wallNow } from './clock';
import { bearerToken } from './middleware';

const ALG = 'HS256';

/** A value made on first use. */
function memoOnce<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
const ISSUER = 'courier-compatible-notifications';

/** How long a warm function keeps a secret read from SSM or the table before reading it again. */
const SECRET_TTL_MS = 5 * 60_000;
let cached: { key: Uint8Array; until: number } | undefined;
/** The read of the secret under way, if any, by whether it may make one. */
const reading = new Map<boolean, Promise<Uint8Array | undefined>>();

const ssm = memoOnce(() => observeCalls(new SSMClient({ region: config.AWS_REGION }), 'ssm'));

/** The secret in SSM Parameter Store (USER_TOKEN_SECRET_PARAMETER), decrypted. */
async function parameterSecret(name: string): Promise<Uint8Array> {
  const out = await ssm().send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  const value = out.Parameter?.Value ?? '';
  if (value.length < 32) throw new Error(`the SSM parameter ${name} must hold a secret of at least 32 characters`);
  return new TextEncoder().encode(value);
}

/**
 * The signing secret, kept for a few minutes by a warm function (so a rotation takes effect without
 * a deploy): USER_TOKEN_SECRET, else the SSM parameter USER_TOKEN_SECRET_PARAMETER names, else the
 * one stored in the table, made first if `create` (issuing); undefined when none exists yet and
 * `create` is false.
 */
async function signingKey(create: boolean): Promise<Uint8Array | undefined> {
  if (config.USER_TOKEN_SECRET) return new TextEncoder().encode(config.USER_TOKEN_SECRET);
  if (cached && cached.until > wallNow()) return cached.key;
  // Callers at once share one read (a delivery job's recipients each sign tracking links).
  let read = reading.get(create);
  if (!read) {
    read = (async () => {
      const found = config.USER_TOKEN_SECRET_PARAMETER
        ? await parameterSecret(config.USER_TOKEN_SECRET_PARAMETER)
        : create
          ? await storedSigningKey(true)
          : await storedSigningKey(false);
      if (found) cached = { key: found, until: wallNow() + SECRET_TTL_MS };
      return found;
    })().finally(() => reading.delete(create));
    reading.set(create, read);
  }
  return read;
}

/**
 * The key of tracking links (domain/tracking.ts, docs/decisions.md D22): derived from the user-token
 * signing secret, so every function that may sign or verify them shares it without a secret of its
 * own. `create` (a function that sends) makes the stored secret when none exists yet; undefined
 * when none exists and `create` is false (no link was ever signed, so none is valid).
 */
export async function trackingKey(create: boolean): Promise<Uint8Array | undefined> {
  const secret = await signingKey(create);
  return secret && deriveTrackingKey(secret);
}

/** Forgets the secret a warm function holds (tests of rotation). */
export const forgetSigningKey = (): void => {
  cached = undefined;
};

/** A signed user token carrying `scope` (as given), valid for `seconds`. */
export async function issueToken(scope: string, seconds: number): Promise<string> {
  const now = Math.floor(clockNow() / 1000);
  const secret = await signingKey(true);
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setIssuer(ISSUER)
    .setIssuedAt(now)
    .setExpirationTime(now + seconds)
    .sign(secret!);
}

/** A valid token's scopes, when it was issued (seconds) and when it expires (ms); an AuthenticationError for a bad signature, an expired token, or garbage. */
export async function verifyUserToken(token: string): Promise<{ scopes: Scopes; issuedAt: number; expiresAt: number }> {
  const secret = await signingKey(false);
  if (!secret) throw new AuthenticationError('Unauthorized: the token is not valid');
  let payload: JWTPayload;
  try {
    // Expiry is judged on the one clock (lambdas/shared/clock.ts), the system clock on AWS.
    ({ payload } = await jwtVerify(token, secret, { algorithms: [ALG], issuer: ISSUER, currentDate: new Date(clockNow()) }));
  } catch (e) {
    // Only the token's own faults are a 401; a failure to read the secret is the server's (500).
    if (e instanceof joseErrors.JWTExpired) throw new AuthenticationError('Unauthorized: the token has expired');
    throw new AuthenticationError('Unauthorized: the token is not valid');
  }
  const parsed = typeof payload.scope === 'string' ? parseScopes(payload.scope) : undefined;
  if (!parsed?.ok) throw new AuthenticationError('Unauthorized: the token carries no valid scope');
  for (const userId of parsed.scopes.userIds) {
    const validAfter = await tokensValidAfter(userId);
    if (validAfter !== undefined && (payload.iat ?? 0) < validAfter) throw new AuthenticationError('Unauthorized: the token has been revoked');
  }
  return { scopes: parsed.scopes, issuedAt: payload.iat ?? 0, expiresAt: (payload.exp ?? 0) * 1000 };
}

/** The scopes of a valid token; an AuthenticationError for a bad signature, an expired token, or garbage. */
export const verifyToken = async (token: string): Promise<Scopes> => (await verifyUserToken(token)).scopes;

type HttpMiddleware = middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;

const SCOPES = Symbol('scopes');
/** The verified scopes of the request's user token (set by `userTokenAuth`). */
export const tokenScopes = (event: APIGatewayProxyEventV2): Scopes => (event as unknown as { [SCOPES]: Scopes })[SCOPES];

/**
 * End-user routes accept only a user token (`Authorization: Bearer <jwt>` from POST
 * /auth/issue-token); an API key is not one, so it gets 401 here, as a token does on admin routes.
 */
export function userTokenAuth(): HttpMiddleware {
  return {
    before: async (request) => {
      const token = bearerToken(request.event.headers);
      if (!token) throw new AuthenticationError('Unauthorized: a user token is required (Authorization: Bearer <token from POST /auth/issue-token>)');
      (request.event as unknown as { [SCOPES]: Scopes })[SCOPES] = await verifyToken(token);
    },
  };
}
