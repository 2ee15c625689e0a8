/**
 * Issue 11, item 5: a delivered message recorded as failed, then sent on another channel. The
 * message record stored every rendered output and the job's data; after the provider accepted, a
 * record over DynamoDB's 400 KB could not be saved, the claim's lease expired, the email was marked
 * failed and `single` routing failed over: a second notification. Now the record keeps capped
 * outputs and no job data, and no failed save after a provider accepted leads to another call.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { messagesOf } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';
import { startWebhookServer } from '../helpers/webhook-server';

type Hook = Awaited<ReturnType<typeof startWebhookServer>>;
type Next = (args: { input: unknown }) => Promise<unknown>;

let s: TestStack;
let hook: Hook;
/** Set by a test: a DynamoDB call to refuse (as DynamoDB would, with an error that is not a conflict). */
let refuse: ((command: string, input: Record<string, unknown>) => boolean) | undefined;

beforeAll(async () => {
  // A short lease, so a claim left behind by a failed save expires within the test.
  s = await startTestStack({ env: { CLAIM_LEASE_MS: '2000' } });
  hook = await startWebhookServer();
  const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  (ddb.middlewareStack as unknown as { add(mw: (next: Next, ctx: { commandName?: string }) => Next, o: object): void }).add(
    (next, ctx) => async (args) => {
      if (refuse?.(String(ctx.commandName), args.input as Record<string, unknown>)) {
        throw Object.assign(new Error('Injected: the item could not be written'), { name: 'InternalServerError', $fault: 'server' });
      }
      return next(args);
    },
    { step: 'initialize', name: 'refuseWrites', priority: 'high' },
  );
});
afterAll(async () => {
  await hook?.close();
  await s?.stop();
});

const report = 'r'.repeat(210_000);
const documentOf = (item: Record<string, unknown>) =>
  (require('../../lambdas/store/messages') as typeof import('../../lambdas/store/messages')).documentOf(item);
/** The stored message record item, read straight from the table: the bytes its document takes as stored, and the document. */
async function storedItem(messageId: string): Promise<{ bytes: number; doc: Record<string, any> }> {
  const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  const out = await ddb.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: { pk: `REQUEST#${messageId}`, sk: 'MSG#-' } }));
  const item = out.Item!;
  return { bytes: item.docz instanceof Uint8Array ? item.docz.length : Buffer.byteLength(String(item.doc)), doc: JSON.parse(documentOf(item)) };
}
/** Any message record's stored document. */
async function storedMessage(requestId: string, messageId: string): Promise<Record<string, any>> {
  const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  const suffix = messageId === requestId ? '-' : messageId.slice(requestId.length + 1);
  const out = await ddb.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: { pk: `REQUEST#${requestId}`, sk: `MSG#${suffix}` } }));
  return JSON.parse(documentOf(out.Item!));
}
const emailsTo = (email: string) => s.captures().filter((c) => c.via === 'smtp' && c.to.includes(email));

async function send(message: Record<string, unknown>): Promise<{ messageId: string; trace: string }> {
  const trace = uid('trace');
  const { requestId } = await s.client.send.message({ message: { ...message, metadata: { trace_id: trace } } as never });
  return { messageId: requestId, trace };
}

describe('a large send to email with failover to a webhook', () => {
  it.each([
    ['the message data', (to: object) => ({ to, data: { report } })],
    ['the recipient’s data', (to: object) => ({ to: { ...to, data: { report } } })],
  ])('is delivered once, by email, with 210 KB in %s rendered into the body', async (_, shape) => {
    const email = `${uid('big')}@example.com`;
    const { messageId, trace } = await send({
      ...shape({ email, webhook: { url: hook.url } }),
      content: { title: 'Your report', body: 'Report: {{report}}' },
      routing: { method: 'single', channels: ['email', 'webhook'] },
    });
    // Terminal, or the webhook was called (the old failover): whichever comes first.
    await eventually(
      async () => ({ calls: (await hook.callsFor(messageId)).length, status: (await s.http('GET', `/messages/${messageId}`)).json.status as string }),
      (x) => x.calls > 0 || ['SENT', 'DELIVERED', 'UNDELIVERABLE'].includes(x.status),
      40_000,
    );
    const [m] = await messagesOf(s, trace, 1);
    expect([m.status, m.channel]).toEqual(['SENT', 'email']);
    expect(await hook.callsFor(messageId)).toEqual([]);
    expect(emailsTo(email)).toHaveLength(1);
    expect(emailsTo(email)[0]).toMatchObject({ text: expect.stringContaining(report) });

    // The record keeps capped outputs (with a marker) and no job data, far under DynamoDB's 400 KB.
    const item = await storedItem(messageId);
    expect(item.bytes).toBeLessThan(100_000);
    expect(item.doc.job.data).toBeUndefined();
    const out = (await s.http('GET', `/messages/${messageId}/output`)).json.results as { channel: string; content: { text: string; html: string } }[];
    expect(out.map((o) => o.channel)).toEqual(['email']);
    expect(out[0].content.text).toMatch(/^Report: rrrr/);
    expect(out[0].content.text).toMatch(/…\[truncated in the message log: \d+ more bytes\]$/);
    expect(out[0].content.text.length).toBeLessThan(report.length);
  });

  it('refuses, before any provider call, a recipient whose record would be over the limit', async () => {
    const email = `${uid('huge')}@example.com`;
    // 250 KB of inline profile (kept in the record's job entry to re-drive it) plus capped outputs.
    const { messageId } = await send({
      to: { email, webhook: { url: hook.url }, notes: 'n'.repeat(250_000) },
      content: { title: 'Notes', body: '{{profile.notes}}' },
      routing: { method: 'single', channels: ['email', 'webhook'] },
    });
    await eventually(
      async () => ({ calls: (await hook.callsFor(messageId)).length, status: (await s.http('GET', `/messages/${messageId}`)).json.status as string }),
      (x) => x.calls > 0 || ['SENT', 'DELIVERED', 'UNDELIVERABLE'].includes(x.status),
      40_000,
    );
    const m = (await s.http('GET', `/messages/${messageId}`)).json;
    expect([m.status, m.reason, m.error]).toEqual(['UNDELIVERABLE', 'FAILED', expect.stringMatching(/^message record too large: \d+ bytes/)]);
    expect(await hook.callsFor(messageId)).toEqual([]);
    expect(emailsTo(email)).toEqual([]);
  });

  /** Refuses every write of a record (an item's own or one a single send's request carries) that holds the email's outcome for `email`. */
  const refuseOutcomeOf =
    (email: string) =>
    (command: string, input: Record<string, unknown>): boolean => {
      const item = (input as { Item?: Record<string, unknown> }).Item;
      // The item as given, or marshalled ({ S: ... } / { B: ... }), whichever the middleware sees.
      const plain = (v: unknown) => (typeof v === 'object' && v !== null && ('S' in v || 'B' in v) ? Object.values(v)[0] : v);
      if (!/^Put(Item)?Command$/.test(command) || item === undefined || !String(plain(item.pk)).startsWith('REQUEST#')) return false;
      const docs = [
        documentOf({ doc: plain(item.doc), docz: plain(item.docz) }),
        item.rdoc !== undefined || item.rdocz !== undefined ? documentOf({ doc: plain(item.rdoc), docz: plain(item.rdocz) }) : '',
      ].join('\n');
      return docs.includes(email) && /"email":\{"state":"sent"/.test(docs);
    };
  const emailThenWebhook = (email: string) => ({
    to: { email, webhook: { url: hook.url } },
    content: { title: 'Hi', body: 'Once' },
    routing: { method: 'single', channels: ['email', 'webhook'] },
  });

  it('never calls the next channel when the outcome of a provider call cannot be saved', async () => {
    const email = `${uid('unsaved')}@example.com`;
    // Every write of this message's record that carries the email's outcome fails, as a write
    // of an item DynamoDB refuses would; every other write goes through. Under an Idempotency-Key
    // the request is stored first and the email claimed before it is sent (D14).
    refuse = refuseOutcomeOf(email);
    try {
      const sent = await s.http('POST', '/send', { message: emailThenWebhook(email) }, { headers: { 'Idempotency-Key': uid('key') } });
      expect(sent.status).toBe(202);
      const messageId = sent.json.requestId as string;
      await eventually(
        async () => ({ calls: (await hook.callsFor(messageId)).length, status: (await s.http('GET', `/messages/${messageId}`)).json.status as string }),
        (x) => x.calls > 0 || ['SENT', 'DELIVERED', 'UNDELIVERABLE'].includes(x.status),
        40_000,
      );
      expect(await hook.callsFor(messageId)).toEqual([]);
      const m = (await s.http('GET', `/messages/${messageId}`)).json;
      expect([m.status, m.reason, m.error]).toEqual(['UNDELIVERABLE', 'FAILED', expect.stringMatching(/^outcome unknown/)]);
      expect(emailsTo(email)).toHaveLength(1);
    } finally {
      refuse = undefined;
    }
  });

  it('answers 500 and calls no provider again when an inline send cannot store its request after a provider accepted', async () => {
    const email = `${uid('unstored')}@example.com`;
    // Without an Idempotency-Key the request is stored by the delivery's first write, with the
    // email's outcome in it (D14): that write fails here, and nothing may deliver the message again.
    refuse = refuseOutcomeOf(email);
    try {
      const hooked = (await hook.calls()).length;
      const sent = await s.http('POST', '/send', { message: emailThenWebhook(email) });
      expect(sent.status).toBe(500);
      // The job the failed delivery left on the queue finds no request and ends there.
      await s.quiesce(30_000);
      expect(emailsTo(email)).toHaveLength(1);
      expect((await hook.calls()).length).toBe(hooked);
    } finally {
      refuse = undefined;
    }
  });

  // Last in the file: it moves the stack's clock forward.
  it('re-drives a lost recipient with the data of its `to` entry, which its record does not keep', async () => {
    const code = uid('code');
    const [a, b] = [`${uid('a')}@example.com`, `${uid('b')}@example.com`];
    // The fan-out's delivery job for this send is lost (SQS answers, nothing is queued).
    const { sqs } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
    let dropped = 0;
    (sqs.middlewareStack as unknown as { add(mw: (next: Next, ctx: { commandName?: string }) => Next, o: object): void }).add(
      (next, ctx) => async (args) => {
        const entries = (args.input as { Entries?: { MessageBody?: string }[] }).Entries ?? [];
        if (
          ctx.commandName === 'SendMessageBatchCommand' &&
          dropped === 0 &&
          entries.some((e) => e.MessageBody?.includes(`"${code}-a"`) && e.MessageBody.includes('"deliver"'))
        ) {
          dropped += 1;
          return { output: { Successful: [], Failed: [] }, response: {} };
        }
        return next(args);
      },
      { step: 'initialize', name: 'loseDeliveryJob', priority: 'high' },
    );
    const { messageId: requestId, trace } = await send({
      to: [
        { email: a, data: { code: `${code}-a` } },
        { email: b, data: { code: `${code}-b` } },
      ],
      content: { title: 'Code', body: 'Your code is {{code}}' },
      routing: { method: 'single', channels: ['email'] },
    });
    await eventually(
      async () => dropped,
      (n) => n === 1,
    );
    const records = (await s.http('GET', `/messages?traceId=${trace}`)).json.results as { id: string; status: string }[];
    expect(records.map((m) => m.status)).toEqual(['ENQUEUED', 'ENQUEUED']);
    for (const m of records) expect((await storedMessage(requestId, m.id)).job.data).toBeUndefined();

    (require('../../lambdas/shared/clock') as typeof import('../../lambdas/shared/clock')).advanceClock(6 * 60_000);
    await s.runScheduled();
    const done = await messagesOf(s, trace, 2);
    expect(done.map((m) => m.status)).toEqual(['SENT', 'SENT']);
    expect(emailsTo(a).map((c) => (c as { text: string }).text)).toEqual([`Your code is ${code}-a`]);
    expect(emailsTo(b).map((c) => (c as { text: string }).text)).toEqual([`Your code is ${code}-b`]);
  });
});
