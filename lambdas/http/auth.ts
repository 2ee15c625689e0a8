import { z } from 'zod';
import { parseDuration, parseScopes } from '../domain/tokens';
import { apiHandler } from '../shared/api';
import { ok, route } from '../shared/router';
import { issueToken } from '../shared/tokens';

const issueBody = z
  .object({
    scope: z.string().min(1).max(4096),
    expires_in: z.string().min(1).max(64),
  })
  .superRefine((body, ctx) => {
    const scopes = parseScopes(body.scope);
    if (!scopes.ok) ctx.addIssue({ code: 'custom', path: ['scope'], message: scopes.error });
    if (parseDuration(body.expires_in) === undefined) {
      ctx.addIssue({ code: 'custom', path: ['expires_in'], message: 'must be a duration from 1 second to 1 year, such as "2 hours", "1d", "10h", "5s" or "1y"' });
    }
  });

/**
 * `POST /auth/issue-token` (API key): a user token (JWT, HS256) carrying `scope`, valid for
 * `expires_in`. The inbox endpoints accept only such tokens.
 */
export const routes = [
  route({
    method: 'POST',
    path: '/auth/issue-token',
    body: issueBody,
    handler: async ({ body }) => ok({ token: await issueToken(body.scope.trim().split(/\s+/).join(' '), parseDuration(body.expires_in)!) }),
  }),
];

export const handler = apiHandler(routes);
