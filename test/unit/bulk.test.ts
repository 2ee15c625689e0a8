import { bulkMessageId, bulkMessageSchema, bulkRecipient, bulkSendMessage, bulkUserSchema } from '../../lambdas/domain/bulk';
import { messageIdFor, messageSchema, recipientKey } from '../../lambdas/domain/send';

describe('bulkSendMessage', () => {
  it('uses the event as the template unless a template or inline content is given', () => {
    expect(bulkSendMessage({ event: 'welcome' })).toEqual({ to: [], template: 'welcome', metadata: { event: 'welcome' } });
    expect(bulkSendMessage({ event: 'welcome', template: 'tpl-1', brand: 'b', data: { a: 1 } })).toEqual({
      to: [],
      template: 'tpl-1',
      brand_id: 'b',
      data: { a: 1 },
      metadata: { event: 'welcome' },
    });
    const content = { title: 'Hi', body: 'there' };
    expect(bulkSendMessage({ event: 'welcome', content })).toEqual({ to: [], content, metadata: { event: 'welcome' } });
  });

  it('maps nulls (which the SDK allows) to absent fields', () => {
    const m = bulkMessageSchema.parse({ event: 'e', template: null, content: null, brand: null, data: null, locale: null, override: null });
    expect(bulkSendMessage(m)).toEqual({ to: [], template: 'e', metadata: { event: 'e' } });
  });

  it('produces a message the send schema accepts apart from its empty `to`', () => {
    const { to: _to, ...rest } = bulkSendMessage({ event: 'e', content: { body: 'x' }, data: { a: 1 } });
    expect(messageSchema.safeParse({ ...rest, to: { user_id: 'u' } }).success).toBe(true);
  });
});

describe('bulkRecipient', () => {
  const user = (u: unknown) => bulkUserSchema.parse(u);

  it('takes the user id from to.user_id, else the legacy recipient', () => {
    expect(bulkRecipient(user({ to: { user_id: 'a' }, recipient: 'b' }))).toEqual({ userId: 'a' });
    expect(bulkRecipient(user({ recipient: 'b' }))).toEqual({ userId: 'b' });
  });

  it('builds the inline profile from profile, then the profile fields of to; data from to.data then data', () => {
    const r = bulkRecipient(
      user({
        profile: { email: 'p@x.test', name: 'P', gone: null },
        to: { email: 'to@x.test', locale: 'fr', tenant_id: 't1', data: { a: 1, b: 1 }, list_id: 'l', phone_number: null },
        data: { b: 2 },
      }),
    );
    expect(r).toEqual({ inline: { email: 'to@x.test', name: 'P', locale: 'fr' }, data: { a: 1, b: 2 }, tenantId: 't1' });
  });

  it('prefers context.tenant_id for the tenant context', () => {
    expect(bulkRecipient(user({ to: { user_id: 'u', tenant_id: 't1', context: { tenant_id: 't2' } } }))?.tenantId).toBe('t2');
  });

  it('refuses a user with neither a user id nor an address', () => {
    expect(bulkRecipient(user({}))).toBeUndefined();
    expect(bulkRecipient(user({ data: { a: 1 }, profile: { name: 'x' }, to: { locale: 'en' } }))).toBeUndefined();
    expect(bulkRecipient(user({ profile: { phone_number: '+15550100' } }))).toEqual({ inline: { phone_number: '+15550100' } });
  });

  it('gives the message id the fan-out gives the same recipient', () => {
    const r = bulkRecipient(user({ profile: { email: 'p@x.test', name: 'P' } }))!;
    expect(bulkMessageId('0abc123def4567890abcde', r)).toBe(messageIdFor('0abc123def4567890abcde', recipientKey({ inline: { email: 'p@x.test' } })));
  });
});
