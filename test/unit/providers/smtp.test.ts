import { emailRecipient } from '../../../lambdas/providers/transport';
import { smtpConnection } from '../../../lambdas/providers/smtp';
import { sesInput } from '../../../lambdas/providers/ses';
import type { ProviderSend } from '../../../lambdas/providers/port';

/** Issue 11, item 14: one message goes to exactly one recipient, and SMTP credentials only over TLS. */
describe('the recipient of an email', () => {
  it.each([
    ['ada@example.test', 'ada@example.test'],
    ['  ada@example.test ', 'ada@example.test'],
    ['<ada@example.test>', 'ada@example.test'],
    ['Ada Lovelace <ada@example.test>', { name: 'Ada Lovelace', address: 'ada@example.test' }],
    ['"Lovelace, Ada" <ada@example.test>', { name: 'Lovelace, Ada', address: 'ada@example.test' }],
    ['josé@exämple.test', 'josé@exämple.test'],
    ['first.last+tag@sub.example.test', 'first.last+tag@sub.example.test'],
  ])('accepts %j as %j', (address, expected) => {
    expect(emailRecipient(address, 'smtp')).toEqual(expected);
  });

  it.each([
    ['two addresses', 'ada@example.test, eve@evil.test'],
    ['two addresses without a separator', 'ada@example.test eve@evil.test'],
    ['two addresses, semicolon', 'ada@example.test;eve@evil.test'],
    ['two named mailboxes', 'Ada <ada@example.test>, Eve <eve@evil.test>'],
    ['two angle addresses', '<ada@example.test> <eve@evil.test>'],
    ['a group', 'team: ada@example.test, eve@evil.test;'],
    ['an empty group', 'team:;'],
    ['a line break', 'ada@example.test\r\nBcc: eve@evil.test'],
    ['a quoted local part', '"ada, eve"@example.test'],
    ['two at signs', 'ada@eve@example.test'],
    ['no domain', 'ada@'],
    ['no local part', '@example.test'],
    ['no at sign', 'ada'],
    ['an empty string', ''],
    ['an address with a domain literal', 'ada@[127.0.0.1]'],
  ])('refuses %s as a permanent invalid address', (_name, address) => {
    expect(() => emailRecipient(address, 'smtp')).toThrow(
      expect.objectContaining({ transient: false, message: 'smtp: the address is not exactly one email address' }),
    );
  });

  it('ses refuses a list of addresses the same way', () => {
    const message: ProviderSend<'email'> = {
      messageId: 'm',
      idempotencyKey: 'm:email',
      channel: 'email',
      recipient: {},
      address: 'ada@example.test, eve@evil.test',
      content: { channel: 'email' },
      settings: {},
      timeoutMs: 1,
    };
    expect(() => sesInput(message, { from: 'a@acme.test' })).toThrow(
      expect.objectContaining({ transient: false, message: 'ses: the address is not exactly one email address' }),
    );
  });
});

describe('how the smtp adapter connects', () => {
  const base = { port: 587, secure: false, from: 'a@acme.test' };
  it.each([
    [
      'a named server: its resolved address, TLS required and verified against the name',
      { ...base, host: 'smtp.example.test' },
      '203.0.113.7',
      { host: '203.0.113.7', tls: { servername: 'smtp.example.test' }, requireTLS: true },
    ],
    [
      'a server given by address: TLS required',
      { ...base, host: '198.51.100.9' },
      '198.51.100.9',
      { host: '198.51.100.9', tls: { servername: undefined }, requireTLS: true },
    ],
    [
      'a private relay (allow-listed): TLS required',
      { ...base, host: 'relay.internal' },
      '10.0.0.25',
      { host: '10.0.0.25', tls: { servername: 'relay.internal' }, requireTLS: true },
    ],
    [
      'a loopback server: TLS not required',
      { ...base, host: 'localhost' },
      '127.0.0.1',
      { host: '127.0.0.1', tls: { servername: 'localhost' }, requireTLS: false },
    ],
    [
      'a loopback server with require_tls: TLS required',
      { ...base, host: '127.0.0.1', require_tls: true },
      '127.0.0.1',
      { host: '127.0.0.1', tls: { servername: undefined }, requireTLS: true },
    ],
    [
      'require_tls false: STARTTLS when offered, as before',
      { ...base, host: 'smtp.example.test', require_tls: false },
      '203.0.113.7',
      { host: '203.0.113.7', tls: { servername: 'smtp.example.test' }, requireTLS: false },
    ],
    [
      'implicit TLS (secure): TLS from the first byte',
      { ...base, port: 465, secure: true, host: 'smtp.example.test' },
      '203.0.113.7',
      { host: '203.0.113.7', tls: { servername: 'smtp.example.test' }, secure: true, requireTLS: false },
    ],
  ])('%s', (_name, settings, address, expected) => {
    expect(smtpConnection(settings, address)).toMatchObject(expected);
  });
});
