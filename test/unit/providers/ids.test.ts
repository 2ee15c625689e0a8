import { uuidFrom } from '../../../lambdas/providers/ids';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidFrom (apns-id, OneSignal idempotency_key)', () => {
  it.each(['1700000000000-msg1', '1700000000000-msg1:push', '', 'x'.repeat(500), 'émoji 🚀'])('%p gives a version 4 UUID, the same every time', (text) => {
    expect(uuidFrom(text)).toMatch(UUID_V4);
    expect(uuidFrom(text)).toBe(uuidFrom(text));
  });

  it('differs for different ids', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => uuidFrom(`1700000000000-msg${i}`));
    expect(new Set(ids).size).toBe(1000);
  });
});
