/**
 * The inbox GraphQL endpoint's pure parts (lambdas/http/inbox-graphql.ts): its schema, the limits
 * of a request, the mapping of the client's filter to the inbox store's, and of a stored message to
 * the client's node. The schema's deviations from Courier's are listed in inbox-graphql-schema.ts.
 */
import {
  buildSchema,
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  specifiedRules,
  type ASTVisitor,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { idSchema } from './ids';
import type { OutputBlock } from './render';
import { INBOX_SDL } from './inbox-graphql-schema';

export const inboxSchema = buildSchema(INBOX_SDL);

/** Longest query document accepted (the body's `query`), and most tokens parsed in it. */
export const MAX_QUERY_CHARS = 32_000;
export const MAX_QUERY_TOKENS = 4_000;
/** Most root fields of one operation (each reads or writes the store: a batch of opens, the unread counts of several tabs). */
export const MAX_ROOT_FIELDS = 100;
/** Deepest selection (messages > nodes > actions > href is 4). */
export const MAX_DEPTH = 6;
/** Page sizes `messages(limit:)` accepts. */
export const MAX_PAGE = 100;

/**
 * A validation rule bounding each operation: at most MAX_ROOT_FIELDS root fields and MAX_DEPTH
 * levels, fragments expanded (a fragment cycle is the spec rule NoFragmentCycles' error; it is not
 * followed twice here).
 */
export function limitsRule(context: ValidationContext): ASTVisitor {
  const measure = (set: SelectionSetNode, seen: Set<string>): { fields: number; depth: number } => {
    let fields = 0;
    let depth = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        fields += 1;
        depth = Math.max(depth, 1 + (sel.selectionSet ? measure(sel.selectionSet, seen).depth : 0));
      } else {
        const inner =
          sel.kind === Kind.INLINE_FRAGMENT ? sel.selectionSet : seen.has(sel.name.value) ? undefined : context.getFragment(sel.name.value)?.selectionSet;
        if (!inner) continue;
        const m = measure(inner, sel.kind === Kind.FRAGMENT_SPREAD ? new Set([...seen, sel.name.value]) : seen);
        fields += m.fields;
        depth = Math.max(depth, m.depth);
      }
    }
    return { fields, depth };
  };
  return {
    OperationDefinition(node) {
      const { fields, depth } = measure(node.selectionSet, new Set());
      if (fields > MAX_ROOT_FIELDS)
        context.reportError(new GraphQLError(`An operation may select at most ${MAX_ROOT_FIELDS} root fields (${fields} here)`, { nodes: node }));
      if (depth > MAX_DEPTH) context.reportError(new GraphQLError(`An operation may nest at most ${MAX_DEPTH} levels (${depth} here)`, { nodes: node }));
    },
  };
}

/** The rules a request is validated with: the spec's, no introspection (the client never asks), and the limits. */
export const inboxRules = [...specifiedRules, NoSchemaIntrospectionCustomRule, limitsRule];

/** The client's FilterParamsInput. */
export interface FilterParams {
  accountId?: string | null;
  archived?: boolean | null;
  status?: string | null;
  tags?: string[] | null;
  from?: string | null;
}

/** The inbox store's filter (store/inbox.ts InboxFilter): a listing of the active inbox or of the archive. */
export interface StoreFilter {
  tenantId?: string;
  archived: boolean;
  read?: boolean;
}

export type ErrorCode = 'BAD_USER_INPUT' | 'FORBIDDEN' | 'NOT_SUPPORTED' | 'NOT_FOUND';
export type Mapped<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

/**
 * The store filter of the client's params, for a token scoped to `tokenTenant` (if any): as the REST
 * inbox, a tenant-scoped token reads its tenant only (another `accountId` is FORBIDDEN) and an
 * unscoped one the `accountId` it names, or every tenant. Unset `archived` is the active inbox (not
 * archived), as the client documents; `status` read or unread. Tags and a `from` time are not kept
 * by the store: refused (an empty tag list is no filter).
 */
export function storeFilter(params: FilterParams | null | undefined, tokenTenant: string | undefined): Mapped<StoreFilter> {
  const p = params ?? {};
  if (p.tags && p.tags.length > 0)
    return { ok: false, code: 'NOT_SUPPORTED', message: 'params.tags: filtering by tags is not supported (this inbox keeps no tags)' };
  if (p.from !== undefined && p.from !== null) return { ok: false, code: 'NOT_SUPPORTED', message: 'params.from: filtering by creation time is not supported' };
  if (p.status !== undefined && p.status !== null && p.status !== 'read' && p.status !== 'unread')
    return { ok: false, code: 'BAD_USER_INPUT', message: `params.status: must be "read" or "unread", not ${JSON.stringify(p.status.slice(0, 64))}` };
  if (p.accountId !== undefined && p.accountId !== null && !idSchema.safeParse(p.accountId).success)
    return { ok: false, code: 'BAD_USER_INPUT', message: 'params.accountId: must be 1-256 characters' };
  const account = p.accountId ?? undefined;
  if (tokenTenant !== undefined && account !== undefined && account !== tokenTenant)
    return { ok: false, code: 'FORBIDDEN', message: `Forbidden: the token is scoped to another tenant than ${account}` };
  const tenantId = tokenTenant ?? account;
  return {
    ok: true,
    value: {
      ...(tenantId !== undefined ? { tenantId } : {}),
      archived: p.archived === true,
      ...(p.status ? { read: p.status === 'read' } : {}),
    },
  };
}

/** A stored inbox message as the store lists it (store/inbox.ts InboxMessage). */
export interface StoredMessage {
  messageId: string;
  title?: string;
  body?: string;
  blocks?: OutputBlock[];
  created: number;
  read: boolean;
  archived: boolean;
  opened: boolean;
}

export interface MessageNode {
  messageId: string;
  read: boolean;
  archived: boolean;
  opened: boolean;
  created: string;
  title: string | null;
  preview: string | null;
  data: null;
  tags: null;
  trackingIds: { clickTrackingId: string };
  actions: { content: string; href: string | null; data: null }[];
}

/**
 * The client's node of a stored message: `preview` is its body, `actions` its action blocks (their
 * text and link, which is a signed click link when inbox tracking is on), `clickTrackingId` the
 * message id (`clicked` checks it).
 */
export function toNode(m: StoredMessage): MessageNode {
  return {
    messageId: m.messageId,
    read: m.read,
    archived: m.archived,
    opened: m.opened,
    created: new Date(m.created).toISOString(),
    title: m.title ?? null,
    preview: m.body ?? null,
    data: null,
    tags: null,
    trackingIds: { clickTrackingId: m.messageId },
    actions: (m.blocks ?? []).filter((b) => b.type === 'action').map((b) => ({ content: b.text, href: b.href ?? null, data: null })),
  };
}
