/**
 * Issue 13, docs/decisions.md D14: a single send due at once is delivered by the send function
 * before POST /send answers, with the request it stored (not read back) and no queue hop. What the
 * inline run has no time for (a failover past SEND_INLINE_MS) goes on through the delivery queue,
 * from the state it saved, and no provider is called twice.
 */
import { advanceClock } from '../../lambdas/shared/clock';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';
import { startRecorder, type Recorder } from './providers/recorder';

const INLINE_MS = 5_000;

let s: TestStack;
let ses: Recorder;
beforeAll(async () => {
  ses = await startRecorder();
  s = await startTestStack({ scheduleEveryMs: 0, env: { SES_ENDPOINT: ses.url, CACHE_TTL_MS: '0', SEND_INLINE_MS: String(INLINE_MS) } });
  const { ddb, sqs } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  const { functionScope } = require('../../lambdas/local/aws-calls') as typeof import('../../lambdas/local/aws-calls');
  // While `stopAfterClaim` is set, the send function can neither write a message's record item
  // with an outcome in it nor reach a queue: as if it stopped right after its provider call.
  const refuse =
    (when: (command: string, input: { Item?: Record<string, unknown> }) => boolean) =>
    (next: Next, ctx: { commandName?: string }) =>
    async (args: { input: unknown }) => {
      if (stopAfterClaim && functionScope.getStore() === 'Api-send' && when(String(ctx.commandName), args.input as { Item?: Record<string, unknown> }))
        throw new Error('injected: the send function stopped here');
      return next(args);
    };
  const { documentOf } = require('../../lambdas/store/messages') as typeof import('../../lambdas/store/messages');
  // The item as given, or marshalled ({ S: ... } / { B: ... }), whichever the middleware sees.
  const plain = (v: unknown) => (typeof v === 'object' && v !== null && ('S' in v || 'B' in v) ? Object.values(v)[0] : v);
  const outcome = (item: Record<string, unknown>) =>
    String(plain(item.sk)).startsWith('MSG#') && /"state":"sent"/.test(documentOf({ doc: plain(item.doc), docz: plain(item.docz) }));
  addMiddleware(
    ddb,
    refuse((command, input) => /^Put(Item)?Command$/.test(command) && input.Item !== undefined && outcome(input.Item)),
  );
  addMiddleware(
    sqs,
    refuse((command) => command.startsWith('SendMessage')),
  );
});

type Next = (args: { input: unknown }) => Promise<unknown>;
type Middleware = (next: Next, ctx: { commandName?: string }) => Next;
const addMiddleware = (client: unknown, mw: Middleware) =>
  (client as { middlewareStack: { add(mw: Middleware, o: object): void } }).middlewareStack.add(mw, { step: 'initialize', priority: 'high' });
let stopAfterClaim = false;
afterAll(async () => {
  await s?.stop();
  await ses?.close();
});

const statusOf = async (messageId: string) => (await s.http('GET', `/messages/${messageId}`)).json as { status: string; providers?: unknown };

async function inboxOf(userId: string): Promise<string[]> {
  const token = (await s.http('POST', '/auth/issue-token', { scope: `user_id:${userId} inbox:read:messages`, expires_in: '1h' })).json.token as string;
  const res = await s.http('GET', '/inbox/messages?archived=false', undefined, { key: token });
  return (res.json.results as { messageId: string }[]).map((m) => m.messageId);
}

/** An SES provider for email, at `priority`, sending from `from` (to the recorder). */
const sesProvider = (priority: number, from: string) => s.http('POST', '/providers', { provider: 'ses', priority, settings: { from, region: 'us-east-1' } });

/** A new user with an email address, once the stack is idle. */
async function aUser(prefix: string): Promise<string> {
  const userId = uid(prefix);
  await s.client.profiles.create(userId, { profile: { email: `${userId}@example.test` } });
  await s.quiesce();
  return userId;
}

/** The calls the stack's functions made from `from` on: who made them, and what. */
const callsSince = (from: number) => s.awsCalls().slice(from);

describe('a single send due at once', () => {
  it('to the inbox is delivered before POST /send answers, without the delivery queue or worker', async () => {
    const userId = await aUser('inline-inbox');
    const from = s.awsCalls().length;
    const { requestId } = await s.client.send.message({
      message: { to: { user_id: userId }, content: { title: 'Hi', body: 'Now' }, routing: { method: 'single', channels: ['inbox'] } },
    });
    // No waiting: it is there when the call returns.
    expect((await statusOf(requestId)).status).toBe('DELIVERED');
    expect(await inboxOf(userId)).toEqual([requestId]);
    await s.quiesce();
    const calls = callsSince(from);
    expect(calls.filter((c) => c.fn === 'Worker-deliver' || c.action.startsWith('sqs:'))).toEqual([]);
    // The request was stored, not read back (its item's only read would be a GetItem of the send function).
    expect(calls.filter((c) => c.fn === 'Api-send' && c.action === 'dynamodb:GetItem').length).toBe(1); // the API key
  });

  it('by email is handed to its provider before POST /send answers', async () => {
    const provider = await sesProvider(1, 'first@acme.test');
    expect(provider.status).toBeLessThan(300);
    ses.reply(() => ({ status: 200, body: { MessageId: 'ses-inline' } }));
    const userId = await aUser('inline-email');
    const before = ses.requests.length;
    const { requestId } = await s.client.send.message({
      message: { to: { user_id: userId }, content: { title: 'Hi', body: 'Now' }, routing: { method: 'single', channels: ['email'] } },
    });
    expect(ses.requests.length - before).toBe(1);
    expect((await statusOf(requestId)).status).toBe('SENT');
    await s.quiesce();
    expect(ses.requests.length - before).toBe(1);
    await s.http('DELETE', `/providers/${provider.json.id}`);
  });

  it('goes on through the delivery queue when a failover comes after the inline time is up, calling each provider once', async () => {
    const first = await sesProvider(1, 'first@acme.test');
    const second = await sesProvider(2, 'second@acme.test');
    expect([first.status, second.status].every((st) => st < 300)).toBe(true);
    // The first provider refuses for good, and takes longer than the inline run may: the failover
    // to the second is left to the delivery worker.
    ses.reply((req) => {
      if (req.body.includes('first@acme.test')) {
        advanceClock(INLINE_MS + 1_000);
        return { status: 400, headers: { 'x-amzn-errortype': 'MessageRejected' }, body: { message: 'Email address is not verified.' } };
      }
      return { status: 200, body: { MessageId: 'ses-second' } };
    });
    const userId = await aUser('inline-failover');
    const before = ses.requests.length;
    const from = s.awsCalls().length;
    const { requestId } = await s.client.send.message({
      message: { to: { user_id: userId }, content: { title: 'Hi', body: 'Failover' }, routing: { method: 'single', channels: ['email'] } },
    });
    const fromOf = (r: { body: string }) => (r.body.includes('first@acme.test') ? 'first' : 'second');
    // When POST /send answered, only the first provider had been called.
    expect(ses.requests.slice(before).map(fromOf)).toEqual(['first']);
    expect(
      await eventually(
        async () => (await statusOf(requestId)).status,
        (st) => st === 'SENT',
      ),
    ).toBe('SENT');
    await s.quiesce();
    expect(ses.requests.slice(before).map(fromOf)).toEqual(['first', 'second']);
    expect(callsSince(from).some((c) => c.fn === 'Api-send' && c.action === 'sqs:SendMessage')).toBe(true);
    for (const p of [first, second]) await s.http('DELETE', `/providers/${p.json.id}`);
  });

  it('by email under an Idempotency-Key, claimed by a delivery that then stopped, ends "outcome unknown" through the sweeper, its provider called once', async () => {
    const provider = await sesProvider(1, 'first@acme.test');
    ses.reply(() => ({ status: 200, body: { MessageId: 'ses-once' } }));
    const userId = await aUser('inline-stopped');
    const before = ses.requests.length;
    stopAfterClaim = true;
    let requestId: string;
    try {
      // Under a key the request is stored first, and the email claimed before it is sent (D14).
      const sent = await s.http(
        'POST',
        '/send',
        { message: { to: { user_id: userId }, content: { title: 'Hi', body: 'Once' }, routing: { method: 'single', channels: ['email'] } } },
        { headers: { 'Idempotency-Key': uid('key') } },
      );
      expect(sent.status).toBe(202);
      requestId = sent.json.requestId as string;
    } finally {
      stopAfterClaim = false;
    }
    // The provider accepted, and nothing recorded it: the message shows its claim.
    expect(ses.requests.length - before).toBe(1);
    expect((await statusOf(requestId)).status).toBe('ROUTED');
    // A grace period (and the claim's lease) on, the sweeper's walk finds it unfinished.
    const { config } = require('../../lambdas/shared/config') as typeof import('../../lambdas/shared/config');
    advanceClock(config.SWEEP_GRACE_MS + config.CLAIM_LEASE_MS + 60_000);
    await s.runScheduled();
    const final = await eventually(
      async () => (await s.http('GET', `/messages/${requestId}`)).json as { status: string; error?: string },
      (m) => m.status !== 'ROUTED',
    );
    expect([final.status, final.error]).toEqual(['UNDELIVERABLE', expect.stringMatching(/^outcome unknown/)]);
    await s.quiesce();
    expect(ses.requests.length - before).toBe(1);
    await s.http('DELETE', `/providers/${provider.json.id}`);
  });
});
