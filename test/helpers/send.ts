import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { TestStack } from './stack';
import { eventually, uid } from './wait';

export const TERMINAL = ['SENT', 'DELIVERED', 'FILTERED', 'UNROUTABLE', 'UNDELIVERABLE', 'UNMAPPED', 'CANCELED', 'THROTTLED'];

export interface Msg {
  id: string;
  status: string;
  recipient: string;
  reason?: string | null;
  error?: string;
  channel?: string;
  tenant_id?: string;
}

/** Every message of a trace id, through the SDK, once `count` exist and all are terminal. */
export async function messagesOf(s: TestStack, traceId: string, count: number, timeoutMs = 30_000): Promise<Msg[]> {
  return eventually(
    async () => {
      const all: Msg[] = [];
      let cursor: string | undefined;
      do {
        const page = await s.client.messages.list({ traceId, cursor });
        all.push(...((page.results ?? []) as unknown as Msg[]));
        cursor = page.paging?.more ? (page.paging.cursor ?? undefined) : undefined;
      } while (cursor);
      return all;
    },
    (all) => all.length >= count && all.every((m) => TERMINAL.includes(m.status)),
    timeoutMs,
  );
}

/** Sends `message` with a fresh trace id and waits for `count` terminal messages. */
export async function sendAndWait(
  s: TestStack,
  message: Record<string, unknown>,
  count: number,
  timeoutMs?: number,
): Promise<{ requestId: string; messages: Msg[] }> {
  const trace = uid('trace');
  const metadata = { ...((message.metadata as object) ?? {}), trace_id: trace };
  const { requestId } = await s.client.send.message({ message: { ...message, metadata } as never });
  const messages = await messagesOf(s, trace, count, timeoutMs);
  return { requestId, messages };
}

/** The rendered text of a message on a channel (GET /messages/:id/output). */
export async function rendered(s: TestStack, messageId: string, channel = 'email'): Promise<string> {
  const out = await s.client.messages.content(messageId);
  const r = (out.results ?? []).find((x) => x.channel === channel);
  if (!r) throw new Error(`no ${channel} output for ${messageId}: ${JSON.stringify(out)}`);
  const c = r.content as unknown as Record<string, unknown>;
  return [c.subject, c.title, c.body, c.text].filter(Boolean).join('\n');
}

/** Sends an inbox message to `userId` (in `tenantId`'s context when given), waits for it to be DELIVERED, and returns its id. */
export async function deliverToInbox(s: TestStack, userId: string, title: string, tenantId?: string): Promise<string> {
  const { messages } = await sendAndWait(
    s,
    {
      to: { user_id: userId, ...(tenantId ? { tenant_id: tenantId } : {}) },
      content: { title, body: `${title} body` },
      routing: { method: 'single', channels: ['inbox'] },
    },
    1,
  );
  expect(messages[0].status).toBe('DELIVERED');
  return messages[0].id;
}

/** Waits for message `id` to be delivered (SENT: the capture accepted it, or DELIVERED) and answers it. */
export const deliveredMessage = (s: TestStack, id: string) =>
  eventually(
    () => s.client.messages.retrieve(id),
    (m) => m.status === 'SENT' || m.status === 'DELIVERED',
    30_000,
  );

/** Runs the sweeper at the stack's current clock and gives the jobs it started a moment to begin. */
export async function sweepOnce(s: TestStack): Promise<void> {
  await s.runScheduled();
  await new Promise((r) => setTimeout(r, 500));
}

/**
 * Waits until no batch is in flight and no work queue has a visible or in-flight message, twice in a
 * row: s.quiesce() less the delayed messages, which a delay's hops leave in the fan-out queue for up
 * to 15 real minutes (the tests move the clock past a delay's end instead of waiting for them).
 */
export async function idle(s: TestStack): Promise<void> {
  const read = async () => {
    const depths = await Promise.all(
      Object.values(s.queues).map(async (q) => {
        const { Attributes: a = {} } = await s.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: q.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
        );
        return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
      }),
    );
    return s.pollersIdle() && depths.every((n) => n === 0);
  };
  let quiet = 0;
  await eventually(
    async () => (quiet = (await read()) ? quiet + 1 : 0),
    (n) => n >= 2,
    60_000,
  );
}

/** An event of a message's history as `messages.history` answers it (the fields the hold and throttle tests read). */
export interface HistoryEvent {
  type: string;
  reason?: string;
  until?: number;
  timezone?: string;
  channel?: string;
  quiet_hours?: string;
}
export const historyOf = async (s: TestStack, id: string): Promise<HistoryEvent[]> =>
  (await s.client.messages.history(id)).results as unknown as HistoryEvent[];

/** A new user (`prefix` and a random suffix) with an email address and `profile`. */
export async function emailUser(s: TestStack, prefix: string, profile: Record<string, unknown> = {}): Promise<string> {
  const id = uid(prefix);
  await s.client.profiles.replace(id, { profile: { email: `${id}@example.test`, ...profile } });
  return id;
}
