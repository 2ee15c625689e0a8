import { messageKey, parsePo, PoError } from '../../../lambdas/domain/po';

const COURIER_EXAMPLE =
  'msgid ""\nmsgstr ""\n"Language: en\\n"\n"MIME-Version: 1.0\\n"\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Content-Transfer-Encoding: 8bit\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\nmsgid "Salutation"\nmsgstr "Welcome, %s"';

describe('parsePo', () => {
  it("reads Courier's reference example: the header and one message", () => {
    const po = parsePo(COURIER_EXAMPLE);
    expect(po.headers).toMatchObject({ Language: 'en', 'Plural-Forms': 'nplurals=2; plural=(n != 1);' });
    expect([...po.messages]).toEqual([['Salutation', 'Welcome, %s']]);
  });

  it.each<[string, string, [string, string][]]>([
    ['continued strings', 'msgid ""\n"Long "\n"id"\nmsgstr "Long "\n"str"', [['Long id', 'Long str']]],
    ['escapes', 'msgid "a\\tb"\nmsgstr "1\\n2 \\"q\\" \\\\ \\x41\\101"', [['a\tb', '1\n2 "q" \\ AA']]],
    ['comments and references', '# translator\n#. extracted\n#: file.ts:1\nmsgid "x"\nmsgstr "y"', [['x', 'y']]],
    ['fuzzy entries left out', '#, fuzzy\nmsgid "x"\nmsgstr "y"\n\nmsgid "z"\nmsgstr "w"', [['z', 'w']]],
    ['untranslated entries left out', 'msgid "x"\nmsgstr ""', []],
    ['a context keys the message', 'msgctxt "menu"\nmsgid "Open"\nmsgstr "Ouvrir"', [[messageKey('Open', 'menu'), 'Ouvrir']]],
    [
      'the same msgid in two contexts',
      'msgid "Open"\nmsgstr "A"\n\nmsgctxt "m"\nmsgid "Open"\nmsgstr "B"',
      [
        ['Open', 'A'],
        ['m\u0004Open', 'B'],
      ],
    ],
    ['plural entries by their first form', 'msgid "%d day"\nmsgid_plural "%d days"\nmsgstr[0] "%d jour"\nmsgstr[1] "%d jours"', [['%d day', '%d jour']]],
    ['obsolete entries skipped', '#~ msgid "old"\n#~ msgstr "vieux"\nmsgid "x"\nmsgstr "y"', [['x', 'y']]],
    [
      'entries with no blank line between',
      'msgid "a"\nmsgstr "1"\nmsgid "b"\nmsgstr "2"',
      [
        ['a', '1'],
        ['b', '2'],
      ],
    ],
    ['CRLF and a byte order mark', '\uFEFFmsgid "a"\r\nmsgstr "1"\r\n', [['a', '1']]],
    ['an empty file', '', []],
  ])('%s', (_, text, expected) => {
    expect([...parsePo(text).messages]).toEqual(expected);
  });

  it.each<[string, string, RegExp]>([
    ['a msgstr without msgid', 'msgstr "x"', /line 1: msgstr before msgid/],
    ['a msgid without msgstr', 'msgid "x"\n\nmsgid "y"\nmsgstr "z"', /line 1: .*has no msgstr/],
    ['an unquoted string', 'msgid x\nmsgstr "y"', /line 1: expected a quoted string/],
    ['an unterminated string', 'msgid "x\nmsgstr "y"', /line 1: expected a quoted string/],
    ['an unknown keyword', 'msgid "x"\nmsgfoo "y"', /line 2: expected msgctxt/],
    ['a stray string', '"x"', /line 1: a string outside/],
    ['an unknown escape', 'msgid "\\q"\nmsgstr "y"', /line 1: unknown escape/],
    ['a duplicate msgid', 'msgid "x"\nmsgstr "1"\n\nmsgid "x"\nmsgstr "2"', /line 4: msgid "x" is defined twice/],
    ['msgstr[n] without a plural', 'msgid "x"\nmsgstr[0] "y"', /line 2: msgstr\[n\] needs a msgid_plural/],
    ['a plain msgstr in a plural entry', 'msgid "x"\nmsgid_plural "xs"\nmsgstr "y"', /line 3: a plural entry takes msgstr\[n\]/],
    ['msgctxt after msgid', 'msgid "x"\nmsgctxt "c"\nmsgstr "y"', /line 2: msgctxt must come first/],
  ])('refuses %s, naming the line', (_, text, message) => {
    expect(() => parsePo(text)).toThrow(PoError);
    expect(() => parsePo(text)).toThrow(message);
  });
});
