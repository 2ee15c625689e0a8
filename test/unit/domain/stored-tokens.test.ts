import { pushAddress, withStoredTokens } from '../../../lambdas/domain/addresses';
import { apnTokens } from '../../../lambdas/providers/apn';
import { expoTokens } from '../../../lambdas/providers/expo';
import { fcmTokens } from '../../../lambdas/providers/fcm';
import { onesignalIds } from '../../../lambdas/providers/onesignal';

type Stored = Parameters<typeof withStoredTokens>[1];

/** A user's stored device tokens (`/users/:id/tokens`) merged into the profile, each under its provider's key, and read back by that provider's adapter. */
describe('withStoredTokens', () => {
  it.each<[string, Record<string, unknown>, Stored, Record<string, unknown>]>([
    ['no stored tokens: the profile as it is', { apn: 'a1' }, {}, { apn: 'a1' }],
    ['fcm: added to firebaseToken, each once', { firebaseToken: 'f1' }, { 'firebase-fcm': ['f1', 'f2'] }, { firebaseToken: ['f1', 'f2'] }],
    ['apn: added to a single apn token', { apn: 'a1' }, { apn: ['a2'] }, { apn: ['a1', 'a2'] }],
    ['apn: a profile without one', { name: 'x' }, { apn: ['a2'] }, { name: 'x', apn: ['a2'] }],
    ['expo: to expo.tokens beside expo.token', { expo: { token: 'E1' } }, { expo: ['E2'] }, { expo: { token: 'E1', tokens: ['E2'] } }],
    ['expo: a bare token becomes expo.token', { expo: 'E1' }, { expo: ['E2', 'E1'] }, { expo: { token: 'E1', tokens: ['E2', 'E1'] } }],
    ['expo: a profile without one', {}, { expo: ['E2'] }, { expo: { tokens: ['E2'] } }],
    ['expo: merged with the profile’s own list', { expo: { tokens: ['E1'] } }, { expo: ['E1', 'E3'] }, { expo: { tokens: ['E1', 'E3'] } }],
    ['onesignal: added to onesignalPlayerID', { onesignalPlayerID: 'p1' }, { onesignal: ['p2'] }, { onesignalPlayerID: ['p1', 'p2'] }],
    [
      'every provider at once, other keys untouched',
      { email: 'a@x.test' },
      { 'firebase-fcm': ['f'], apn: ['a'], expo: ['e'], onesignal: ['o'] },
      { email: 'a@x.test', firebaseToken: ['f'], apn: ['a'], expo: { tokens: ['e'] }, onesignalPlayerID: ['o'] },
    ],
  ])('%s', (_, profile, stored, expected) => {
    expect(withStoredTokens(profile, stored)).toEqual(expected);
  });

  it('each adapter reads the merged tokens from the push address', () => {
    const profile = withStoredTokens(
      { apn: 'a1', expo: { token: 'E1' }, onesignalPlayerID: 'p1', firebaseToken: 'f1' },
      { 'firebase-fcm': ['f2'], apn: ['a2'], expo: ['E2'], onesignal: ['p2'] },
    );
    const address = pushAddress.parse(profile);
    expect([fcmTokens(address), apnTokens(address), expoTokens(address), onesignalIds(address)]).toEqual([
      ['f1', 'f2'],
      ['a1', 'a2'],
      ['E1', 'E2'],
      ['p1', 'p2'],
    ]);
  });
});
