/**
 * Key formats live in lambdas/store/keys.ts (issue 12, item 1): stored items depend on them, so the
 * formats are pinned here, and every parser reads back what its builder wrote.
 */
import { keys, requestKeys } from '../../../lambdas/store/keys';

describe('key formats', () => {
  const at = Date.UTC(2026, 10, 29, 13, 5);
  it.each<[string, unknown, unknown]>([
    ['request', requestKeys.request('0mi1abc'), { pk: 'REQUEST#0mi1abc', sk: 'REQUEST' }],
    ['request index', requestKeys.requestIndex('0mi1abc', at), { gsi1pk: 'REQUESTS#2026-11-29T13', gsi1sk: '0mx1uq3xc#0mi1abc' }],
    ['request bucket', requestKeys.bucket(at), 'REQUESTS#2026-11-29T13'],
    ['open marker sort key', requestKeys.open('r1', 35).sk, '00000000z#r1'],
    ['open before', requestKeys.timeFrom(36), '000000010#'],
    ['api key', keys.apiKey('ab12'), { pk: 'APIKEY#ab12', sk: 'APIKEY' }],
    ['audience generation', keys.audienceGeneration('a#1'), { pk: 'AUDIENCE#a%231', sk: 'GENERATION' }],
    ['audience member', keys.audienceMember('a', 'u'), { pk: 'AUDIENCE#a', sk: 'MEMBER#u' }],
    ['checks of a template submission', keys.templateChecks('t#1', 's1'), { pk: 'NOTIFICATION#t%231', sk: 'CHECKS#s1' }],
    ['translation', keys.translation('default', 'fr_fr'), { pk: 'TRANSLATION#default#fr_fr', sk: 'TRANSLATION' }],
  ])('%s', (_, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it.each(['0mi1abc', 'x', '0mi1abc0123456789abc'])('requestIdOf reads back request %s from its request and its messages', (id) => {
    expect(requestKeys.requestIdOf(requestKeys.request(id).pk)).toBe(id);
    expect(requestKeys.requestIdOf(requestKeys.message(id, '-').pk)).toBe(id);
  });

  it('apiKeyHashOf reads back the hash', () => {
    expect(keys.apiKeyHashOf(keys.apiKey('deadbeef').pk)).toBe('deadbeef');
  });

  it('time-sorted keys sort by time', () => {
    const times = [0, 35, 36, 1_000, Date.UTC(2001, 0, 1), at, Date.UTC(2100, 0, 1)];
    const sks = times.map((t) => requestKeys.open('r', t).sk);
    expect([...sks].sort()).toEqual(sks);
    for (const t of times) expect(requestKeys.open('r', t).sk < requestKeys.timeFrom(t + 1)).toBe(true);
  });

  it('the members of an audience are listed by its prefix', () => {
    expect(keys.audienceMember('a', 'u').sk.startsWith(keys.audienceMembersPrefix)).toBe(true);
    expect(keys.audienceGeneration('a').sk.startsWith(keys.audienceMembersPrefix)).toBe(false);
  });
});
