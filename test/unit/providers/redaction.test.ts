import { catalogEntry, redactSettings } from '../../../lambdas/providers/catalog';

/** Provider secrets read back through GET /providers: recognisable when long, never usable, nothing of a short one. */
describe('redactSettings', () => {
  const slack = catalogEntry('slack');
  const secretKey = slack?.secrets?.[0] ?? '';

  it.each([
    ['a 13-character secret shows nothing', 'abcdefghij123', '********'],
    ['a 19-character secret shows nothing', 'abcdefghijklmno1234', '********'],
    ['a 20-character secret shows its last 4', 'abcdefghijklmnop1234', '********1234'],
    ['a long token shows its last 4', `xoxb-${'9'.repeat(40)}abcd`, '********abcd'],
    ['an empty value stays empty', '', ''],
  ])('%s', (_name, value, shown) => {
    expect(secretKey).not.toBe('');
    expect(redactSettings(slack, { [secretKey]: value })[secretKey]).toBe(shown);
  });

  it('leaves settings that are not secrets as they are', () => {
    expect(redactSettings(slack, { channel: '#ops', [secretKey]: 'x'.repeat(30) })).toEqual({ channel: '#ops', [secretKey]: '********xxxx' });
  });
});
