/**
 * What a message record keeps (issue 11, item 5): rendered outputs cut to a budget with a marker,
 * no job data, a compact form for a save DynamoDB refuses; all far under the 400 KB item limit.
 */
import type { RenderedOutput } from '../../../lambdas/domain/render';
import type { DeliveryRecipient } from '../../../lambdas/shared/jobs';
import {
  capOutputs,
  compactRecord,
  COMPRESS_OVER_BYTES,
  documentOf,
  newMessageRecord,
  recordDocument,
  pack,
  recordBytes,
  RECORD_LIMIT_BYTES,
  STORED_OUTPUTS_BYTES,
  unpack,
  type MessageRecord,
  type RequestRecord,
} from '../../../lambdas/store/messages';

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
const MARKER = /…\[truncated in the message log: \d+ more bytes\]$/;
const req = (over: Partial<RequestRecord> = {}): RequestRecord => ({
  requestId: 'r0000000001',
  message: { to: { email: 'a@x.io' } } as RequestRecord['message'],
  enqueued: 1,
  single: true,
  ...over,
});
const recipient = (over: Partial<DeliveryRecipient> = {}): DeliveryRecipient => ({ messageId: 'r0000000001', inline: { email: 'a@x.io' }, ...over });

describe('capOutputs', () => {
  const big = (n: number, ch = 'a') => ch.repeat(n);
  it.each<[string, RenderedOutput[]]>([
    ['one email with 420 KB of text and html', [{ channel: 'email', subject: 'Report', text: big(210_000), html: `<p>${big(210_000)}</p>` }]],
    ['html full of quotes (JSON doubles them)', [{ channel: 'email', subject: 'Q', html: big(200_000, '"') }]],
    ['non-ASCII text (three bytes a character)', [{ channel: 'sms', body: big(100_000, '€') }]],
    ['control characters (six bytes of JSON each)', [{ channel: 'push', title: 't', body: big(50_000, '\u0001') }]],
    [
      'several channels at once',
      [
        { channel: 'email', text: big(90_000), html: big(90_000) },
        { channel: 'push', title: 'T', body: big(90_000) },
        { channel: 'webhook', body: big(10) },
      ],
    ],
    [
      'thousands of inbox blocks',
      [
        {
          channel: 'inbox',
          title: 'T',
          body: 'b',
          blocks: Array.from({ length: 5000 }, (_, i) => ({ type: 'action' as const, text: `Open ${i}`, href: `https://x.test/${i}` })),
        },
      ],
    ],
  ])('cuts %s to the budget, small fields whole, cut ones with the marker', (_, outputs) => {
    const capped = capOutputs(outputs);
    expect(bytes(capped)).toBeLessThanOrEqual(STORED_OUTPUTS_BYTES);
    capped.forEach((o, i) => {
      expect(o.channel).toBe(outputs[i].channel);
      for (const f of ['title', 'subject', 'body', 'text', 'html'] as const) {
        const was = outputs[i][f];
        if (was === undefined) continue;
        if (was.length <= 10) expect(o[f]).toBe(was);
        else if (o[f] !== was) {
          expect(o[f]).toMatch(MARKER);
          expect(was.startsWith(o[f]!.replace(MARKER, ''))).toBe(true);
        }
      }
    });
    const blocks = capped.flatMap((o) => o.blocks ?? []);
    if (blocks.length) expect(blocks[blocks.length - 1].text).toMatch(MARKER);
  });

  it('leaves outputs under the budget as they are', () => {
    const outputs: RenderedOutput[] = [{ channel: 'email', subject: 'Hi', text: 'Hello', html: '<p>Hello</p>' }];
    expect(capOutputs(outputs)).toBe(outputs);
  });
});

describe('the stored record', () => {
  it.each<[string, Partial<RequestRecord>, Partial<DeliveryRecipient>, unknown]>([
    ['keeps no data of a send’s recipient (the request has it)', {}, { data: { report: 'x'.repeat(1000) } }, undefined],
    ['keeps a bulk run’s per-user data (the request has not)', { bulkJobId: 'b1' }, { data: { plan: 'pro' } }, { plan: 'pro' }],
  ])('%s', (_, over, r, data) => {
    const record = newMessageRecord(req(over), recipient(r), 'ENQUEUED', 1);
    expect(unpack(pack(record)).job.data).toEqual(data);
    expect(record.job.inline).toEqual({ email: 'a@x.io' });
  });

  it('stores a delivered message with 210 KB rendered in its email far under the limit', () => {
    const record: MessageRecord = { ...newMessageRecord(req(), recipient({ data: { r: 'x'.repeat(210_000) } }), 'ENQUEUED', 1), status: 'SENT' };
    record.outputs = [{ channel: 'email', subject: 'Report', text: 'x'.repeat(210_000), html: 'x'.repeat(210_000) }];
    expect(recordBytes(record)).toBeLessThan(STORED_OUTPUTS_BYTES + 2_000);
    expect(RECORD_LIMIT_BYTES).toBeLessThan(400 * 1024);
  });

  it('compacts a record a save was refused for: outputs to 4 KB, history to its ends, a finished job to its ids', () => {
    const base = newMessageRecord(req(), recipient({ inline: { email: 'a@x.io', notes: 'n'.repeat(200_000) } }), 'ENQUEUED', 1);
    const history = Array.from({ length: 120 }, (_, i) => ({ ts: i, type: 'PROVIDER_ERROR', error: 'e'.repeat(5000) }));
    const record: MessageRecord = { ...base, status: 'SENT', history, outputs: [{ channel: 'email', text: 'x'.repeat(100_000) }] };
    const compact = compactRecord(record);
    expect(bytes(compact.outputs)).toBeLessThanOrEqual(4096);
    expect(compact.history).toHaveLength(41);
    expect(compact.history[10]).toEqual({ ts: 10, type: 'HISTORY_TRUNCATED', dropped: 80 });
    expect(compact.history.at(-1)).toMatchObject({ ts: 119, error: expect.stringMatching(MARKER) });
    expect(compact.job).toEqual({ messageId: 'r0000000001' });
    expect(recordBytes(compact)).toBeLessThan(60_000);
    // Unfinished, the job entry stays whole: a sweeper may still re-drive it.
    expect(compactRecord({ ...record, status: 'ROUTED' }).job.inline).toEqual(base.job.inline);
  });
});

describe('reading a stored record', () => {
  const stored = () => JSON.parse(pack({ ...newMessageRecord(req(), recipient(), 'ENQUEUED', 1), history: [{ ts: 1, type: 'ENQUEUED', extra: 'kept' }] }));

  it('gives back what was packed', () => {
    const record = newMessageRecord(req(), recipient(), 'ENQUEUED', 1);
    expect(unpack(pack(record))).toEqual(record);
    expect(unpack(JSON.stringify(stored())).history).toEqual([{ ts: 1, type: 'ENQUEUED', extra: 'kept' }]);
  });

  it.each<[string, (doc: Record<string, any>) => void, RegExp]>([
    ['an unknown status', (d) => (d.status = 'LOST'), /at status$/],
    ['a channel state of the wrong type', (d) => (d.channels = { email: { state: 'sending', attempts: '1' } }), /at channels\.email\.attempts$/],
    ['a history event without a time', (d) => (d.history = [{ type: 'ENQUEUED' }]), /at history\.0\.ts$/],
    ['no job', (d) => delete d.job, /at job$/],
  ])('refuses a document with %s, naming the item', (_, spoil, at) => {
    const doc = stored();
    spoil(doc);
    expect(() => unpack(JSON.stringify(doc), 'REQUEST#r / MSG#-')).toThrow(/^stored document REQUEST#r \/ MSG#- does not match its schema/);
    expect(() => unpack(JSON.stringify(doc))).toThrow(at);
  });
});

describe('the stored document of a record', () => {
  it.each<[string, string, 'doc' | 'docz']>([
    ['a small record, as text', JSON.stringify({ id: 'x'.repeat(100) }), 'doc'],
    ['one at the threshold, as text', JSON.stringify({ a: 'y'.repeat(COMPRESS_OVER_BYTES - 8) }), 'doc'],
    ['a rendered email, compressed', JSON.stringify({ html: '<tr><td style="padding:8px">Hello</td></tr>'.repeat(100) }), 'docz'],
  ])('stores %s', (_, json, attribute) => {
    const stored = recordDocument(json);
    expect(Object.keys(stored)).toEqual([attribute]);
    expect(documentOf(stored)).toBe(json);
    if ('docz' in stored) expect(stored.docz.length).toBeLessThan(Buffer.byteLength(json) / 4);
  });
});
