import { startRecorder, type Recorded, type Recorder, type Reply } from '../integration/providers/recorder';
import { via } from './builders';
import { sendAndWait } from './send';
import type { TestStack } from './stack';

/** What the stand-in answers for a ticket id's receipt, one step per getReceipts request naming it: a receipt, not ready yet, or a 503. */
export type ReceiptStep = 'ok' | 'gone' | 'not-ready' | 503;

/** An Expo stand-in (push/send and push/getReceipts) configured as the stack's expo provider, with receipts planned per ticket. */
export interface ExpoStandIn {
  expo: Recorder;
  /** The steps a ticket's receipt goes through (then `ok`). */
  plans: Map<string, ReceiptStep[]>;
  ticketOf(token: string): string;
  /** The getReceipts requests that named a ticket. */
  receiptRequests(ticket: string): Recorded[];
  /** A user with these stored Expo tokens, pushed to once (SENT on its tickets): the message id. */
  pushTo(user: string, tokens: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function startExpo(s: TestStack): Promise<ExpoStandIn> {
  const plans = new Map<string, ReceiptStep[]>();
  const ticketOf = (token: string) => `ticket-${token}`;
  const answer = (req: Recorded): Reply => {
    if (req.path.endsWith('/push/send'))
      return { status: 200, body: { data: (JSON.parse(req.body) as { to: string }[]).map((m) => ({ status: 'ok', id: ticketOf(m.to) })) } };
    const ids = (JSON.parse(req.body) as { ids: string[] }).ids;
    const steps = ids.map((id) => plans.get(id)?.shift() ?? 'ok');
    if (steps.includes(503)) return { status: 503, body: 'unavailable' };
    const data: Record<string, unknown> = {};
    ids.forEach((id, i) => {
      if (steps[i] === 'ok') data[id] = { status: 'ok' };
      else if (steps[i] === 'gone')
        data[id] = { status: 'error', message: `"${id}" is not a registered push notification recipient`, details: { error: 'DeviceNotRegistered' } };
    });
    return { status: 200, body: { data } };
  };
  const expo = await startRecorder();
  expo.reply(answer);
  const providerId = (await s.client.providers.create({ provider: 'expo', settings: { access_token: 'expo-access-token', api_url: expo.url } } as never)).id;
  return {
    expo,
    plans,
    ticketOf,
    receiptRequests: (ticket) =>
      expo.requests.filter((r) => r.path.endsWith('/push/getReceipts') && (JSON.parse(r.body) as { ids: string[] }).ids.includes(ticket)),
    async pushTo(user, tokens) {
      for (const token of tokens) await s.client.users.tokens.addSingle(token, { user_id: user, provider_key: 'expo' });
      const sent = await sendAndWait(s, { to: { user_id: user }, content: { title: 'Hi', body: 'From Expo' }, routing: via('expo') }, 1);
      expect(sent.messages[0].status).toBe('SENT');
      return sent.messages[0].id;
    },
    async close() {
      await s.client.providers.delete(providerId);
      await expo.close();
    },
  };
}
