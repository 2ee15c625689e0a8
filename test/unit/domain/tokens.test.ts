import { inboxAccess, MAX_TOKEN_SECONDS, parseDuration, parseScopes } from '../../../lambdas/domain/tokens';

describe('parseDuration', () => {
  it.each([
    ['2 hours', 7200],
    ['1d', 86_400],
    ['10h', 36_000],
    ['5s', 5],
    ['1y', 31_557_600],
    ['30 minutes', 1800],
    ['1 Week', 604_800],
    ['90 secs', 90],
    ['1.5h', 5400],
    [' 3 days ', 259_200],
    ['1500ms', 1],
  ])('%s is %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', 'soon', '5', 'h', '-1h', '1 fortnight', '500ms', '2y', '0s', '1h30m'])('refuses %p', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('allows up to a year', () => {
    expect(parseDuration('366d')).toBe(MAX_TOKEN_SECONDS);
    expect(parseDuration('367d')).toBeUndefined();
  });
});

describe('parseScopes', () => {
  it('collects users and tenants and keeps every scope', () => {
    const r = parseScopes('user_id:a/b  tenant_id:acme inbox:read:messages read:brands:main');
    expect(r).toEqual({
      ok: true,
      scopes: { userIds: ['a/b'], tenantIds: ['acme'], all: new Set(['user_id:a/b', 'tenant_id:acme', 'inbox:read:messages', 'read:brands:main']) },
    });
  });

  it.each([
    ['', 'must name at least one scope'],
    ['admin', 'unknown scope "admin"'],
    ['user_id:', 'unknown scope "user_id:"'],
    ['inbox:read:messages inbox:delete', 'unknown scope "inbox:delete"'],
  ])('refuses %p', (text, error) => {
    expect(parseScopes(text)).toEqual({ ok: false, error });
  });
});

describe('inboxAccess', () => {
  const scopes = (text: string) => {
    const r = parseScopes(text);
    if (!r.ok) throw new Error(r.error);
    return r.scopes;
  };
  it.each([
    ['user_id:u inbox:read:messages', 'inbox:read:messages', { ok: true, userId: 'u' }],
    ['user_id:u tenant_id:t inbox:write:events', 'inbox:write:events', { ok: true, userId: 'u', tenantId: 't' }],
    ['user_id:u inbox:read:messages', 'inbox:write:events', { ok: false, error: 'the token lacks the inbox:write:events scope' }],
    ['inbox:read:messages', 'inbox:read:messages', { ok: false, error: 'the token must be scoped to exactly one user_id' }],
    ['user_id:u user_id:v inbox:read:messages', 'inbox:read:messages', { ok: false, error: 'the token must be scoped to exactly one user_id' }],
    ['user_id:u tenant_id:a tenant_id:b inbox:read:messages', 'inbox:read:messages', { ok: false, error: 'the token may be scoped to one tenant_id at most' }],
  ] as const)('%s for %s', (text, need, want) => {
    expect(inboxAccess(scopes(text), need)).toEqual(want);
  });
});
