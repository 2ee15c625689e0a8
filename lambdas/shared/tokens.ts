import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { parseScopes, type Scopes } from '../domain/tokens';
import { storedSigningKey } from '../store/signing-key';
import { config } from './config';
import { AuthenticationError } from './errors';
import { bearerToken } from './middleware';

const ALG = 'HS256';
const ISSUER = 'courier-compatible-notifications';

let cached: Uint8Array | undefined;
/**
 * The signing secret, kept once read by a warm function: the configured one, else the stored one,
 * made first if `create` (issuing); undefined when none exists yet and `create` is false.
 */
async function signingKey(create: boolean): Promise<Uint8Array | undefined> {
  if (config.USER_TOKEN_SECRET) return (cached ??= new TextEncoder().encode(config.USER_TOKEN_SECRET));
  if (cached) return cached;
  const found = create ? await storedSigningKey(true) : await storedSigningKey(false);
  if (found) cached = found;
  return found;
}

/** A signed user token carrying `scope` (as given), valid for `seconds`. */
export async function issueToken(scope: string, seconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const secret = await signingKey(true);
  return new SignJWT({ scope }).setProtectedHeader({ alg: ALG, typ: 'JWT' }).setIssuer(ISSUER).setIssuedAt(now).setExpirationTime(now + seconds).sign(secret!);
}

/** The scopes of a valid token; an AuthenticationError for a bad signature, an expired token, or garbage. */
export async function verifyToken(token: string): Promise<Scopes> {
  try {
    const secret = await signingKey(false);
    if (!secret) throw new AuthenticationError('Unauthorized: the token is not valid');
    const { payload } = await jwtVerify(token, secret, { algorithms: [ALG], issuer: ISSUER });
    const parsed = typeof payload.scope === 'string' ? parseScopes(payload.scope) : undefined;
    if (!parsed?.ok) throw new AuthenticationError('Unauthorized: the token carries no valid scope');
    return parsed.scopes;
  } catch (e) {
    if (e instanceof AuthenticationError) throw e;
    if (e instanceof joseErrors.JWTExpired) throw new AuthenticationError('Unauthorized: the token has expired');
    throw new AuthenticationError('Unauthorized: the token is not valid');
  }
}

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
