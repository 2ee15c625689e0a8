import { messageIdFor, messageIdTime, newRequestId, parseMessageId, requestIdFor, slotMessageId } from '../../../lambdas/domain/send';
import { keys } from '../../../lambdas/store/keys';

const at = Date.UTC(2026, 10, 29, 18, 30);

describe('messageIdTime', () => {
  it.each([
    ['a request id made now', newRequestId(at), at],
    ['a message id of a fan-out', messageIdFor(newRequestId(at), 'user:u1'), at],
    ['a message id of a fan-out job slot', slotMessageId(newRequestId(at), { outbox: 1_000_250, job: 9, slot: 24 }), at],
    ['an idempotent request id', requestIdFor(at, 'scope'), at],
    ['the first id time there is', '000000000' + '0'.repeat(13), 0],
    ['an id that is not ours (a dash)', '1700000000002-a', undefined],
    ['an id that is not ours (too short)', 'abc', undefined],
    ['an id that is not ours (upper case)', 'ABCDEFGHIJKL', undefined],
  ])('%s', (_, id, expected) => {
    expect(messageIdTime(id)).toBe(expected);
  });
});

describe('parseMessageId', () => {
  const req = newRequestId(at);
  it.each([
    ['a single send', req, { requestId: req, suffix: '-' }],
    ['a recipient-derived id', messageIdFor(req, 'u:x'), { requestId: req, suffix: messageIdFor(req, 'u:x').slice(req.length + 1) }],
    ['a job slot', slotMessageId(req, { outbox: 500, job: 12, slot: 24 }), { requestId: req, suffix: 'dw.c.o', slot: { outbox: 500, job: 12, slot: 24 } }],
    ['a slot id with a part missing', `${req}.dw.c`, undefined],
    ['a slot id with upper case', `${req}.DW.c.o`, undefined],
  ])('%s', (_, id, expected) => {
    expect(parseMessageId(id)).toEqual(expected);
  });
});

describe('keys.inboxSince', () => {
  const within = (sk: string, [start, end]: [string, string]) => sk >= start && sk <= end;
  it.each([
    ['an id made at the time is in', at, at, true],
    ['an id made a millisecond later is in', at + 1, at, true],
    ['an id made a millisecond earlier is out', at - 1, at, false],
    ['an id made years later is in', at + 10 * 365 * 86_400_000, at, true],
  ])('%s', (_, made, from, expected) => {
    const sk = keys.inboxMessage('u', messageIdFor(newRequestId(made), 'user:u')).sk;
    expect(within(sk, keys.inboxSince(from))).toBe(expected);
  });

  it('leaves out the counter item of the same partition', () => {
    expect(within(keys.inboxUnread('u').sk, keys.inboxSince(0))).toBe(false);
  });
});
