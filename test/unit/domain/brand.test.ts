import { brandView, type BrandSource } from '../../../lambdas/domain/brand';

const source = (settings: Record<string, unknown>, snippets: [string, string][] = []): BrandSource => ({
  name: 'B',
  settings,
  snippets: { items: snippets.map(([name, value]) => ({ name, value })) },
});

const defaults = source(
  {
    email: {
      header: { logo: { image: 'https://d.test/logo.png' }, barColor: '#111111' },
      footer: { content: 'Default footer' },
      head: { inheritDefault: false, content: '<style>d</style>' },
    },
  },
  [
    ['footer', 'default footer snippet'],
    ['legal', 'default legal'],
  ],
);

describe('brandView: a custom brand extends the default brand', () => {
  it.each<[string, BrandSource, BrandSource | undefined, Record<string, unknown>]>([
    ['own snippets without a default', source({}, [['a', '1']]), undefined, { snippets: { a: '1' } }],
    ['default snippets, the own winning by name', source({}, [['footer', 'mine']]), defaults, { snippets: { footer: 'mine', legal: 'default legal' } }],
    [
      'the default header where the own says inheritDefault',
      source({ email: { header: { logo: {}, inheritDefault: true } } }),
      defaults,
      { settings: { email: { header: { logo: { image: 'https://d.test/logo.png' }, barColor: '#111111' } } } },
    ],
    [
      'the default footer and head where they inherit',
      source({ email: { footer: { inheritDefault: true }, head: { inheritDefault: true } } }),
      defaults,
      { settings: { email: { footer: { content: 'Default footer' }, head: { inheritDefault: false, content: '<style>d</style>' } } } },
    ],
    [
      'the own parts where they do not inherit',
      source({ email: { footer: { content: 'Mine', inheritDefault: false } } }),
      defaults,
      { settings: { email: { footer: { content: 'Mine', inheritDefault: false } } } },
    ],
    [
      'nothing where inheriting without a default',
      source({ email: { footer: { inheritDefault: true } } }),
      undefined,
      { settings: { email: { footer: null } } },
    ],
  ])('%s', (_, own, fallback, expected) => {
    expect(brandView('b', own, fallback)).toMatchObject(expected);
  });
});
