/**
 * User tokens (`POST /auth/issue-token`): Courier's `expires_in` durations and space-separated
 * scopes. Pure parsing; signing and verifying live in lambdas/shared/tokens.ts.
 */

import { humanDurationMs } from './durations';

/** Longest lifetime a token may be issued for. */
export const MAX_TOKEN_SECONDS = 366 * 24 * 3600;

/**
 * Seconds in a human duration as Courier takes it: `"2 hours"`, `"1d"`, `"10h"`, `"5s"`, `"1y"`
 * (a number and a unit, case-insensitive, optional space). Undefined when it is not one, or when it
 * is under a second or over MAX_TOKEN_SECONDS.
 */
export function parseDuration(text: string): number | undefined {
  const ms = humanDurationMs(text);
  if (ms === undefined) return undefined;
  const seconds = Math.floor(ms / 1000);
  return seconds >= 1 && seconds <= MAX_TOKEN_SECONDS ? seconds : undefined;
}

/** Scopes a token may carry; `user_id:` and `tenant_id:` name whose data it reaches. */
const FIXED = new Set([
  'read:messages',
  'read:user-tokens',
  'write:user-tokens',
  'inbox:read:messages',
  'inbox:write:events',
  'read:preferences',
  'write:preferences',
  'read:brands',
  'write:brands',
]);
const NAMED = /^(user_id|tenant_id|read:brands|write:brands):(.{1,256})$/;

export interface Scopes {
  userIds: string[];
  tenantIds: string[];
  /** Every scope as written, for `has`. */
  all: Set<string>;
}

export type ScopeResult = { ok: true; scopes: Scopes } | { ok: false; error: string };

/** Parses a space-separated scope string; the error names the first scope it does not know. */
export function parseScopes(text: string): ScopeResult {
  const parts = text.split(/\s+/).filter(Boolean);
  if (!parts.length) return { ok: false, error: 'must name at least one scope' };
  const scopes: Scopes = { userIds: [], tenantIds: [], all: new Set() };
  for (const part of parts) {
    const named = NAMED.exec(part);
    if (!named && !FIXED.has(part)) return { ok: false, error: `unknown scope "${part.slice(0, 64)}"` };
    if (named?.[1] === 'user_id') scopes.userIds.push(named[2]);
    if (named?.[1] === 'tenant_id') scopes.tenantIds.push(named[2]);
    scopes.all.add(part);
  }
  return { ok: true, scopes };
}

export type InboxAccess = { ok: true; userId: string; tenantId?: string } | { ok: false; error: string };

/**
 * What an inbox call may reach with these scopes: exactly one user, at most one tenant, and the
 * scope the call needs (`inbox:read:messages` to read, `inbox:write:events` to change state).
 */
export function inboxAccess(scopes: Scopes, need: 'inbox:read:messages' | 'inbox:write:events'): InboxAccess {
  if (scopes.userIds.length !== 1) return { ok: false, error: 'the token must be scoped to exactly one user_id' };
  if (scopes.tenantIds.length > 1) return { ok: false, error: 'the token may be scoped to one tenant_id at most' };
  if (!scopes.all.has(need)) return { ok: false, error: `the token lacks the ${need} scope` };
  return { ok: true, userId: scopes.userIds[0], ...(scopes.tenantIds[0] ? { tenantId: scopes.tenantIds[0] } : {}) };
}
