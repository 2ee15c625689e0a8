import { z } from 'zod';
import { parseDuration, parseScopes } from '../domain/tokens';
import { apiHandler } from '../shared/api';
import { now } from '../shared/clock';
import { noContent, route } from '../shared/router';
import { issueToken } from '../shared/tokens';
import { revokeUserTokens } from '../store/token-revocations';
import { bodyId } from './schemas';

const issueBody = z
  .object({
    scope: z.string().min(1).max(4096),
    expires_in: z.string().min(1).max(64),
  })
  .superRefine((body, ctx) => {
    const scopes = parseScopes(body.scope);
    if (!scopes.ok) ctx.addIssue({ code: 'custom', path: ['scope'], message: scopes.error });
    if (parseDuration(body.expires_in) === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['expires_in'],
        message: 'must be a duration from 1 second to 1 year, such as "2 hours", "1d", "10h", "5s" or "1y"',
      });
    }
  });

/**
 * `POST /auth/issue-token` (API key): a user token (JWT, HS256) carrying `scope`, valid for
 * `expires_in`. The inbox endpoints accept only such tokens. The response is `cache-control:
 * no-store`: neither caches nor the Idempotency-Key store keep a token.
 *
 * `POST /auth/revoke-tokens` `{ user_id }` (our addition): every token of that user issued so far
 * stops working (a token issued afterwards works). To invalidate every token of every user, rotate
 * the signing secret (README "API keys, user tokens and the inbox").
 */
export const routes = [
  route({
    method: 'POST',
    path: '/auth/issue-token',
    body: issueBody,
    handler: async ({ body }) => ({
      status: 200,
      body: { token: await issueToken(body.scope.trim().split(/\s+/).join(' '), parseDuration(body.expires_in)!) },
      headers: { 'cache-control': 'no-store' },
    }),
  }),
  route({
    method: 'POST',
    path: '/auth/revoke-tokens',
    body: z.object({ user_id: bodyId }),
    handler: async ({ body }) => {
      await revokeUserTokens(body.user_id, now());
      return noContent();
    },
  }),
];

export const handler = apiHandler(routes);
