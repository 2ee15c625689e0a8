import {
  basicAuthValid,
  InboundBodyError,
  parseCdpBody,
  segmentSignature,
  segmentSignatureValid,
  tenantOfGroup,
  type InboundAction,
} from '../../../lambdas/domain/inbound';

const SECRET = 'the-shared-secret';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('segmentSignatureValid (X-Signature: hex HMAC-SHA1 of the raw body)', () => {
  const body = '{"type":"track","event":"x"}';
  it.each([
    ['the signature of the body', segmentSignature(SECRET, body), true],
    ['the same, upper case', segmentSignature(SECRET, body).toUpperCase(), true],
    ['the signature under another secret', segmentSignature('other', body), false],
    ['the signature of another body', segmentSignature(SECRET, body + ' '), false],
    ['a truncated signature', segmentSignature(SECRET, body).slice(0, 39), false],
    ['not hex', 'z'.repeat(40), false],
    ['missing', undefined, false],
  ])('%s -> %s', (_, signature, valid) => expect(segmentSignatureValid(SECRET, body, signature)).toBe(valid));
});

describe('basicAuthValid (the password is the secret)', () => {
  it.each([
    ['any user, the secret', basic('rudder', SECRET), true],
    ['an empty user', basic('', SECRET), true],
    ['a password with a colon', basic('u', `${SECRET}:x`), false],
    ['the secret as the user', basic(SECRET, ''), false],
    ['a wrong password', basic('u', 'nope'), false],
    ['a bearer header', `Bearer ${SECRET}`, false],
    ['no colon', `Basic ${Buffer.from(SECRET).toString('base64')}`, false],
    ['missing', undefined, false],
  ])('%s -> %s', (_, header, valid) => expect(basicAuthValid(SECRET, header)).toBe(valid));
});

describe('parseCdpBody', () => {
  const track = { type: 'track', messageId: 'm1', userId: 'u1', event: 'Order', properties: { a: 1 } };
  const identify = {
    type: 'identify',
    messageId: 'm2',
    userId: 'u1',
    traits: { email: 'a@b.test' },
    context: { traits: { plan: 'pro', email: 'old@b.test' } },
  };
  const group = { type: 'group', messageId: 'm3', userId: 'u1', groupId: 'g1', traits: { name: 'Initech' } };
  const page = { type: 'page', properties: { path: '/' } };
  const actions: InboundAction[] = [
    { kind: 'track', messageId: 'm1', event: 'Order', userId: 'u1', properties: { a: 1 } },
    { kind: 'identify', messageId: 'm2', userId: 'u1', traits: { plan: 'pro', email: 'a@b.test' } },
    { kind: 'group', messageId: 'm3', userId: 'u1', groupId: 'g1', traits: { name: 'Initech' } },
    { kind: 'ignored', type: 'page' },
  ];
  it.each([
    ['one event', track, actions.slice(0, 1)],
    ['an array (batched webhooks)', [track, identify, group, page], actions],
    ['{ batch } (the Spec batch)', { batch: [track, identify, group, page], sentAt: 'x' }, actions],
    ['an event repeated in the body, once', [track, track], actions.slice(0, 1)],
    ['nulls as not set', { ...track, userId: null, properties: null }, [{ kind: 'track', messageId: 'm1', event: 'Order', userId: undefined, properties: {} }]],
    ['an anonymous identify', { type: 'identify', messageId: 'm', anonymousId: 'a' }, [{ kind: 'identify', messageId: 'm', userId: undefined, traits: {} }]],
    [
      'alias and screen, ignored',
      [{ type: 'alias', previousId: 'a' }, { type: 'screen' }],
      [
        { kind: 'ignored', type: 'alias' },
        { kind: 'ignored', type: 'screen' },
      ],
    ],
  ])('%s', (_, body, expected) => expect(parseCdpBody(body)).toEqual(expected));

  it.each([
    ['a string', 'hello', 'body: must be'],
    ['an empty array', [], 'body: must be'],
    ['an object without type or batch', { event: 'x' }, 'body: must be'],
    ['a track without event', { type: 'track', messageId: 'm' }, 'body.event'],
    ['a track without messageId', { type: 'track', event: 'x' }, 'body.messageId'],
    ['a group without groupId, second in a batch', { batch: [track, { type: 'group', messageId: 'm' }] }, 'body.batch.1.groupId'],
    ['an event without type, in an array', [track, { messageId: 'x' }], 'body.1.type'],
    ['properties not an object', { ...track, properties: [1] }, 'body.properties'],
  ])('refuses %s, naming %s', (_, body, where) => {
    expect(() => parseCdpBody(body)).toThrow(InboundBodyError);
    expect(() => parseCdpBody(body)).toThrow(where);
  });
});

describe('tenantOfGroup', () => {
  it.each([
    ['named after the name trait', { name: 'Initech', plan: 'pro' }, { id: 'g', name: 'Initech', properties: { name: 'Initech', plan: 'pro' } }],
    ['named after the group without one', { plan: 'pro' }, { id: 'g', name: 'g', properties: { plan: 'pro' } }],
    ['a blank name is none', { name: '  ' }, { id: 'g', name: 'g', properties: { name: '  ' } }],
  ])('%s', (_, traits, tenant) => expect(tenantOfGroup('g', traits)).toEqual(tenant));
});
