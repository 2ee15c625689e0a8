/**
 * Issue 11, item 6: cancel did not stop inbox delivery. Inbox-only deliveries skipped the claim, so
 * a cancel landing between the worker's read and its inbox write answered 200 CANCELED while the
 * inbox item was written anyway. The race is made deterministic: a DynamoDB middleware holds the
 * delivery worker's write at a chosen point and sends the cancel before letting it go.
 *
 * The race is on the delivery worker's path, so the stack sends single sends through the queue
 * (SEND_INLINE_MS 0): a single send delivered inline (D14) cannot be cancelled before it is
 * delivered, as no one knows its id until POST /send answers (test/integration/inline-send.test.ts).
 */
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';

type Next = (args: { input: unknown }) => Promise<unknown>;
/** A write of the delivery worker to stop at, and what to do there. */
let hold: { at: (command: string, input: string) => boolean; then: () => Promise<void> } | undefined;

let s: TestStack;
beforeAll(async () => {
  s = await startTestStack({ env: { SEND_INLINE_MS: '0' } });
  const { ddb } = require('../../lambdas/shared/aws') as typeof import('../../lambdas/shared/aws');
  const { functionScope } = require('../../lambdas/local/aws-calls') as typeof import('../../lambdas/local/aws-calls');
  (ddb.middlewareStack as unknown as { add(mw: (next: Next, ctx: { commandName?: string }) => Next, o: object): void }).add(
    (next, ctx) => async (args) => {
      const h = hold;
      // Only the delivery worker's writes (the API's own request and record writes go by).
      if (h && functionScope.getStore() === 'Worker-deliver' && h.at(String(ctx.commandName), JSON.stringify(args.input))) {
        hold = undefined;
        await h.then();
      }
      return next(args);
    },
    { step: 'initialize', name: 'holdWrite', priority: 'high' },
  );
});
afterAll(() => s?.stop());

const WRITES = /^(Put|Update|TransactWrite)(Item|Items)?Command$/;
/** A write's input names the user and is not the send's own ENQUEUED record nor the cancel's. */
const workerWrite = (userId: string) => (command: string, input: string) =>
  WRITES.test(command) && input.includes(userId) && !/"status":(\{"S":)?"(ENQUEUED|CANCELED)"/.test(input);
const inboxWrite = (userId: string) => (command: string, input: string) => WRITES.test(command) && input.includes(`INBOX#${userId}`);

async function inboxOf(userId: string): Promise<string[]> {
  const token = (await s.http('POST', '/auth/issue-token', { scope: `user_id:${userId} inbox:read:messages`, expires_in: '1h' })).json.token as string;
  const res = await s.http('GET', '/inbox/messages?archived=false', undefined, { key: token });
  return (res.json.results as { messageId: string }[]).map((m) => m.messageId);
}

describe('cancel racing an inbox delivery', () => {
  it.each([
    ['before the worker’s first write of the delivery', workerWrite, 200, 'CANCELED'],
    ['just before the inbox item is written', inboxWrite, 409, 'DELIVERED'],
  ] as const)('a cancel landing %s either stops it or is refused', async (_, point, cancelStatus, finalStatus) => {
    const userId = uid('racer');
    let messageId!: string;
    let sent!: () => void;
    const sentNow = new Promise<void>((r) => (sent = r));
    let cancel: { status: number; body: { status?: string } } | undefined;
    hold = {
      at: point(userId),
      then: async () => {
        await sentNow;
        const res = await s.http('POST', `/messages/${messageId}/cancel`, {});
        cancel = { status: res.status, body: res.json };
      },
    };
    try {
      const { requestId } = await s.client.send.message({
        message: { to: { user_id: userId }, content: { title: 'Race', body: 'Who wins?' }, routing: { method: 'single', channels: ['inbox'] } },
      });
      messageId = requestId;
      sent();
      const final = await eventually(
        async () => (await s.http('GET', `/messages/${messageId}`)).json.status as string,
        (st) => ['CANCELED', 'DELIVERED', 'UNDELIVERABLE'].includes(st),
      );
      expect(cancel).toBeDefined();
      const inbox = await inboxOf(userId);
      // Whatever the timing: a 200 CANCELED means nothing reached the inbox; a delivery means the cancel was refused.
      expect({ cancel: cancel!.status, final, inbox: inbox.includes(messageId) }).toEqual({
        cancel: cancelStatus,
        final: finalStatus,
        inbox: finalStatus === 'DELIVERED',
      });
    } finally {
      hold = undefined;
    }
  });
});
