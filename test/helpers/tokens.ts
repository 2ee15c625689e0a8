import type { TestStack } from './stack';

export const INBOX_READ = 'inbox:read:messages';
export const INBOX_WRITE = 'inbox:write:events';

/** A user token from the stack's POST /auth/issue-token (with the API key). */
export async function issueToken(s: TestStack, scope: string, expires_in = '1h'): Promise<string> {
  const res = await s.http('POST', '/auth/issue-token', { scope, expires_in });
  expect(res.status).toBe(200);
  return res.json.token as string;
}
