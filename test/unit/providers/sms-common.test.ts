import { callbackWithMessageId, msisdn, phoneNumber, vendorFailure } from '../../../lambdas/providers/sms-common';
import { twilioAddresses } from '../../../lambdas/providers/twilio';
import { twilioSettings } from '../../../lambdas/providers/catalog';

describe('SMS provider helpers', () => {
  it.each([
    ['https://hooks.example.test/s', 'https://hooks.example.test/s?courier_message_id=m-1'],
    ['https://hooks.example.test/s?k=1', 'https://hooks.example.test/s?k=1&courier_message_id=m-1'],
    ['https://hooks.example.test/s?courier_message_id=forged', 'https://hooks.example.test/s?courier_message_id=m-1'],
    [undefined, undefined],
  ])('callbackWithMessageId(%j) is %j', (base, expected) => {
    expect(callbackWithMessageId(base, 'm-1')).toBe(expected);
  });

  it.each([
    ['+44 7700 900001', '447700900001', '+447700900001'],
    ['(415) 555-0001', '4155550001', '4155550001'],
    ['+1.312.555.0001', '13125550001', '+13125550001'],
  ])('%j is %j as digits and %j as a number', (address, digits, number) => {
    expect([msisdn(address, 'x'), phoneNumber(address, 'x')]).toEqual([digits, number]);
  });

  it.each(['ada@example.test', '12345', '+1234567890123456', '++15550001', 'whatsapp:+15550001', ''])('%j is not a phone number (permanent)', (address) => {
    expect(() => msisdn(address, 'x')).toThrow(expect.objectContaining({ transient: false, message: 'x: the address is not a phone number' }));
    expect(() => phoneNumber(address, 'x')).toThrow(expect.objectContaining({ transient: false }));
  });

  const classes = { transient: new Set(['T']), invalidRecipient: new Set(['I']) };
  it.each([
    [400, 'T', true, 'v answered 400 (code T)'],
    [400, 'I', false, 'v answered 400 (code I: invalid recipient)'],
    [503, 'I', false, 'v answered 503 (code I: invalid recipient)'],
    [400, 'X', false, 'v answered 400 (code X)'],
    [429, undefined, true, 'v answered 429'],
    [500, 'X', true, 'v answered 500 (code X)'],
    [408, undefined, true, 'v answered 408'],
  ] as const)('HTTP %i with code %j is transient: %s', (status, code, transient, message) => {
    expect(vendorFailure('v', status, code, classes)).toMatchObject({ transient, message, statusCode: status });
  });

  const settings = (over: Record<string, unknown>) => twilioSettings.parse({ account_sid: 'AC1', auth_token: 't', ...over });
  it.each([
    [{ from: '+1555' }, '+1666', { To: '+1666', From: '+1555' }],
    [{ from: '+1555', channel: 'whatsapp' }, '+1666', { To: 'whatsapp:+1666', From: 'whatsapp:+1555' }],
    [{ from: '+1555' }, 'WhatsApp:+1666', { To: 'whatsapp:+1666', From: 'whatsapp:+1555' }],
    [{ from: 'whatsapp:+1555', channel: 'whatsapp' }, 'whatsapp:+1666', { To: 'whatsapp:+1666', From: 'whatsapp:+1555' }],
    [{ messaging_service_sid: 'MG1', channel: 'whatsapp' }, '+1666', { To: 'whatsapp:+1666' }],
    [{ from: '+1555', messaging_service_sid: 'MG1' }, ' +1666 ', { To: '+1666' }],
  ])('twilio settings %j and phone %j address %j', (over, phone, expected) => {
    expect(twilioAddresses(phone, settings(over))).toEqual(expected);
  });
});
