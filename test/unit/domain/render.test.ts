import { z } from 'zod';
import { contentSchema, render, type Brand, type ElementalNode, type RenderInput } from '../../../lambdas/domain/render';
import type { Channel } from '../../../lambdas/domain/routing';

const input = (over: Partial<RenderInput> = {}): RenderInput => ({ content: { body: '' }, data: {}, profile: {}, ...over });
const elements = (...els: ElementalNode[]): RenderInput['content'] => ({ version: '2022-01-01', elements: els });
const text = (content: string): ElementalNode => ({ type: 'text', content });
/** The plain text a template renders to (the SMS body is exactly that). */
const fillText = (body: string, over: Partial<RenderInput> = {}) => render('sms', input({ content: { body }, ...over })).body;

const acme: Brand = {
  id: 'acme',
  name: 'Acme',
  settings: {
    colors: { primary: '#ff6600' },
    email: {
      header: { logo: { image: 'https://cdn.acme.test/logo.png', href: 'https://acme.test' }, barColor: '#112233' },
      footer: { content: 'Sent to {{profile.email}} by Acme' },
    },
  },
};

describe('variables', () => {
  it.each<[string, string, Partial<RenderInput>, string]>([
    ['a data key', 'Hi {{name}}', { data: { name: 'Ada' } }, 'Hi Ada'],
    ['a nested data path', 'Order {{order.id}}', { data: { order: { id: 'A-1' } } }, 'Order A-1'],
    ['a number', 'Order {{order_id}}', { data: { order_id: 42 } }, 'Order 42'],
    ['a missing variable as empty', 'Hi {{name}}!', {}, 'Hi !'],
    ['a missing nested path as empty', 'Hi {{order.customer.name}}!', { data: { order: {} } }, 'Hi !'],
    ['the profile over data.profile', '{{profile.email}}', { profile: { email: 'a@x.io' }, data: { profile: { email: 'spoof@x.io' } } }, 'a@x.io'],
    ['the tenant over data.tenant', '{{tenant.name}}', { tenant: { id: 't', name: 'Acme' }, data: { tenant: { name: 'spoof' } } }, 'Acme'],
    ['tenant properties', 'Plan {{tenant.properties.plan}}', { tenant: { id: 't', properties: { plan: 'pro' } } }, 'Plan pro'],
    ['no tenant as empty, even with data.tenant', 'x{{tenant.name}}', { data: { tenant: { name: 'spoof' } } }, 'x'],
    ['the brand', 'From {{brand.name}}', { brand: acme, data: { brand: { name: 'spoof' } } }, 'From Acme'],
    ['a data key beside the namespaces', '{{name}} {{profile.name}}', { data: { name: 'data' }, profile: { name: 'profile' } }, 'data profile'],
    ['a section over a list', '{{#items}}[{{.}}]{{/items}}', { data: { items: ['a', 'b'] } }, '[a][b]'],
    ['an inherited name as a missing variable', 'x{{constructor}}{{profile.toString}}', {}, 'x'],
    ['a partial as empty', 'x{{> footer}}', {}, 'x'],
    ['an unclosed tag as its source', 'Hi {{name', { data: { name: 'Ada' } }, 'Hi {{name'],
    ['a throwing lookup as its source', 'Hi {{items.map}}', { data: { items: [] } }, 'Hi {{items.map}}'],
    ['the seed example', 'Hi {{profile.email}}', { profile: { email: 'ada@example.com' } }, 'Hi ada@example.com'],
  ])('renders %s', (_, template, over, expected) => {
    expect(fillText(template, over)).toBe(expected);
  });
});

describe('escaping', () => {
  const data = { name: '<script>alert(1)</script>' };

  it('keeps text outputs unescaped', () => {
    const out = render('email', input({ content: { title: 'For {{name}}', body: 'Hi {{name}} & co' }, data }));
    expect([out.subject, out.text]).toEqual(['For <script>alert(1)</script>', 'Hi <script>alert(1)</script> & co']);
  });

  it.each<[string, ElementalNode, string]>([
    ['a variable in text', text('Hi {{name}}'), '<p style="margin:0 0 16px;white-space:pre-line">Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>'],
    ['literal markup in text', text('a <b> & c'), '>a &lt;b&gt; &amp; c</p>'],
    ['a variable in an html element, keeping its markup', { type: 'html', content: '<b>{{name}}</b>' }, '<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>'],
    ['a quote in an attribute', { type: 'image', src: 'https://x.test/a.png', altText: '"{{name}}' }, 'alt="&quot;&lt;script&gt;'],
  ])('escapes %s in html', (_, element, fragment) => {
    const { html } = render('email', input({ content: elements(element), data }));
    expect(html).toContain(fragment);
    expect(html).not.toContain('<script>');
  });

  it.each([
    ['javascript:alert(1)', undefined],
    [' JavaScript:alert(1)', undefined],
    ['java\tscript:alert(1)', undefined],
    ['data:text/html,x', undefined],
    ['https://x.test/a?b=1&c=2', 'https://x.test/a?b=1&c=2'],
    ['mailto:a@x.io', 'mailto:a@x.io'],
    ['/relative/path', '/relative/path'],
  ])('links %j only when its scheme is safe', (href, kept) => {
    const out = render('inbox', input({ content: elements({ type: 'action', content: 'Go', href: '{{url}}' }), data: { url: href } }));
    expect(out.blocks).toEqual([{ type: 'action', text: 'Go', href: kept }]);
  });
});

describe('elements', () => {
  it.each<[string, ElementalNode, string, string]>([
    ['text', text('Hello'), 'Hello', '<p style="margin:0 0 16px;white-space:pre-line">Hello</p>'],
    ['quote', { type: 'quote', content: 'Wise\nwords' }, '> Wise\n> words', '<blockquote'],
    [
      'action (button)',
      { type: 'action', content: 'Track', href: 'https://x.test/o/{{id}}' },
      'Track: https://x.test/o/7',
      '<a href="https://x.test/o/7" style="display:inline-block;padding:10px 20px;border-radius:4px;background:#2563eb;color:#ffffff;text-decoration:none">Track</a>',
    ],
    [
      'action (link)',
      { type: 'action', content: 'Track', href: 'https://x.test', style: 'link' },
      'Track: https://x.test',
      '<a href="https://x.test" style="color:#2563eb">Track</a>',
    ],
    [
      'image',
      { type: 'image', src: 'https://x.test/i.png', href: 'https://x.test', altText: 'Logo' },
      'Logo',
      '<a href="https://x.test"><img src="https://x.test/i.png" alt="Logo" style="max-width:100%;border:0"></a>',
    ],
    ['divider', { type: 'divider' }, '', '<hr style='],
    ['html', { type: 'html', content: '<table><tr><td>{{id}}</td></tr></table>' }, '', '<table><tr><td>7</td></tr></table>'],
    ['meta (the subject, not the body)', { type: 'meta', title: 'Order {{id}}' }, '', '<title>Order 7</title>'],
  ])('renders %s in email text and html', (_, element, plain, fragment) => {
    const out = render('email', input({ content: elements(element), data: { id: 7 } }));
    expect(out.text).toBe(plain);
    expect(out.html).toContain(fragment);
  });

  it('joins paragraphs with a blank line and leaves out empty ones', () => {
    const out = render('email', input({ content: elements(text('One'), text('{{missing}}'), { type: 'divider' }, text('Two')) }));
    expect(out.text).toBe('One\n\nTwo');
  });

  it('puts the sugar body before the elements and prefers a meta title to the sugar title', () => {
    const content = { title: 'Sugar', body: 'First', elements: [{ type: 'meta', title: 'Meta' }, text('Second')] };
    const out = render('email', input({ content }));
    expect([out.subject, out.text]).toEqual(['Meta', 'First\n\nSecond']);
  });

  it('ignores element types it does not know in stored content', () => {
    expect(render('push', input({ content: elements({ type: 'jsonnet' }, text('ok')) })).body).toBe('ok');
  });
});

describe('channel filtering', () => {
  const content = elements(
    text('all'),
    { type: 'channel', channel: 'email', elements: [text('email only')] },
    { type: 'channel', channel: 'slack', elements: [text('chat only')] },
    { type: 'channel', channel: 'push', raw: { title: 'Raw {{name}}', body: 'raw body' } },
    { type: 'text', content: 'sms or push', channels: ['sms', 'push'] },
  );

  it.each<[Channel, Record<string, unknown>]>([
    ['email', { text: 'all\n\nemail only' }],
    ['direct_message', { text: 'all\n\nchat only' }],
    ['sms', { body: 'all\n\nsms or push' }],
    ['push', { title: 'Raw Ada', body: 'raw body' }],
    ['inbox', { body: 'all' }],
  ])('renders for %s only what applies to it', (channel, expected) => {
    expect(render(channel, input({ content, data: { name: 'Ada' } }))).toMatchObject(expected);
  });

  it('lets raw html replace the whole email html, escaping its variables', () => {
    const raw = elements(text('x'), { type: 'channel', channel: 'email', raw: { html: '<h1>{{name}}</h1>' } });
    expect(render('email', input({ content: raw, data: { name: '<i>' } })).html).toBe('<h1>&lt;i&gt;</h1>');
  });
});

describe('raw', () => {
  it('sets only the fields its channel has, in stored content that escaped the checks', () => {
    const content = elements(text('x'), { type: 'channel', channel: 'sms', raw: { body: 'B', subject: 'S', blocks: [] } });
    expect(render('sms', input({ content }))).toEqual({ channel: 'sms', body: 'B' });
  });
});

describe('channel outputs', () => {
  const content = {
    version: '2022-01-01',
    elements: [
      { type: 'meta', title: 'Order {{order_id}} shipped' },
      text('Hi {{profile.name}}, it is on its way.'),
      { type: 'action', content: 'Track', href: 'https://x.test/{{order_id}}' },
    ],
  };
  const common = { content, data: { order_id: 42 }, profile: { name: 'Ada' } };

  it.each<[Channel, Record<string, unknown>]>([
    ['sms', { channel: 'sms', body: 'Hi Ada, it is on its way.\n\nTrack: https://x.test/42' }],
    ['push', { channel: 'push', title: 'Order 42 shipped', body: 'Hi Ada, it is on its way.\n\nTrack: https://x.test/42' }],
    ['webhook', { channel: 'webhook', title: 'Order 42 shipped', body: 'Hi Ada, it is on its way.\n\nTrack: https://x.test/42' }],
    [
      'inbox',
      {
        channel: 'inbox',
        title: 'Order 42 shipped',
        body: 'Hi Ada, it is on its way.',
        blocks: [{ type: 'action', text: 'Track', href: 'https://x.test/42' }],
      },
    ],
    [
      'direct_message',
      {
        channel: 'direct_message',
        title: 'Order 42 shipped',
        text: 'Hi Ada, it is on its way.\n\nTrack: https://x.test/42',
        blocks: [
          { type: 'text', text: 'Hi Ada, it is on its way.' },
          { type: 'action', text: 'Track', href: 'https://x.test/42' },
        ],
      },
    ],
  ])('%s', (channel, expected) => {
    expect(render(channel, input(common))).toEqual(expected);
  });

  it('renders email as subject, text and html', () => {
    const out = render('email', input(common));
    expect(out).toEqual({
      channel: 'email',
      subject: 'Order 42 shipped',
      text: 'Hi Ada, it is on its way.\n\nTrack: https://x.test/42',
      html: expect.stringContaining('Hi Ada'),
    });
  });

  it.each<[string, RenderInput['content'], string]>([
    ['sends the body without the title', { title: 'Title', body: 'Body' }, 'Body'],
    ['sends the title when there is no body', { title: 'Title' }, 'Title'],
  ])('sms %s', (_, sugar, body) => {
    expect(render('sms', input({ content: sugar }))).toEqual({ channel: 'sms', body });
  });

  it('gives inbox no blocks without actions', () => {
    expect(render('inbox', input({ content: { title: 'T', body: 'B' } }))).toEqual({ channel: 'inbox', title: 'T', body: 'B' });
  });

  it('blocks images and dividers for chat', () => {
    const out = render(
      'direct_message',
      input({ content: elements({ type: 'image', src: 'https://x.test/i.png', altText: 'pic' }, { type: 'divider' }, { type: 'html', content: '<b>x</b>' }) }),
    );
    expect(out.blocks).toEqual([
      { type: 'image', text: 'pic', src: 'https://x.test/i.png' },
      { type: 'divider', text: '' },
    ]);
  });
});

describe('email layout', () => {
  const content = { title: 'Welcome', body: 'Hi', elements: [{ type: 'action', content: 'Start', href: 'https://x.test' }] };

  it.each([
    ['the bar colour', 'background:#112233'],
    ['the logo, linked', '<a href="https://acme.test"><img src="https://cdn.acme.test/logo.png" alt="Acme"'],
    ['the footer with its variables', '>Sent to ada@example.com by Acme</div>'],
    ['buttons in the primary colour', 'background:#ff6600;color:#ffffff'],
    ['the subject as the document title', '<title>Welcome</title>'],
  ])('wraps the content in the brand layout with %s', (_, fragment) => {
    const { html } = render('email', input({ content, brand: acme, profile: { email: 'ada@example.com' } }));
    expect(html).toContain(fragment);
  });

  it('accepts a footer given as a string and falls back to the primary colour for the bar', () => {
    const brand: Brand = { id: 'b', settings: { colors: { primary: 'teal' }, email: { footer: 'Plain footer' } } };
    const { html } = render('email', input({ content, brand }));
    expect([html?.includes('height:6px;background:teal'), html?.includes('>Plain footer</div>')]).toEqual([true, true]);
  });

  it('ignores brand colours that are not colours', () => {
    const brand: Brand = { id: 'b', settings: { colors: { primary: 'red;background:url(https://evil.test)' } } };
    const { html } = render('email', input({ content, brand }));
    expect([html?.includes('evil.test'), html?.includes('background:#2563eb')]).toEqual([false, true]);
  });

  it('lays out a brand template override: its header, footer and head HTML (variables escaped), colours and width', () => {
    const brand: Brand = {
      id: 'b',
      settings: {
        email: {
          head: { content: '<style>.a{}</style>' },
          templateOverride: {
            enabled: true,
            header: '<div class="hdr">Hello {{profile.name}}</div>',
            footer: '<p class="ftr">Bye</p>',
            head: '<meta name="x" content="y">',
            backgroundColor: '#000000',
            blocksBackgroundColor: '#eeeeee',
            footerBackgroundColor: '#123456',
            width: '640px',
          },
        },
      },
    };
    const { html } = render('email', input({ content, brand, profile: { name: '<Ada>' } }));
    for (const fragment of [
      '<div class="hdr">Hello &lt;Ada&gt;</div>',
      '<div style="background:#123456"><p class="ftr">Bye</p></div>',
      '<title>Welcome</title><style>.a{}</style><meta name="x" content="y"></head>',
      'background:#000000',
      'max-width:640px;margin:0 auto;background:#eeeeee',
    ])
      expect(html).toContain(fragment);
    // The standard brand header is replaced, not added to.
    expect(html).not.toContain('height:6px');
    // footerFullWidth: the footer leaves the content's column and spans the page.
    const wide = render(
      'email',
      input({ content, brand: { id: 'b', settings: { email: { templateOverride: { enabled: true, footer: '<p>F</p>', footerFullWidth: true } } } } }),
    ).html!;
    expect(wide).toMatch(/color:#18181b">.*<\/div><p>F<\/p>\n<\/body>/s);
    // A disabled override changes nothing.
    const off = render(
      'email',
      input({ content, brand: { ...brand, settings: { email: { templateOverride: { enabled: false, header: 'X-HEADER' } } } } }),
    ).html;
    expect(off).not.toContain('X-HEADER');
  });

  it.each<[string, string, Record<string, string> | undefined, string]>([
    ['a snippet by name', 'Hi {{>sig}}', { sig: 'the team' }, 'Hi the team'],
    ['variables inside a snippet', '{{>greet}}!', { greet: 'Hello {{profile.name}}' }, 'Hello Ada!'],
    ['a snippet using another', '{{>outer}}', { outer: '[{{>inner}}]', inner: 'in' }, '[in]'],
    ['an unknown snippet as empty', 'a{{>nope}}b', { sig: 'x' }, 'ab'],
    ['no snippets without a brand', 'a{{>sig}}b', undefined, 'ab'],
  ])('renders brand snippets as partials: %s', (_, body, snippets, expected) => {
    expect(fillText(body, { profile: { name: 'Ada' }, brand: snippets && { id: 'b', snippets } })).toBe(expected);
  });

  it('renders a snippet that includes itself as its source text, as any template mustache cannot render', () => {
    expect(fillText('a {{>loop}}', { brand: { id: 'b', snippets: { loop: 'x{{>loop}}' } } })).toBe('a {{>loop}}');
  });

  it('uses a minimal layout without a brand', () => {
    const { html } = render('email', input({ content }));
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect([html?.includes('height:6px'), html?.includes('<img'), html?.includes('border-top:1px solid #e4e4e7;color')]).toEqual([false, false, false]);
  });
});

describe('contentSchema', () => {
  const message = z.object({ content: contentSchema });
  const issuesOf = (content: unknown) => message.safeParse({ content }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);

  it.each([
    ['sugar', { title: 'T', body: 'B' }],
    ['a title only', { title: 'T' }],
    [
      'every element type',
      {
        version: '2022-01-01',
        elements: [
          { type: 'meta', title: 'T' },
          { type: 'text', content: 'x', align: 'left' },
          { type: 'action', content: 'Go', href: 'https://x.test', style: 'link' },
          { type: 'image', src: 'https://x.test/i.png', altText: 'i' },
          { type: 'divider' },
          { type: 'quote', content: 'q' },
          { type: 'html', content: '<b>x</b>' },
          { type: 'channel', channel: 'email', elements: [{ type: 'text', content: 'e' }] },
          { type: 'channel', channel: 'slack', raw: { text: 'hi', title: null } },
          { type: 'text', content: 'x', channels: ['sms', 'msteams'] },
        ],
      },
    ],
    ['sugar and elements', { title: 'T', elements: [{ type: 'text', content: 'x' }] }],
  ])('accepts %s', (_, content) => {
    expect(message.parse({ content })).toEqual({ content });
  });

  it.each([
    ['a non-string body', { body: 1 }, 'content.body: Invalid input: expected string, received number'],
    ['empty content', {}, 'content: must have a title, a body or elements'],
    ['empty elements alone', { elements: [] }, 'content: must have a title, a body or elements'],
    [
      'an unknown element type',
      { elements: [{ type: 'text', content: 'a' }, { type: 'divider' }, { type: 'meta', title: 't' }, { type: 'carousel' }] },
      'content.elements.3.type: "carousel" is not an element type here: expected one of text, meta',
    ],
    ['a text element without content', { elements: [{ type: 'text' }] }, 'content.elements.0.content: must have content or elements'],
    ['an action with a numeric href', { elements: [{ type: 'action', content: 'Go', href: 1 }] }, 'content.elements.0.href: Invalid input: expected string'],
    ['an unknown action style', { elements: [{ type: 'action', content: 'Go', href: 'h', style: 'big' }] }, 'content.elements.0.style:'],
    [
      'a channel element in a channel element',
      { elements: [{ type: 'channel', channel: 'email', elements: [{ type: 'channel', channel: 'sms', raw: {} }] }] },
      'content.elements.0.elements.0.type:',
    ],
    [
      'a channel element for an unknown channel',
      { elements: [{ type: 'channel', channel: 'fax', raw: {} }] },
      'content.elements.0.channel: unknown channel or provider "fax"',
    ],
    ['a channel element with neither elements nor raw', { elements: [{ type: 'channel', channel: 'email' }] }, 'content.elements.0: must have elements or raw'],
    [
      'a raw field that is not a string',
      { elements: [{ type: 'channel', channel: 'push', raw: { title: 3 } }] },
      'content.elements.0.raw.title: Invalid input: expected string',
    ],
    [
      'Slack blocks in raw',
      { elements: [{ type: 'channel', channel: 'slack', raw: { text: 'hi', blocks: [] } }] },
      'content.elements.0.raw.blocks: is not supported: raw on direct_message takes title, text',
    ],
    [
      'push data in raw',
      { elements: [{ type: 'channel', channel: 'push', raw: { data: { k: 'v' } } }] },
      'content.elements.0.raw.data: is not supported: raw on push takes title, body',
    ],
    [
      'a raw field its channel has not',
      { elements: [{ type: 'channel', channel: 'sms', raw: { subject: 's' } }] },
      'content.elements.0.raw.subject: is not supported',
    ],
    [
      'an element property nothing renders',
      { elements: [{ type: 'action', content: 'Go', href: 'h', action_id: 'a1' }] },
      'content.elements.0.action_id: is not supported by the action element, which takes type, content, href',
    ],
    [
      'an unknown channel in channels',
      { elements: [{ type: 'divider', channels: ['fax'] }] },
      'content.elements.0.channels.0: unknown channel or provider "fax"',
    ],
  ])('refuses %s, naming the field', (_, content, expected) => {
    expect(issuesOf(content)).toEqual([expect.stringContaining(expected)]);
  });
});

describe('stored content that escaped validation', () => {
  it('renders what it can instead of throwing', () => {
    const content = { title: 5, elements: [null, 'x', { type: 'text', content: 3 }, { type: 'channel', channel: 'sms', elements: 'no' }, text('ok')] } as never;
    expect(render('push', input({ content }))).toEqual({ channel: 'push', body: 'ok' });
  });
});
