import {
  canonicalJson,
  chooseLocale,
  duplicateIds,
  elementChecksum,
  elementChecksums,
  localeCandidates,
  LocaleError,
  localizeContent,
  replaceElement,
  setLocale,
  withChecksums,
  withIds,
} from '../../../lambdas/domain/locales';
import { contentSchema, render, type ElementalNode } from '../../../lambdas/domain/render';

describe('chooseLocale: the locale whose content a recipient sees', () => {
  it.each<[string, string | undefined, string[], string | undefined]>([
    ['no locale requested: the default', undefined, ['fr', 'es'], undefined],
    ['an empty locale: the default', '', ['fr'], undefined],
    ['the same locale', 'fr', ['es', 'fr'], 'fr'],
    ['the same locale, another case', 'FR_fr', ['fr_FR'], 'fr_FR'],
    ['the same locale, - for _', 'pt-BR', ['pt_BR', 'pt'], 'pt_BR'],
    ['the exact region before the language', 'fr_CA', ['fr', 'fr_CA'], 'fr_CA'],
    ['the language when the region has none', 'fr_CA', ['fr', 'fr_FR'], 'fr'],
    ['a bare language never picks a region', 'fr', ['fr_FR', 'fr_CA'], undefined],
    ['another language: the default', 'de_DE', ['fr', 'es'], undefined],
    ['nothing available: the default', 'fr', [], undefined],
  ])('%s', (_, requested, available, expected) => {
    expect(chooseLocale(requested, available)).toBe(expected);
  });

  it.each<[string, string[]]>([
    ['fr', ['fr']],
    ['fr_FR', ['fr_fr', 'fr']],
    ['zh-Hant-TW', ['zh_hant_tw', 'zh']],
  ])('%s falls back through %j', (locale, expected) => {
    expect(localeCandidates(locale)).toEqual(expected);
  });
});

describe('localizeContent', () => {
  const content = {
    version: '2022-01-01',
    elements: [
      { type: 'meta', title: 'Hello', locales: { fr: { title: 'Bonjour' } } },
      { type: 'text', content: 'Welcome {{name}}', locales: { fr: { content: 'Bienvenue {{name}}' }, es: { content: 'Bienvenido' } } },
      { type: 'action', content: 'Open', href: 'https://x.test/en', locales: { fr: { href: 'https://x.test/fr' } } },
      { type: 'text', content: 'Untranslated' },
      {
        type: 'channel',
        channel: 'email',
        elements: [{ type: 'quote', content: 'Nested', locales: { fr_FR: { content: 'Imbriqué' } } }],
      },
    ],
  };
  const texts = (locale: string | undefined) =>
    localizeContent(content, locale).elements!.map((e) =>
      [e.title ?? e.content, e.href, (e.elements as ElementalNode[] | undefined)?.[0].content].filter((x) => x !== undefined),
    );

  it.each<[string, string | undefined, unknown[]]>([
    ['no locale: the defaults', undefined, [['Hello'], ['Welcome {{name}}'], ['Open', 'https://x.test/en'], ['Untranslated'], ['Nested']]],
    [
      'fr: every property fr has, defaults for the rest',
      'fr',
      [['Bonjour'], ['Bienvenue {{name}}'], ['Open', 'https://x.test/fr'], ['Untranslated'], ['Nested']],
    ],
    [
      'fr_FR: fr_FR where an element has it, else fr',
      'fr_FR',
      [['Bonjour'], ['Bienvenue {{name}}'], ['Open', 'https://x.test/fr'], ['Untranslated'], ['Imbriqué']],
    ],
    ['es: only the element es has', 'es', [['Hello'], ['Bienvenido'], ['Open', 'https://x.test/en'], ['Untranslated'], ['Nested']]],
    ['de: the defaults', 'de', [['Hello'], ['Welcome {{name}}'], ['Open', 'https://x.test/en'], ['Untranslated'], ['Nested']]],
  ])('%s', (_, locale, expected) => {
    expect(texts(locale)).toEqual(expected);
  });

  it('never replaces a property the type cannot localize, nor with a non-string', () => {
    const odd = { elements: [{ type: 'text', content: 'x', style: 's', locales: { fr: { style: 'y', content: 5 } } }] };
    expect(localizeContent(odd as never, 'fr').elements![0]).toMatchObject({ content: 'x', style: 's' });
  });

  it('renders per locale through render()', () => {
    const out = (locale?: string) => render('push', { content, data: { name: 'Ada' }, profile: {}, locale });
    expect(out('fr')).toMatchObject({ title: 'Bonjour', body: expect.stringContaining('Bienvenue Ada') });
    expect(out()).toMatchObject({ title: 'Hello', body: expect.stringContaining('Welcome Ada') });
  });
});

describe('translations in templates: {{#t}}msgid{{/t}}', () => {
  const translations = new Map([
    ['Salutation', 'Bienvenue, {{name}}'],
    ['Bye', '<b>Au revoir</b>'],
  ]);
  const sms = (body: string, t?: Map<string, string>) =>
    render('sms', { content: { body }, data: { name: 'Ada', t: 'data-t' }, profile: {}, translations: t }).body;
  it.each<[string, string, Map<string, string> | undefined, string]>([
    ['a translated msgid, its variables filled', '{{#t}}Salutation{{/t}}!', translations, 'Bienvenue, Ada!'],
    ['the msgid trimmed', '{{#t}} Salutation {{/t}}', translations, 'Bienvenue, Ada'],
    ['an untranslated msgid as itself', '{{#t}}Hello {{name}}{{/t}}', translations, 'Hello Ada'],
    ['no translations: the msgid', '{{#t}}Salutation{{/t}}', undefined, 'Salutation'],
    ['t is the translator, not data.t', '{{t}}|{{#t}}Bye{{/t}}', translations, '|<b>Au revoir</b>'],
  ])('%s', (_, body, t, expected) => {
    expect(sms(body, t)).toBe(expected);
  });

  it('escapes variables, not the translation, in HTML', () => {
    const html = render('email', {
      content: { elements: [{ type: 'html', content: '<p>{{#t}}Salutation{{/t}}</p>' }] },
      data: { name: '<i>Ada</i>' },
      profile: {},
      translations,
    }).html!;
    expect(html).toContain('<p>Bienvenue, &lt;i&gt;Ada&lt;/i&gt;</p>');
  });
});

describe('content blocks: ids and checksums', () => {
  it('canonical JSON sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } })).toBe('{"a":{"d":[2,{"e":0,"f":1}]},"b":1}');
  });

  it('a checksum is the MD5 of the translatable content: same text same sum, styling and ids aside', () => {
    const a = elementChecksum({ type: 'text', content: 'Hi', id: 'a' });
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(elementChecksum({ type: 'text', content: 'Hi', id: 'b', align: 'center' })).toBe(a);
    expect(elementChecksum({ type: 'text', content: 'Hi!' })).not.toBe(a);
    expect(elementChecksum({ type: 'quote', content: 'Hi' })).not.toBe(a);
    expect(elementChecksum({ type: 'action', content: 'Go', href: 'https://a.test' })).not.toBe(
      elementChecksum({ type: 'action', content: 'Go', href: 'https://b.test' }),
    );
  });

  it('gives ids to elements without one, nested ones too, keeping those given', () => {
    let n = 0;
    const out = withIds(
      [
        { type: 'text', content: 'a', id: 'keep' },
        { type: 'channel', channel: 'email', elements: [{ type: 'text', content: 'b' }] },
      ],
      () => `g${++n}`,
    );
    expect(out.map((e) => e.id)).toEqual(['keep', 'g1']);
    expect((out[1].elements as ElementalNode[])[0].id).toBe('g2');
    expect(elementChecksums(out).map((e) => e.id)).toEqual(['keep', 'g1', 'g2']);
  });

  it('finds ids used twice, at any depth', () => {
    expect(
      duplicateIds([
        { type: 'text', id: 'a' },
        {
          type: 'channel',
          elements: [
            { type: 'text', id: 'a' },
            { type: 'text', id: 'b' },
          ],
        },
      ]),
    ).toEqual(['a']);
    expect(duplicateIds([{ type: 'text', id: 'a' }, { type: 'text' }, { type: 'text' }])).toEqual([]);
  });

  it('shows elements with checksums and each locale with its own', () => {
    const shown = withChecksums({ type: 'text', id: 'a', content: 'Hi', locales: { fr: { content: 'Salut' } } });
    expect(shown).toMatchObject({
      id: 'a',
      checksum: elementChecksum({ type: 'text', content: 'Hi' }),
      locales: { fr: { content: 'Salut', checksum: expect.stringMatching(/^[0-9a-f]{32}$/) } },
    });
  });

  it('replaces one element by id at any depth; undefined for an unknown id', () => {
    const els: ElementalNode[] = [{ type: 'channel', id: 'c', channel: 'email', elements: [{ type: 'text', id: 't', content: 'old' }] }];
    const out = replaceElement(els, 't', (cur) => ({ ...cur, content: 'new' }))!;
    expect((out[0].elements as ElementalNode[])[0]).toEqual({ type: 'text', id: 't', content: 'new' });
    expect(replaceElement(els, 'nope', (c) => c)).toBeUndefined();
  });
});

describe('setLocale (PUT /notifications/:id/locales/:locale_id)', () => {
  const els: ElementalNode[] = [
    { type: 'meta', id: 'm', title: 'Hello', locales: { fr: { title: 'old' }, es: { title: 'Hola' } } },
    { type: 'text', id: 't', content: 'Hi', locales: { FR: { content: 'old' } } },
    { type: 'action', id: 'a', content: 'Go', href: 'https://x.test' },
  ];

  it('sets the locale of the elements listed and removes it from the others, keeping other locales', () => {
    const out = setLocale(els, 'fr', [
      { id: 'a', content: 'Aller', href: 'https://x.test/fr' },
      { id: 'm', title: 'Bonjour' },
    ]);
    expect(out.map((e) => e.locales)).toEqual([
      { es: { title: 'Hola' }, fr: { title: 'Bonjour' } },
      undefined,
      { fr: { content: 'Aller', href: 'https://x.test/fr' } },
    ]);
    expect(contentSchema.safeParse({ elements: out }).success).toBe(true);
  });

  it.each<[string, { id: string; [k: string]: unknown }[], RegExp]>([
    ['an unknown id', [{ id: 'zz', content: 'x' }], /no element has the id "zz"/],
    [
      'an id listed twice',
      [
        { id: 't', content: 'a' },
        { id: 't', content: 'b' },
      ],
      /listed twice/,
    ],
    ['a property the type cannot localize', [{ id: 't', title: 'x' }], /^elements\.0: a text element cannot localize title/],
    ['a non-string value', [{ id: 'a', href: 5 }], /^elements\.0\.href: /],
  ])('refuses %s', (_, overrides, message) => {
    expect(() => setLocale(els, 'fr', overrides)).toThrow(LocaleError);
    expect(() => setLocale(els, 'fr', overrides)).toThrow(message);
  });
});

describe('content schema: element ids and locales', () => {
  it.each<[string, unknown, boolean]>([
    ['an id and a locale of what the type localizes', { type: 'text', id: 'el_1', content: 'x', locales: { fr_FR: { content: 'y' } } }, true],
    ['an action localizing content and href', { type: 'action', content: 'x', href: 'h', locales: { fr: { content: 'y', href: 'h2' } } }, true],
    ['a locale with a property the type has not', { type: 'text', content: 'x', locales: { fr: { title: 'y' } } }, false],
    ['a malformed locale id', { type: 'text', content: 'x', locales: { 'not a locale': { content: 'y' } } }, false],
    ['an empty id', { type: 'text', id: '', content: 'x' }, false],
    ['a channel element localizing anything', { type: 'channel', channel: 'email', elements: [], locales: { fr: { content: 'y' } } }, false],
  ])('%s', (_, element, ok) => {
    expect(contentSchema.safeParse({ elements: [element] }).success).toBe(ok);
  });
});
