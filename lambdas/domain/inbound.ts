import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { idSchema } from './ids';

/**
 * Inbound events from customer data platforms (Segment's and RudderStack's webhook destinations):
 * their credentials and their event envelopes (the Segment Spec, which RudderStack follows), as
 * the actions this backend takes. Pure: the handler (lambdas/http/inbound.ts) applies them.
 */

/** Where an inbound event came from; part of its dedupe key (each source has its own messageIds). */
export type InboundSource = 'courier' | 'segment' | 'rudderstack';

/**
 * Segment's shared secret: the `X-Signature` header is the hex HMAC-SHA1 of the raw request body
 * under the secret (Webhooks and Webhooks (Actions) destinations). Compared in constant time.
 */
export function segmentSignatureValid(secret: string, rawBody: string, signature: string | undefined): boolean {
  if (!signature || !/^[0-9a-f]{40}$/i.test(signature.trim())) return false;
  const expected = createHmac('sha1', secret).update(rawBody, 'utf8').digest();
  return timingSafeEqual(expected, Buffer.from(signature.trim(), 'hex'));
}

/** The hex HMAC-SHA1 Segment sends in `X-Signature` for `rawBody` (tests and docs). */
export const segmentSignature = (secret: string, rawBody: string): string => createHmac('sha1', secret).update(rawBody, 'utf8').digest('hex');

/**
 * RudderStack's basic auth (the HTTP Webhook destination's "Basic Auth", or an `Authorization`
 * header set on the Webhook destination): `Basic base64(username:password)` whose password is the
 * secret; the username is not checked. Compared in constant time.
 */
export function basicAuthValid(secret: string, authorization: string | undefined): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const given = createHmac('sha256', 'compare')
    .update(decoded.slice(colon + 1))
    .digest();
  const wanted = createHmac('sha256', 'compare').update(secret).digest();
  return timingSafeEqual(given, wanted);
}

/** What one inbound event asks for. */
export type InboundAction =
  | { kind: 'track'; messageId: string; event: string; userId?: string; properties: Record<string, unknown> }
  | { kind: 'identify'; messageId: string; userId?: string; traits: Record<string, unknown> }
  | { kind: 'group'; messageId: string; userId?: string; groupId: string; traits: Record<string, unknown> }
  /** page, screen, alias and any other type: acknowledged, nothing done. */
  | { kind: 'ignored'; type: string };

/** The most events one request may carry (Segment's Webhooks (Actions) batches at most 4,000). */
export const MAX_INBOUND_EVENTS = 4000;

const jsonObject = z.record(z.string(), z.unknown());
/** An id as the Spec sends it; null is "not set". */
const optionalId = idSchema.nullish().transform((v) => v ?? undefined);
const common = {
  messageId: idSchema,
  userId: optionalId,
  anonymousId: z.string().nullish(),
  context: z.looseObject({ traits: jsonObject.nullish() }).nullish(),
};
const trackSchema = z.looseObject({ ...common, event: idSchema, properties: jsonObject.nullish() });
const identifySchema = z.looseObject({ ...common, traits: jsonObject.nullish() });
const groupSchema = z.looseObject({ ...common, groupId: idSchema, traits: jsonObject.nullish() });
const anyEvent = z.looseObject({ type: z.string().min(1).max(64) });

/** The events of a body: one event, an array of them (batched webhooks), or `{ batch: [...] }` (the Spec's batch). */
const envelope = z.union([
  z.array(z.unknown()).min(1).max(MAX_INBOUND_EVENTS),
  z.looseObject({ batch: z.array(z.unknown()).min(1).max(MAX_INBOUND_EVENTS) }),
  z.looseObject({ type: z.unknown() }),
]);

export class InboundBodyError extends Error {}

const issue = (prefix: string, error: z.ZodError): InboundBodyError => {
  const first = error.issues[0];
  const where = [prefix, ...(first?.path ?? []).map(String)].join('.');
  return new InboundBodyError(`Invalid request: ${where}: ${first?.message ?? 'invalid'}`);
};

/**
 * The actions of a Segment or RudderStack webhook body, in order, or an InboundBodyError naming the
 * first bad field (`body.batch.2.groupId: ...`): a body with one bad event is refused whole, so a
 * refusal changes nothing. An event repeated within the body (same messageId) counts once.
 */
export function parseCdpBody(body: unknown): InboundAction[] {
  const env = envelope.safeParse(body);
  if (!env.success) throw new InboundBodyError('Invalid request: body: must be an event, an array of events or { batch: [events] }');
  const [events, prefix] = Array.isArray(env.data)
    ? [env.data, 'body']
    : 'batch' in env.data
      ? [env.data.batch as unknown[], 'body.batch']
      : [[env.data], 'body'];
  const seen = new Set<string>();
  const actions: InboundAction[] = [];
  events.forEach((raw, i) => {
    const at = Array.isArray(env.data) || prefix === 'body.batch' ? `${prefix}.${i}` : prefix;
    const base = anyEvent.safeParse(raw);
    if (!base.success) throw issue(at, base.error);
    const action = toAction(base.data.type, raw, at);
    if ('messageId' in action) {
      if (seen.has(action.messageId)) return;
      seen.add(action.messageId);
    }
    actions.push(action);
  });
  return actions;
}

function toAction(type: string, raw: unknown, at: string): InboundAction {
  switch (type) {
    case 'track': {
      const e = parse(trackSchema, raw, at);
      return { kind: 'track', messageId: e.messageId, event: e.event, userId: e.userId, properties: e.properties ?? {} };
    }
    case 'identify': {
      // Segment sends traits at the top level; RudderStack's SDKs put them in context.traits.
      const e = parse(identifySchema, raw, at);
      return { kind: 'identify', messageId: e.messageId, userId: e.userId, traits: { ...e.context?.traits, ...e.traits } };
    }
    case 'group': {
      const e = parse(groupSchema, raw, at);
      return { kind: 'group', messageId: e.messageId, userId: e.userId, groupId: e.groupId, traits: e.traits ?? {} };
    }
    default:
      return { kind: 'ignored', type };
  }
}

function parse<T>(schema: z.ZodType<T>, raw: unknown, at: string): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw issue(at, r.error);
  return r.data;
}

/**
 * The tenant a `group` call creates when its groupId names none (Courier makes the membership;
 * a membership needs its tenant): named after the group's `name` trait, the traits as the
 * tenant's properties (template-visible as `{{tenant.properties.x}}`). An existing tenant is
 * never changed by a group call.
 */
export function tenantOfGroup(groupId: string, traits: Record<string, unknown>): { id: string; name: string; properties: Record<string, unknown> } {
  const name = typeof traits.name === 'string' && traits.name.trim() !== '' ? traits.name.slice(0, 256) : groupId;
  return { id: groupId, name, properties: traits };
}
