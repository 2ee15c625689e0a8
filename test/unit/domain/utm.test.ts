import { mergeUtm, utmHtml, utmOutput, utmSchema, utmText, withUtm } from '../../../lambdas/domain/utm';

const p = { utm_source: 'newsletter', utm_campaign: 'spring sale' };

describe('withUtm', () => {
  it.each([
    ['a bare link', 'https://acme.test/a', 'https://acme.test/a?utm_source=newsletter&utm_campaign=spring%20sale'],
    ['an existing query', 'https://acme.test/a?x=1', 'https://acme.test/a?x=1&utm_source=newsletter&utm_campaign=spring%20sale'],
    ['a fragment', 'https://acme.test/a?x=1#top', 'https://acme.test/a?x=1&utm_source=newsletter&utm_campaign=spring%20sale#top'],
    ['a fragment without a query', 'http://acme.test/#/route?y', 'http://acme.test/?utm_source=newsletter&utm_campaign=spring%20sale#/route?y'],
    ['an empty query', 'https://acme.test/a?', 'https://acme.test/a?utm_source=newsletter&utm_campaign=spring%20sale'],
    ['a link that sets one of them already', 'https://acme.test/a?utm_source=blog', 'https://acme.test/a?utm_source=blog&utm_campaign=spring%20sale'],
    ['a link that sets all of them', 'https://acme.test/?utm_campaign=x&utm_source=y', 'https://acme.test/?utm_campaign=x&utm_source=y'],
    ['upper-case scheme', 'HTTPS://ACME.test', 'HTTPS://ACME.test?utm_source=newsletter&utm_campaign=spring%20sale'],
    ['mailto', 'mailto:ada@acme.test?subject=hi', 'mailto:ada@acme.test?subject=hi'],
    ['tel', 'tel:+15550100', 'tel:+15550100'],
    ['a relative link', '/account', '/account'],
    ['an anchor', '#section', '#section'],
  ])('%s', (_, url, expected) => {
    expect(withUtm(url, p)).toBe(expected);
  });

  it('changes nothing without parameters', () => {
    expect(withUtm('https://acme.test/a', undefined)).toBe('https://acme.test/a');
  });
});

describe('utmHtml', () => {
  it.each([
    ['a double-quoted href', '<a href="https://acme.test/a">x</a>', '<a href="https://acme.test/a?utm_source=newsletter&amp;utm_campaign=spring%20sale">x</a>'],
    ['a single-quoted href', "<a href='https://acme.test/a'>x</a>", "<a href='https://acme.test/a?utm_source=newsletter&amp;utm_campaign=spring%20sale'>x</a>"],
    [
      'an escaped query',
      '<a class="b" href="https://acme.test/a?x=1&amp;y=2#f">x</a>',
      '<a class="b" href="https://acme.test/a?x=1&amp;y=2&amp;utm_source=newsletter&amp;utm_campaign=spring%20sale#f">x</a>',
    ],
    [
      'an escaped utm the link has',
      '<a href="https://a.test/?x=1&amp;utm_source=s">x</a>',
      '<a href="https://a.test/?x=1&amp;utm_source=s&amp;utm_campaign=spring%20sale">x</a>',
    ],
    ['mailto and tel', '<a href="mailto:a@b.test">m</a><a href="tel:1">t</a>', '<a href="mailto:a@b.test">m</a><a href="tel:1">t</a>'],
    ['an image src (not a link)', '<img src="https://acme.test/logo.png">', '<img src="https://acme.test/logo.png">'],
    ['a URL in the text (not an href)', '<p>https://acme.test</p>', '<p>https://acme.test</p>'],
  ])('%s', (_, html, expected) => {
    expect(utmHtml(html, p)).toBe(expected);
  });
});

describe('utmText', () => {
  it.each([
    ['a URL in a sentence', 'See https://acme.test/a.', 'See https://acme.test/a?utm_source=newsletter&utm_campaign=spring%20sale.'],
    ['a URL in brackets', '(https://acme.test/a?x=1)', '(https://acme.test/a?x=1&utm_source=newsletter&utm_campaign=spring%20sale)'],
    [
      'two URLs',
      'http://a.test and https://b.test/#x',
      'http://a.test?utm_source=newsletter&utm_campaign=spring%20sale and https://b.test/?utm_source=newsletter&utm_campaign=spring%20sale#x',
    ],
    ['no URL', 'mail ada@acme.test or call tel:123', 'mail ada@acme.test or call tel:123'],
  ])('%s', (_, text, expected) => {
    expect(utmText(text, p)).toBe(expected);
  });
});

describe('mergeUtm', () => {
  it.each([
    ['nothing set', [undefined, null, {}], undefined],
    ['one layer', [{ source: 's' }], { utm_source: 's' }],
    [
      'later layers win per key',
      [{ source: 'm', medium: 'email' }, { source: 'c' }, { campaign: 'p' }],
      { utm_source: 'c', utm_medium: 'email', utm_campaign: 'p' },
    ],
    ['null and empty values unset', [{ source: 'm' }, { source: null, term: '' }], { utm_source: 'm' }],
  ])('%s', (_, layers, expected) => {
    expect(mergeUtm(...(layers as never[]))).toEqual(expected);
  });

  it('refuses an unknown UTM field, naming it', () => {
    const parsed = utmSchema.safeParse({ source: 's', id: 'x' });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error!.issues)).toContain('id');
  });
});

describe('utmOutput', () => {
  it('adds the parameters to html hrefs, text and body URLs and block hrefs, not to titles or image sources', () => {
    const out = utmOutput(
      {
        channel: 'direct_message',
        title: 'https://acme.test/title',
        subject: 'https://acme.test/subject',
        text: 'Go to https://acme.test/t',
        body: 'https://acme.test/b',
        html: '<a href="https://acme.test/h">h</a>',
        blocks: [
          { type: 'action', text: 'Open', href: 'https://acme.test/act' },
          { type: 'image', text: 'logo', src: 'https://acme.test/i.png', href: 'https://acme.test/img' },
          { type: 'action', text: 'Mail', href: 'mailto:a@acme.test' },
        ],
      },
      { utm_source: 's' },
    );
    expect(out).toEqual({
      channel: 'direct_message',
      title: 'https://acme.test/title',
      subject: 'https://acme.test/subject',
      text: 'Go to https://acme.test/t?utm_source=s',
      body: 'https://acme.test/b?utm_source=s',
      html: '<a href="https://acme.test/h?utm_source=s">h</a>',
      blocks: [
        { type: 'action', text: 'Open', href: 'https://acme.test/act?utm_source=s' },
        { type: 'image', text: 'logo', src: 'https://acme.test/i.png', href: 'https://acme.test/img?utm_source=s' },
        { type: 'action', text: 'Mail', href: 'mailto:a@acme.test' },
      ],
    });
  });
});
