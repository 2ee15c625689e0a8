import { startTestStack, type TestStack } from '../helpers/stack';
import { messagesOf, sendAndWait, TERMINAL } from '../helpers/send';
import { eventually, uid } from '../helpers/wait';
import { seedMembers } from '../helpers/seed';
import { startWebhookServer } from '../helpers/webhook-server';
import { aTenant, aUser, someUsers, via, webhookProfile } from '../helpers/builders';

/**
 * Fault injection (issue 5): providers that fail, go down, or answer slowly; a fan-out worker
 * that dies mid-way; concurrent retries of one request. Each test reports what it measured.
 */
const CLOSED = 'http://127.0.0.1:9'; // the discard port: nothing listens, connections are refused

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({
    // A crashed fan-out job comes back after 3 s; delivery jobs keep the production timeout.
    visibilityTimeoutSeconds: { fanout: 3 },
    env: { RETRY_BASE_MS: '1000', CACHE_TTL_MS: '0', SES_ENDPOINT: CLOSED, SNS_ENDPOINT: CLOSED },
  });
});
afterAll(() => s?.stop());

const report = (name: string, figures: Record<string, unknown>) => process.stdout.write(`fault suite: ${name}: ${JSON.stringify(figures)}\n`);

async function withProviders(providers: Record<string, unknown>[], run: () => Promise<void>) {
  const ids: string[] = [];
  for (const p of providers) ids.push((await s.http('POST', '/providers', p)).json.id);
  try {
    await run();
  } finally {
    for (const id of ids) await s.http('DELETE', `/providers/${id}`);
  }
}

describe('retries and failover', () => {
  it('retries a provider failing 503 twice, then delivers once after three attempts with growing gaps', async () => {
    const hook = await startWebhookServer({ failFirst: 2, failStatus: 503 });
    try {
      const u = await aUser(s, webhookProfile(hook.url), 'flaky');
      const { messages } = await sendAndWait(s, { to: { user_id: u }, content: { body: 'hook' }, routing: via('webhook') }, 1, 60_000);
      const [m] = messages;
      expect(m.status).toBe('DELIVERED');
      const calls = await hook.callsFor(m.id);
      expect(calls).toHaveLength(3);
      const history = (await s.client.messages.history(m.id)).results as { type: string; attempt?: number; retry_in_ms?: number; ts: number }[];
      const attempts = history.filter((e) => e.type === 'PROVIDER_ERROR' || e.type === 'DELIVERED');
      expect(attempts.map((e) => [e.type, e.attempt])).toEqual([
        ['PROVIDER_ERROR', 1],
        ['PROVIDER_ERROR', 2],
        ['DELIVERED', 3],
      ]);
      const waits = attempts.slice(0, 2).map((e) => e.retry_in_ms!);
      expect(waits[1]).toBeGreaterThan(waits[0]);
      const gaps = [calls[1].at - calls[0].at, calls[2].at - calls[1].at];
      // Each call came no sooner than its scheduled wait (the waits themselves grow, by design;
      // the observed gaps add queue and poll latency, so their order is not asserted).
      gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(waits[i] - 50));
      expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(1);
      report('503 twice then 200', { attempts: calls.length, scheduledWaitsMs: waits, observedGapsMs: gaps });
    } finally {
      await hook.close();
    }
  });

  it('fails over from a provider that is down to the next one', async () => {
    const smtp = new URL(process.env.LOCAL_SMTP_URL!);
    await withProviders(
      [
        { provider: 'ses', priority: 1, settings: { from: 'a@x.test', region: 'us-east-1' } },
        { provider: 'smtp', priority: 2, settings: { host: smtp.hostname, port: Number(smtp.port), from: 'b@x.test' } },
      ],
      async () => {
        const { messages } = await sendAndWait(
          s,
          {
            to: { email: `${uid('fo')}@x.test` },
            content: { body: 'x' },
            routing: via('email'),
            timeout: { provider: { ses: 1500 } },
          },
          1,
          60_000,
        );
        expect(messages[0]).toMatchObject({ status: 'SENT', channel: 'email' });
        const history = (await s.client.messages.history(messages[0].id)).results as { type: string; provider?: string }[];
        expect(history.filter((e) => e.type === 'PROVIDER_ERROR').every((e) => e.provider === 'ses')).toBe(true);
        expect(history.find((e) => e.type === 'SENT')?.provider).toBe('smtp');
        expect(s.captures().filter((c) => c.messageId === messages[0].id)).toHaveLength(1);
        report('first provider down', { sesAttempts: history.filter((e) => e.type === 'PROVIDER_ERROR').length, deliveredBy: 'smtp' });
      },
    );
  });

  it('moves to the next channel (sms) when every email provider is down, and ends UNDELIVERABLE when everything is', async () => {
    await withProviders(
      [
        { provider: 'ses', priority: 1, settings: { from: 'a@x.test' } },
        { provider: 'smtp', priority: 2, settings: { host: '127.0.0.1', port: 9, from: 'b@x.test' } },
      ],
      async () => {
        const u = uid('both');
        await s.client.profiles.replace(u, { profile: { email: `${u}@x.test`, phone_number: '+15550100' } });
        const message = {
          to: { user_id: u },
          content: { body: 'x' },
          routing: via('email', 'sms'),
          timeout: { provider: { ses: 500, smtp: 500, sns: 500 } },
        };
        const sms = await sendAndWait(s, message, 1, 60_000);
        expect(sms.messages[0]).toMatchObject({ status: 'SENT', channel: 'sms' });

        await withProviders([{ provider: 'sns', settings: {} }], async () => {
          const down = await sendAndWait(s, message, 1, 60_000);
          expect([down.messages[0].status, down.messages[0].reason]).toEqual(['UNDELIVERABLE', 'PROVIDER_ERROR']);
          const all = await s.client.messages.list({ recipient: u });
          expect((all.results ?? []).filter((m) => !TERMINAL.includes(m.status))).toEqual([]);
          report('everything down', { status: down.messages[0].status });
        });
      },
    );
  });
});

describe('idempotency under concurrency', () => {
  it('20 concurrent POST /send with one Idempotency-Key make one request and one delivery per recipient', async () => {
    const hook = await startWebhookServer();
    try {
      const key = uid('idem');
      const trace = uid('trace');
      const users = await someUsers(s, 3, () => webhookProfile(hook.url));
      const body = {
        message: {
          to: users.map((user_id) => ({ user_id })),
          content: { body: 'once' },
          routing: via('webhook'),
          metadata: { trace_id: trace },
        },
      };
      const answers = await Promise.all(Array.from({ length: 20 }, () => s.http('POST', '/send', body, { headers: { 'Idempotency-Key': key } })));
      const ok = answers.filter((a) => a.status === 202);
      expect(new Set(ok.map((a) => a.json.requestId)).size).toBe(1);
      for (const a of answers.filter((x) => x.status !== 202)) expect([a.status, a.headers.get('x-should-retry')]).toEqual([409, 'false']);
      await messagesOf(s, trace, 3);
      await s.quiesce();
      const messages = await messagesOf(s, trace, 3);
      expect(messages).toHaveLength(3);
      expect((await hook.calls()).filter((c) => messages.some((m) => m.id === c.messageId))).toHaveLength(3);
      report('20 concurrent sends, one key', { accepted: ok.length, conflicts: answers.length - ok.length, requests: 1, deliveries: 3 });
    } finally {
      await hook.close();
    }
  });
});

describe('a fan-out worker killed mid-way', () => {
  it('still reaches every member of a 5,000-member tenant exactly once', async () => {
    const hook = await startWebhookServer();
    const { sqs } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
    try {
      const t = await aTenant(s, {}, 'crash');
      await seedMembers(
        t,
        Array.from({ length: 5000 }, (_, i) => `${t}-u${i}`),
        () => ({ webhook: { url: hook.url } }),
      );

      // The fan-out dies (throws out of its invocation) on its third delivery-queue batch, as a
      // worker killed mid-way would: SQS redelivers its job after the visibility timeout.
      let batches = 0;
      let crashed = 0;
      sqs.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { QueueUrl?: string; Entries?: { MessageBody?: string }[] };
          if (context.commandName === 'SendMessageBatchCommand' && input.QueueUrl === s.queues.delivery.url && input.Entries?.[0]?.MessageBody?.includes(t)) {
            batches += 1;
            if (batches === 3) {
              crashed += 1;
              throw new Error('injected crash: the fan-out worker died here');
            }
          }
          return next(args);
        },
        { step: 'initialize', name: 'crashFanout' },
      );
      const trace = uid('trace');
      const t0 = Date.now();
      await s.client.send.message({
        message: { to: { tenant_id: t }, content: { body: 'x' }, routing: via('webhook'), metadata: { trace_id: trace } } as never,
      });
      // Poll the endpoint (cheap) until every member was reached, then read the log once.
      await eventually(
        async () => (await hook.calls()).length,
        (n) => n >= 5000,
        240_000,
      );
      await messagesOf(s, trace, 5000, 60_000);
      // The crashed job came back and finished: no delivery is still to come.
      await s.quiesce();
      sqs.middlewareStack.remove('crashFanout');
      const messages = await messagesOf(s, trace, 5000);

      const calls = await hook.calls();
      const perMessage = new Map<string, number>();
      for (const c of calls) perMessage.set(c.messageId, (perMessage.get(c.messageId) ?? 0) + 1);
      expect(crashed).toBe(1);
      expect(new Set(messages.map((m) => m.recipient)).size).toBe(5000);
      expect(messages.every((m) => m.status === 'DELIVERED')).toBe(true);
      expect([...perMessage.values()].filter((n) => n !== 1)).toEqual([]);
      expect(perMessage.size).toBe(5000);
      report('fan-out killed mid-way, 5,000 members', {
        crashes: crashed,
        messages: messages.length,
        providerCalls: calls.length,
        seconds: (Date.now() - t0) / 1000,
      });
    } finally {
      await hook.close();
    }
  }, 300_000);
});
