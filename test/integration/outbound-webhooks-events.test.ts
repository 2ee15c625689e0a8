import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually, uid } from '../helpers/wait';
import { startRecorder, type Recorded, type Recorder } from './providers/recorder';

/**
 * Issue 16 item 4, docs/decisions.md D23: every status change of a message is a `message:updated`,
 * from its creation through the provider's delivery and engagement events (signed SendGrid events
 * here), and audience changes are Courier's audience events. Received by a local endpoint, each
 * verified with Courier's documented receiver code.
 */
const ecdsa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

let s: TestStack;
let hook: Recorder;
beforeAll(async () => {
  s = await startTestStack({
    env: { CACHE_TTL_MS: '0', SENDGRID_WEBHOOK_VERIFICATION_KEY: ecdsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') },
  });
  hook = await startRecorder();
  hook.reply(() => ({ status: 200, body: {} }));
});
afterAll(async () => {
  await hook?.close();
  await s?.stop();
});

/** Courier's documented verification, the body parsed as an Express handler's `req.body` is. */
function courierVerifies(req: Recorded, secret: string): boolean {
  const body = JSON.parse(req.body) as unknown;
  const signatureParts = (req.headers['courier-signature'] as string).split(',');
  const timestamp = signatureParts[0].split('=')[1];
  const signature = signatureParts[1].split('=')[1];
  return (
    createHmac('sha256', secret)
      .update(`${timestamp}.${JSON.stringify(body)}`)
      .digest('hex') === signature
  );
}

interface Event {
  id: string;
  type: string;
  version: number;
  data: Record<string, unknown>;
}
const received = (path: string) => hook.requests.filter((r) => r.path === path).map((r) => ({ r, e: JSON.parse(r.body) as Event }));

async function createEndpoint(path: string, events: string[]) {
  const res = await s.http('POST', '/webhooks', { url: `${hook.url}${path}`, events });
  expect(res.status).toBe(200);
  return res.json as { id: string; secret: string };
}

const seconds = () => Math.floor(Date.now() / 1000);
const sendgrid = (events: unknown[]) => {
  const body = JSON.stringify(events);
  const timestamp = String(seconds());
  const signature = sign('sha256', Buffer.from(timestamp + body), ecdsa.privateKey).toString('base64');
  return s.http('POST', '/inbound/providers/sendgrid', body, {
    key: null,
    headers: { 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp },
  });
};

describe('message:updated', () => {
  it('is sent, signed, for every status change from ENQUEUED to CLICKED after signed SendGrid events; a late event that changes nothing sends nothing', async () => {
    const endpoint = await createEndpoint('/messages', ['message:updated']);
    try {
      const { messages } = await sendAndWait(s, { to: { email: `${uid('u')}@example.com` }, content: { title: 'Hi', body: 'there' } }, 1);
      const id = messages[0].id;
      expect(messages[0].status).toBe('SENT');
      const t = seconds();
      for (const [event, at] of [
        ['delivered', t - 3],
        ['open', t - 2],
        ['click', t - 1],
      ] as const) {
        const res = await sendgrid([{ event, timestamp: at, courier_message_id: id, ...(event === 'click' ? { url: 'https://example.com/x' } : {}) }]);
        expect(res.json).toMatchObject({ applied: 1 });
      }
      const mine = () => received('/messages').filter(({ e }) => e.data.id === id);
      const got = await eventually(
        async () => mine(),
        (es) => es.some(({ e }) => e.data.status === 'CLICKED') && es.length >= 5,
      );
      for (const { r } of got) {
        expect(r.headers['courier-signature']).toMatch(/^t=\d{13},signature=[0-9a-f]{64}$/);
        expect(courierVerifies(r, endpoint.secret)).toBe(true);
      }
      const events = got.map(({ e }) => e).sort((a, b) => a.version - b.version);
      expect(events.every((e) => e.type === 'message:updated')).toBe(true);
      // A single send due at once is delivered by the send function with no claim (D14): no ROUTED is ever saved.
      expect(events.map((e) => e.data.status)).toEqual(['ENQUEUED', 'SENT', 'DELIVERED', 'OPENED', 'CLICKED']);
      expect(new Set(events.map((e) => e.version)).size).toBe(events.length);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      expect(events.at(-1)!.data).toMatchObject({ delivered: (t - 3) * 1000, opened: (t - 2) * 1000, clicked: (t - 1) * 1000 });
      expect(events.at(-1)!.data).toEqual((await s.http('GET', `/messages/${id}`)).json);

      // A late delivered: the message is not moved and no time changes, so no event.
      const late = await sendgrid([{ event: 'delivered', timestamp: t, courier_message_id: id }]);
      expect(late.json).toMatchObject({ applied: 0, unchanged: 1 });
      // An earlier open than the one known moves `opened` back: a change, announced without a new status.
      const earlier = await sendgrid([{ event: 'open', timestamp: t - 3, courier_message_id: id }]);
      expect(earlier.json).toMatchObject({ applied: 1 });
      const after = await eventually(
        async () => mine(),
        (es) => es.length >= 6,
      );
      // Every queued event has been sent: a seventh would be here now.
      await s.quiesce();
      expect(mine()).toHaveLength(6);
      const last = after
        .map(({ e }) => e)
        .sort((a, b) => a.version - b.version)
        .at(-1)!;
      expect(last.data).toMatchObject({ status: 'CLICKED', opened: (t - 3) * 1000 });
    } finally {
      await s.http('DELETE', `/webhooks/${endpoint.id}`);
    }
  });

  it('announces each recipient of a fan-out from ENQUEUED', async () => {
    const endpoint = await createEndpoint('/fanout', ['message:updated']);
    try {
      const to = [{ email: `${uid('a')}@example.com` }, { email: `${uid('b')}@example.com` }];
      const { messages } = await sendAndWait(s, { to, content: { title: 'Hi', body: 'x' } }, 2);
      for (const m of messages) {
        const got = await eventually(
          async () => received('/fanout').filter(({ e }) => e.data.id === m.id),
          (es) => es.some(({ e }) => e.data.status === m.status),
        );
        expect(got.map(({ e }) => e).sort((a, b) => a.version - b.version)[0].data.status).toBe('ENQUEUED');
      }
    } finally {
      await s.http('DELETE', `/webhooks/${endpoint.id}`);
    }
  });
});

describe('audience events', () => {
  it('announce an audience saved, its users matching and unmatching as profiles change, and each calculation', async () => {
    const endpoint = await createEndpoint('/audiences', ['audiences:updated', 'audiences:user:matched', 'audiences:user:unmatched', 'audiences:calculated']);
    try {
      const a = uid('aud');
      const [u1, u2] = [uid('u1'), uid('u2')];
      const plan = `${a}-pro`;
      await s.client.profiles.replace(u1, { profile: { plan } });
      await s.client.profiles.replace(u2, { profile: { plan: 'free' } });
      const filter = { filters: [{ operator: 'EQ', path: 'plan', value: plan }] };
      await s.client.audiences.update(a, { name: 'Pro', filter });
      const mine = () => received('/audiences').filter(({ e }) => e.data.audience_id === a);
      const types = (es: { e: Event }[]) => es.map(({ e }) => `${e.type}${e.data.user_id ? ` ${String(e.data.user_id)}` : ''}`);

      const first = await eventually(
        async () => mine(),
        (es) => types(es).includes('audiences:calculated'),
      );
      for (const { r } of first) expect(courierVerifies(r, endpoint.secret)).toBe(true);
      expect(types(first).sort()).toEqual(['audiences:calculated', `audiences:user:matched ${u1}`, 'audiences:updated'].sort());
      const updated = first.find(({ e }) => e.type === 'audiences:updated')!.e;
      const version = updated.data.audience_version as number;
      expect(updated.data).toEqual({ id: a, audience_id: a, audience_version: version, filter, operator: 'AND' });
      expect(first.find(({ e }) => e.type === 'audiences:user:matched')!.e.data).toEqual({
        id: a,
        audience_id: a,
        audience_version: version,
        reason: 'filter matched',
        user_id: u1,
      });
      const calculated = first.find(({ e }) => e.type === 'audiences:calculated')!.e.data;
      expect(calculated).toMatchObject({ id: a, audience_id: a, user_count: 1 });
      expect(calculated.total_users).toBe((calculated.user_count as number) + (calculated.total_users_filtered as number));

      // u2 starts matching, u1 stops.
      await s.client.profiles.replace(u2, { profile: { plan } });
      await s.client.profiles.replace(u1, { profile: { plan: 'free' } });
      const changed = await eventually(
        async () => mine().slice(first.length),
        (es) => es.length >= 2,
      );
      expect(types(changed).sort()).toEqual([`audiences:user:matched ${u2}`, `audiences:user:unmatched ${u1}`].sort());
      expect(changed.find(({ e }) => e.type === 'audiences:user:unmatched')!.e.data).toMatchObject({ audience_version: version, user_id: u1 });

      // Saved again: u2 is re-admitted under the new generation, still matching: no matched event.
      await s.client.audiences.update(a, { name: 'Pro again', filter });
      const resaved = await eventually(
        async () => mine().slice(first.length + changed.length),
        (es) => types(es).includes('audiences:calculated'),
      );
      expect(types(resaved).sort()).toEqual(['audiences:calculated', 'audiences:updated']);
      expect(resaved.find(({ e }) => e.type === 'audiences:updated')!.e.version).toBeGreaterThan(version);
      await eventually(
        async () => (await s.client.audiences.listMembers(a)).items,
        (ms) => ms.length === 1 && ms[0].audience_version > version,
      );

      // Deleted: its members stop matching.
      await s.client.audiences.delete(a);
      const gone = await eventually(
        async () => mine().slice(first.length + changed.length + resaved.length),
        (es) => es.length >= 1,
      );
      expect(types(gone)).toEqual([`audiences:user:unmatched ${u2}`]);
      await s.quiesce();
      // Each event once, each with its own id.
      expect(new Set(mine().map(({ e }) => e.id)).size).toBe(mine().length);
      expect(mine()).toHaveLength(first.length + changed.length + resaved.length + 1);
    } finally {
      await s.http('DELETE', `/webhooks/${endpoint.id}`);
    }
  });

  it('are sent only to endpoints subscribed to them', async () => {
    const only = await createEndpoint('/only-updated', ['audiences:updated']);
    try {
      const a = uid('aud');
      const u = uid('u');
      await s.client.profiles.replace(u, { profile: { plan: `${a}-x` } });
      await s.client.audiences.update(a, { filter: { filters: [{ operator: 'EQ', path: 'plan', value: `${a}-x` }] } });
      await eventually(
        async () => (await s.client.audiences.listMembers(a)).items,
        (ms) => ms.length === 1,
      );
      // Every audience event has been sent (or not): only the subscribed type is here.
      await s.quiesce();
      expect(received('/only-updated').map(({ e }) => e.type)).toEqual(['audiences:updated']);
    } finally {
      await s.http('DELETE', `/webhooks/${only.id}`);
    }
  });
});
