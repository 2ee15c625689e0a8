import { z } from 'zod';
import {
  contentConditionIssues,
  contentSchema,
  MAX_ELEMENT_DEPTH,
  render,
  RenderLimitError,
  type ElementalNode,
  type RenderInput,
} from '../../../lambdas/domain/render';
import type { Channel } from '../../../lambdas/domain/routing';

/** Issue 15 items 4 and 9: Elemental control flow (if, loop, ref), the layout elements (group, columns, list, comment), markdown text and what is refused. */

const input = (els: unknown[], over: Partial<RenderInput> = {}): RenderInput => ({
  content: { version: '2022-01-01', elements: els as ElementalNode[] },
  data: {},
  profile: {},
  ...over,
});
const text = (content: string, extra: Record<string, unknown> = {}): ElementalNode => ({ type: 'text', content, ...extra });
const sms = (els: unknown[], over: Partial<RenderInput> = {}) => render('sms', input(els, over)).body;
const html = (els: unknown[], over: Partial<RenderInput> = {}) => render('email', input(els, over)).html!;

const data = {
  plan: 'premium',
  products: [
    { name: 'Mouse', price: '$10', tags: ['new'] },
    { name: 'Keyboard', price: '$20', tags: [] },
  ],
};

describe('if', () => {
  it.each<[string, unknown[], string]>([
    ['an element whose if holds', [text('A'), text('Premium', { if: "data.plan === 'premium'" })], 'A\n\nPremium'],
    ['no element whose if does not hold', [text('A'), text('Basic', { if: "data.plan === 'basic'" })], 'A'],
    ['no element whose if fails to evaluate', [text('A'), text('B', { if: 'data.missing.deep' })], 'A'],
    ['no element whose stored if does not parse', [text('A'), text('B', { if: 'data.' })], 'A'],
    ['an element with a null or blank if', [text('A', { if: null }), text('B', { if: ' ' })], 'A\n\nB'],
    ['a condition on the profile', [text('fr', { if: "profile.locale === 'fr'" })], 'fr'],
    ['a condition on the tenant', [text('gold', { if: "tenant.properties.tier === 'gold'" })], 'gold'],
    [
      'a group and all it holds, or none of it',
      [
        { type: 'group', if: 'data.plan', elements: [text('x'), text('y')] },
        { type: 'group', if: '!data.plan', elements: [text('z')] },
      ],
      'x\n\ny',
    ],
    ['a condition with channels: both must apply', [text('s', { channels: ['sms'], if: 'true' }), text('e', { channels: ['email'], if: 'true' })], 's'],
  ])('renders %s', (_, els, expected) => {
    expect(sms(els, { data, profile: { locale: 'fr' }, tenant: { id: 't', properties: { tier: 'gold' } } })).toBe(expected);
  });

  it('takes the title from the first meta whose if holds', () => {
    const out = render('push', input([{ type: 'meta', title: 'Hidden', if: 'false' }, { type: 'meta', title: 'Shown {{plan}}' }, text('b')], { data }));
    expect(out.title).toBe('Shown premium');
  });

  it('cannot be fooled by data keys named like the scope', () => {
    expect(sms([text('x', { if: "profile.role === 'admin'" })], { data: { profile: { role: 'admin' } } })).toBe('');
  });
});

describe('loop', () => {
  it.each<[string, unknown[], string]>([
    [
      'a text per item, with $.item and $.index',
      [text('{{$.index}}: {{$.item.name}} at {{$.item.price}}', { loop: 'data.products' })],
      '0: Mouse at $10\n\n1: Keyboard at $20',
    ],
    [
      'a group per item',
      [{ type: 'group', loop: 'data.products', elements: [text('{{$.item.name}}'), text('{{$.item.price}}')] }],
      'Mouse\n\n$10\n\nKeyboard\n\n$20',
    ],
    ['an if per item, reading $.item', [text('{{$.item.name}}', { loop: 'data.products', if: '$.item.tags.includes("new")' })], 'Mouse'],
    [
      'nested loops, the inner $ shadowing the outer',
      [{ type: 'group', loop: 'data.products', elements: [text('{{$.item}}!', { loop: '$.item.tags' })] }],
      'new!',
    ],
    ['nothing for a loop over something that is not an array', [text('x', { loop: 'data.plan' }), text('y', { loop: 'data.missing.list' })], ''],
    ['an array literal', [text('{{$.item}}', { loop: '[1, 2]' })], '1\n\n2'],
    ['data variables beside the item', [text('{{plan}} {{$.item.name}}', { loop: 'data.products' })], 'premium Mouse\n\npremium Keyboard'],
  ])('renders %s', (_, els, expected) => {
    expect(sms(els, { data })).toBe(expected);
  });

  it('charges every repetition to the rendering budget', () => {
    const items = Array.from({ length: 300_000 }, () => 0);
    expect(() => sms([text('x', { loop: 'data.items', if: 'false' })], { data: { items } })).toThrow(RenderLimitError);
    const rows = Array.from({ length: 1000 }, () => 0);
    const nested = [{ type: 'group', loop: 'data.rows', elements: [{ type: 'group', loop: 'data.rows', elements: [text('.')] }] }];
    expect(() => sms(nested, { data: { rows } })).toThrow(/content too large: the sms rendering stopped/);
  });
});

describe('ref', () => {
  it.each<[string, unknown[], string]>([
    ['a visible element', [text('Hi', { ref: 'hi' }), text('after hi', { if: 'refs.hi.visible' })], 'Hi\n\nafter hi'],
    [
      'a hidden element',
      [text('Hi', { ref: 'hi', if: 'false' }), text('after hi', { if: 'refs.hi.visible' }), text('no hi', { if: '!refs.hi.visible' })],
      'no hi',
    ],
    ['an element off this channel', [text('Hi', { ref: 'hi', channels: ['email'] }), text('no hi', { if: '!refs.hi.visible' })], 'no hi'],
    [
      'a channel element for another channel',
      [{ type: 'channel', channel: 'email', ref: 'mail', elements: [text('e')] }, text('no mail', { if: '!refs.mail.visible' })],
      'no mail',
    ],
    ['its properties', [text('Hi', { ref: 'hi' }), text('said hi', { if: "refs.hi.content === 'Hi'" })], 'Hi\n\nsaid hi'],
    ['an element before it is defined (false)', [text('early', { if: 'refs.later.visible' }), text('Later', { ref: 'later' })], 'Later'],
  ])('reads %s', (_, els, expected) => {
    expect(sms(els, { data })).toBe(expected);
  });
});

describe('group, columns, list, comment', () => {
  const columns = {
    type: 'columns',
    elements: [
      { type: 'column', width: '30%', elements: [{ type: 'image', src: 'https://x.test/p.png', altText: 'Product' }] },
      { type: 'column', elements: [text('Mouse', { text_style: 'h2' }), text('$10')] },
    ],
  };

  it('puts columns side by side in an email table and stacks them elsewhere', () => {
    const out = html([columns]);
    expect(out).toMatch(/<table role="presentation"[^>]*><tr><td valign="top" style="width:30%;[^"]*"><p[^>]*><img src="https:\/\/x.test\/p.png"/);
    expect(out).toContain(
      '<td valign="top" style="width:50%;padding:0"><h2 style="margin:0 0 16px;font-size:22px;line-height:1.3;white-space:pre-line">Mouse</h2>',
    );
    expect(render('email', input([columns])).text).toBe('Product\n\nMouse\n\n$10');
    expect(sms([columns])).toBe('Product\n\nMouse\n\n$10');
    expect(render('direct_message', input([columns])).blocks).toEqual([
      { type: 'image', text: 'Product', src: 'https://x.test/p.png' },
      { type: 'text', text: 'Mouse' },
      { type: 'text', text: '$10' },
    ]);
  });

  it('applies if and loop to columns and to a column', () => {
    const looped = { type: 'columns', elements: [{ type: 'column', loop: 'data.products', elements: [text('{{$.item.name}}')] }] };
    expect(html([looped], { data }).match(/<td /g)).toHaveLength(2);
    expect(sms([{ ...columns, if: 'false' }, text('rest')])).toBe('rest');
  });

  const list = (listType: string, items: unknown[], extra: Record<string, unknown> = {}) => ({ type: 'list', list_type: listType, elements: items, ...extra });
  const item = (...inline: unknown[]) => ({ type: 'list-item', elements: inline });
  const str = (content: string, extra: Record<string, unknown> = {}) => ({ type: 'string', content, ...extra });

  it.each<[string, unknown, string, string]>([
    [
      'an unordered list',
      list('unordered', [item(str('First')), item(str('Second'))]),
      '- First\n- Second',
      '<ul style="margin:0 0 16px;padding-left:24px"><li style="margin:0 0 4px">First</li><li',
    ],
    [
      'an ordered list',
      list('ordered', [item(str('One')), item(str('Two'))]),
      '1. One\n2. Two',
      '<ol style="margin:0 0 16px;padding-left:24px"><li style="margin:0 0 4px">One</li>',
    ],
    [
      'a link and variables in an item',
      list('unordered', [item(str('Hi {{plan}}, see '), { type: 'link', content: 'docs', href: 'https://x.test/d' })]),
      '- Hi premium, see docs (https://x.test/d)',
      '<li style="margin:0 0 4px">Hi premium, see <a href="https://x.test/d">docs</a></li>',
    ],
    [
      'a nested list',
      list('ordered', [item(str('Parent'), list('unordered', [item(str('Child'))]))]),
      '1. Parent\n   - Child',
      '<li style="margin:0 0 4px">Parent<ul style="margin:0 0 16px;padding-left:24px"><li style="margin:0 0 4px">Child</li></ul></li>',
    ],
    [
      'looped list items',
      list('ordered', [{ type: 'list-item', loop: 'data.products', elements: [str('{{$.item.name}}: {{$.item.price}}')] }]),
      '1. Mouse: $10\n2. Keyboard: $20',
      '<li style="margin:0 0 4px">Keyboard: $20</li>',
    ],
    [
      'a list item whose if fails',
      list('unordered', [item(str('a')), { type: 'list-item', if: 'false', elements: [str('b')] }]),
      '- a',
      '<li style="margin:0 0 4px">a</li></ul>',
    ],
    [
      'a bullet image',
      list('unordered', [item(str('a'))], { imgSrc: 'https://x.test/b.png' }),
      '- a',
      'list-style:none"><li style="margin:0 0 4px"><img src="https://x.test/b.png"',
    ],
  ])('renders %s', (_, element, plain, fragment) => {
    expect(sms([element], { data })).toBe(plain);
    expect(html([element], { data })).toContain(fragment);
  });

  it('renders nothing for a comment, and a list with no items as nothing', () => {
    expect(sms([{ type: 'comment', content: 'note to self' }, list('ordered', [item(str('x', { if: 'false' }))]), text('after')])).toBe('after');
  });

  it('gives inbox the actions of a group as blocks', () => {
    const out = render('inbox', input([{ type: 'group', elements: [text('Body'), { type: 'action', content: 'Go', href: 'https://x.test' }] }]));
    expect(out).toEqual({ channel: 'inbox', body: 'Body', blocks: [{ type: 'action', text: 'Go', href: 'https://x.test' }] });
  });

  it('renders only the channel element of this channel, with control flow', () => {
    const els = [
      { type: 'channel', channel: 'sms', if: 'data.plan', elements: [text('sms {{plan}}')] },
      { type: 'channel', channel: 'email', elements: [text('email')] },
    ];
    expect(sms(els, { data })).toBe('sms premium');
    expect(sms(els)).toBe('');
  });

  it('localizes elements nested in groups, columns and lists', () => {
    const els = [
      { type: 'group', elements: [text('Hello', { locales: { fr: { content: 'Bonjour' } } })] },
      { type: 'columns', elements: [{ type: 'column', elements: [text('Left', { locales: { fr: { content: 'Gauche' } } })] }] },
      list('unordered', [
        item(str('One', { locales: { fr: { content: 'Un' } } }), {
          type: 'link',
          content: 'Docs',
          href: 'https://x.test/en',
          locales: { fr: { href: 'https://x.test/fr' } },
        }),
      ]),
    ];
    expect(sms(els, { locale: 'fr_FR' })).toBe('Bonjour\n\nGauche\n\n- UnDocs (https://x.test/fr)');
    expect(sms(els)).toBe('Hello\n\nLeft\n\n- OneDocs (https://x.test/en)');
  });
});

describe('element styles', () => {
  it.each<[string, ElementalNode, string]>([
    ['an h1', text('T', { text_style: 'h1' }), '<h1 style="margin:0 0 16px;font-size:28px;line-height:1.25;white-space:pre-line">T</h1>'],
    ['subtext', text('T', { text_style: 'subtext' }), '<p style="margin:0 0 16px;font-size:13px;color:#71717a;white-space:pre-line">T</p>'],
    [
      'alignment, colour and emphasis',
      text('T', { align: 'center', color: '#ff0000', bold: true, italic: true, underline: true, strikethrough: true }),
      'style="margin:0 0 16px;white-space:pre-line;text-align:center;color:#ff0000;font-weight:bold;font-style:italic;text-decoration:underline line-through">T</p>',
    ],
    ['an rgb colour', text('T', { color: 'rgb(0, 123, 255)' }), 'color:rgb(0, 123, 255)">T</p>'],
    ['a colour that is not one, dropped', text('T', { color: 'red;background:url(x)' }), '<p style="margin:0 0 16px;white-space:pre-line">T</p>'],
    [
      'inline text content over content',
      {
        type: 'text',
        content: 'ignored',
        elements: [
          { type: 'string', content: 'See ' },
          { type: 'link', content: '<here>', href: 'https://x.test' },
        ],
      },
      '<p style="margin:0 0 16px;white-space:pre-line">See <a href="https://x.test">&lt;here&gt;</a></p>',
    ],
    [
      'an action centred by default',
      { type: 'action', content: 'Go', href: 'https://x.test' },
      '<p style="margin:0 0 16px;text-align:center"><a href="https://x.test" style="display:inline-block;',
    ],
    ['an action aligned left', { type: 'action', content: 'Go', href: 'https://x.test', align: 'left' }, '<p style="margin:0 0 16px;text-align:left"><a'],
    [
      'a full-width action in its colour',
      { type: 'action', content: 'Go', href: 'https://x.test', align: 'full', background_color: '#00aa00' },
      'style="display:block;text-align:center;padding:10px 20px;border-radius:4px;background:#00aa00;',
    ],
    [
      'an image with a width',
      { type: 'image', src: 'https://x.test/i.png', width: '120px', align: 'left' },
      '<p style="margin:0 0 16px;text-align:left"><img src="https://x.test/i.png" alt="" style="width:120px;max-width:100%;border:0"></p>',
    ],
    ['an image with alt_text', { type: 'image', src: 'https://x.test/i.png', alt_text: 'Alt' }, 'alt="Alt"'],
    ['a divider in its colour', { type: 'divider', color: '#cccccc' }, '<hr style="border:none;border-top:1px solid #cccccc;margin:16px 0">'],
  ])('renders %s in email', (_, element, fragment) => {
    expect(html([element])).toContain(fragment);
  });

  it('keeps plain text plain', () => {
    expect(sms([text('Title', { text_style: 'h1', bold: true })])).toBe('Title');
  });
});

describe('the content schema', () => {
  const message = z.object({ content: contentSchema });
  const issuesOf = (elements: unknown[]) =>
    message.safeParse({ content: { version: '2022-01-01', elements } }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

  it('accepts every element type, control flow and style, a null property as not set, and anything in a comment', () => {
    const elements = [
      { type: 'comment', content: 'x', note: { any: 'thing' } },
      {
        type: 'text',
        content: 'x',
        if: 'data.a',
        loop: null,
        ref: 'intro',
        align: 'center',
        text_style: 'h1',
        color: '#000',
        bold: true,
        format: 'markdown',
        unknown: null,
      },
      { type: 'quote', content: 'q', border_color: '#f00' },
      { type: 'group', loop: 'data.items', elements: [text('{{$.item}}', { if: '$.index > 0 && refs.intro.visible' })] },
      { type: 'columns', elements: [{ type: 'column', width: '50%', elements: [{ type: 'image', src: 's', width: '100px', align: 'full' }] }] },
      {
        type: 'list',
        list_type: 'ordered',
        elements: [
          {
            type: 'list-item',
            loop: 'data.x',
            elements: [
              { type: 'string', content: 'a' },
              { type: 'link', content: 'l', href: 'h' },
              { type: 'img', src: 's' },
              { type: 'list', list_type: 'unordered', elements: [] },
            ],
          },
        ],
      },
      { type: 'action', content: 'Go', href: 'h', align: 'full', background_color: '#fff' },
      { type: 'divider', color: 'red' },
      { type: 'channel', channel: 'email', if: 'profile.email', elements: [{ type: 'group', elements: [] }] },
    ];
    expect(issuesOf(elements)).toEqual([]);
    expect(message.parse({ content: { elements } }).content.elements).toEqual(elements);
  });

  it.each<[string, unknown[], string]>([
    ['a jsonnet element', [{ type: 'jsonnet', template: '{}' }], 'elements.0.type: jsonnet elements are not supported'],
    ['a jsonnet element in a group', [{ type: 'group', elements: [{ type: 'jsonnet' }] }], 'elements.0.elements.0.type: jsonnet elements are not supported'],
    ['an if that does not parse', [text('a'), text('b'), text('c', { if: 'data.plan ===' })], 'elements.2.if: does not parse: '],
    ['an if naming what is not in scope', [text('c', { if: 'user.plan' })], 'elements.0.if: unknown name "user"'],
    ['a loop that calls a function', [text('c', { loop: 'data.items.filter(x)' })], 'elements.0.loop: calls are not supported'],
    [
      'a nested if',
      [{ type: 'group', elements: [{ type: 'columns', elements: [{ type: 'column', if: 'this', elements: [] }] }] }],
      'elements.0.elements.0.elements.0.if: "this" is not supported',
    ],
    ['an if that is not a string', [text('c', { if: true })], 'elements.0.if: Invalid input: expected string'],
    ['a ref that is no name', [text('c', { ref: 'a b' })], 'elements.0.ref: must be a name'],
    ['a list item outside a list', [{ type: 'list-item', elements: [] }], 'elements.0.type: "list-item" is not an element type here'],
    [
      'a column outside columns',
      [{ type: 'group', elements: [{ type: 'column', elements: [] }] }],
      'elements.0.elements.0.type: "column" is not an element type here',
    ],
    [
      'a text element in a list',
      [{ type: 'list', list_type: 'ordered', elements: [text('x')] }],
      'elements.0.elements.0.type: "text" is not an element type here: expected one of list-item',
    ],
    ['a list without list_type', [{ type: 'list', elements: [] }], 'elements.0.list_type: Invalid option'],
    ['a group without elements', [{ type: 'group' }], 'elements.0.elements: must be an array of elements'],
    ['an unknown text style', [text('x', { text_style: 'h9' })], 'elements.0.text_style: Invalid option'],
    ['a format other than markdown', [text('x', { format: 'html' })], 'elements.0.format: must be "markdown"'],
    [
      'a property the element does not take',
      [text('x', { unknown: 1 })],
      'elements.0.unknown: is not supported by the text element, which takes type, content',
    ],
    [
      "a quote's text_style, nested",
      [{ type: 'group', elements: [{ type: 'quote', content: 'q', text_style: 'h1' }] }],
      'elements.0.elements.0.text_style: is not supported by the quote element',
    ],
    ['an action_id', [{ type: 'action', content: 'Go', href: 'h', action_id: 'a' }], 'elements.0.action_id: is not supported by the action element'],
    ['Slack blocks in raw', [{ type: 'channel', channel: 'slack', raw: { blocks: [] } }], 'elements.0.raw.blocks: is not supported: raw on direct_message'],
    [
      'a channel element nested',
      [{ type: 'group', elements: [{ type: 'channel', channel: 'email', raw: {} }] }],
      'elements.0.elements.0.type: "channel" is not an element type here',
    ],
  ])('refuses %s, naming the field', (_, elements, expected) => {
    expect(issuesOf(elements)).toEqual([expect.stringContaining(`content.${expected}`)]);
  });

  it(`refuses elements nested deeper than ${MAX_ELEMENT_DEPTH}, without recursing into them`, () => {
    let deep: unknown = text('x');
    for (let i = 0; i < 5000; i++) deep = { type: 'group', elements: [deep] };
    expect(issuesOf([deep])).toEqual([expect.stringContaining(`elements nest at most ${MAX_ELEMENT_DEPTH} deep`)]);
  });

  it('lists what stored content holds that nothing renders: a property, a raw key', () => {
    const content = {
      elements: [
        { type: 'channel', channel: 'push', raw: { title: 't', data: { k: 'v' } } },
        {
          type: 'group',
          elements: [
            { type: 'image', src: 's', caption: 'c' },
            { type: 'comment', note: 1 },
          ],
        },
        { type: 'constructor', x: 1 },
      ],
    } as never;
    expect(contentConditionIssues(content)).toEqual([
      'elements.0.raw.data: is not supported: raw on push takes title, body',
      expect.stringMatching(/^elements\.1\.elements\.0\.caption: is not supported by the image element, which takes type, src, /),
    ]);
  });

  it('lists the conditions of stored content that do not parse', () => {
    const content = { elements: [text('a', { if: 'ok' }), { type: 'group', elements: [text('b', { loop: 'data.' })] }, text('c', { if: 'data.a' })] } as never;
    expect(contentConditionIssues(content)).toEqual([
      'elements.0.if: unknown name "ok": a condition can read data, profile, tenant, refs, $',
      expect.stringMatching(/^elements\.1\.elements\.0\.loop: does not parse/),
    ]);
  });
});

describe('stored content nested past the limit', () => {
  it.each<Channel>(['email', 'sms'])('renders what is within it on %s', (channel) => {
    let deep: unknown = text('too deep');
    for (let i = 0; i < 40; i++) deep = { type: 'group', elements: [deep] };
    const out = render(channel, input([text('top'), deep]));
    expect(out.text ?? out.body).toBe('top');
  });
});

describe('markdown text', () => {
  const md = (content: string, extra: Record<string, unknown> = {}) => text(content, { format: 'markdown', ...extra });
  const paragraph = (els: unknown[], over: Partial<RenderInput> = {}) => /<p style="[^"]*">(.*?)<\/p>/.exec(html(els, over))?.[1];

  it.each<[string, string, string, string]>([
    ['bold, italic and struck', '**b** __B__ *i* _I_ ~~s~~', '<strong>b</strong> <strong>B</strong> <em>i</em> <em>I</em> <s>s</s>', 'b B i I s'],
    ['nested emphasis', '**bold _and italic_**', '<strong>bold <em>and italic</em></strong>', 'bold and italic'],
    ['code, escaped', '`a<b` and *x*', '<code>a&lt;b</code> and <em>x</em>', 'a<b and x'],
    ['a link', 'see [the **docs**](https://x.test/a_b)', 'see <a href="https://x.test/a_b">the <strong>docs</strong></a>', 'see the docs (https://x.test/a_b)'],
    ['a link whose URL is not safe, as its label', '[click](javascript:void)', 'click', 'click'],
    ['underscores inside words, as written', 'snake_case_name', 'snake_case_name', 'snake_case_name'],
    ['delimiters with no closer, as written', '**open *a 2 * 3', '**open *a 2 * 3', '**open *a 2 * 3'],
    ['backslash escapes', '\\*not italic\\*', '*not italic*', '*not italic*'],
    ['html in the text, escaped', '<b>x</b> **y**', '&lt;b&gt;x&lt;/b&gt; <strong>y</strong>', '<b>x</b> y'],
    ['block syntax, as written', '# Title', '# Title', '# Title'],
  ])('renders %s: HTML in email, plain text elsewhere', (_, content, expectedHtml, expectedText) => {
    expect(paragraph([md(content)])).toBe(expectedHtml);
    expect(sms([md(content)])).toBe(expectedText);
    expect(render('direct_message', input([md(content)])).blocks).toEqual([{ type: 'text', text: expectedText }]);
  });

  it('fills variables first, escaping them in the HTML, and keeps line breaks and the text style', () => {
    const out = html([md('Hi **{{name}}**\nline _two_', { bold: true })], { data: { name: '<Ada>' } });
    expect(out).toContain('font-weight:bold">Hi <strong>&lt;Ada&gt;</strong>\nline <em>two</em></p>');
  });

  it('leaves text without format as written', () => {
    expect(paragraph([text('**b**')])).toBe('**b**');
  });

  it('takes time linear in the content, however its delimiters are unbalanced', () => {
    const started = Date.now();
    for (const unit of ['**a _b `c [d ~~e *f __g ', ' _x', '[a](', '*a ']) sms([md(unit.repeat(Math.floor(60_000 / unit.length)))]);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('quote border_color', () => {
  it('colours the quote border in email, and drops a colour that is not one', () => {
    expect(html([{ type: 'quote', content: 'q', border_color: '#ff0000' }])).toContain('border-left:3px solid #ff0000;');
    expect(html([{ type: 'quote', content: 'q', border_color: 'red;background:url(x)' }])).toContain('border-left:3px solid #d4d4d8;');
  });
});
