import { judgeReceipts, type ReceiptLike, type ReceiptVerdict } from '../../../lambdas/domain/push-receipts';

const a = { id: 'ticket-a', token: 'ExponentPushToken[a]' };
const b = { id: 'ticket-b', token: 'ExponentPushToken[b]' };
const gone: ReceiptLike = {
  status: 'error',
  message: '"ExponentPushToken[a]" is not a registered push notification recipient',
  details: { error: 'DeviceNotRegistered' },
};
const tooBig: ReceiptLike = { status: 'error', message: 'Message too big', details: { error: 'MessageTooBig' } };

describe('judgeReceipts: what Expo push receipts say about one message', () => {
  it.each<[string, (typeof a)[], Record<string, ReceiptLike>, string[], ReceiptVerdict]>([
    ['one ok receipt', [a], { 'ticket-a': { status: 'ok' } }, [], { outcome: 'DELIVERED', invalidTokens: [] }],
    [
      'one ok of two, the other DeviceNotRegistered',
      [a, b],
      { 'ticket-a': gone, 'ticket-b': { status: 'ok' } },
      [],
      { outcome: 'DELIVERED', invalidTokens: [a.token] },
    ],
    ['one ok, the other not ready', [a, b], { 'ticket-b': { status: 'ok' } }, [], { outcome: 'DELIVERED', invalidTokens: [] }],
    [
      'DeviceNotRegistered alone',
      [a],
      { 'ticket-a': gone },
      [],
      { outcome: 'UNDELIVERABLE', invalidTokens: [a.token], detail: `expo receipts: DeviceNotRegistered: ${gone.message}` },
    ],
    [
      'another error, with an earlier check’s error',
      [b],
      { 'ticket-b': tooBig },
      ['DeviceNotRegistered: gone'],
      { outcome: 'UNDELIVERABLE', invalidTokens: [], detail: 'expo receipts: DeviceNotRegistered: gone; MessageTooBig: Message too big' },
    ],
    ['an error without details', [a], { 'ticket-a': { status: 'error' } }, [], { outcome: 'UNDELIVERABLE', invalidTokens: [], detail: 'expo receipts: error' }],
    ['no receipt ready', [a, b], {}, [], { outcome: 'pending', invalidTokens: [], pending: [a, b], errors: [] }],
    [
      'one error, the other not ready',
      [a, b],
      { 'ticket-a': gone },
      [],
      { outcome: 'pending', invalidTokens: [a.token], pending: [b], errors: [`DeviceNotRegistered: ${gone.message}`] },
    ],
    [
      'a receipt of an unknown status counts as not ready',
      [a],
      { 'ticket-a': { status: 'queued' } },
      [],
      { outcome: 'pending', invalidTokens: [], pending: [a], errors: [] },
    ],
    [
      'a ticket id Object.prototype has is not a receipt',
      [{ id: 'constructor', token: 't' }],
      {},
      [],
      { outcome: 'pending', invalidTokens: [], pending: [{ id: 'constructor', token: 't' }], errors: [] },
    ],
  ])('%s', (_, tickets, receipts, earlier, expected) => {
    expect(judgeReceipts(tickets, receipts, earlier)).toEqual(expected);
  });
});
