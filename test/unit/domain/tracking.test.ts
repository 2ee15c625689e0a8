import {
  decodeAttribute,
  deriveTrackingKey,
  signTracking,
  trackableUrl,
  trackedHref,
  trackHtml,
  trackOutput,
  verifyTracking,
  type TrackingPayload,
} from '../../../lambdas/domain/tracking';

const key = deriveTrackingKey(Buffer.from('a user-token secret of at least thirty-two characters'));
const other = deriveTrackingKey(Buffer.from('another user-token secret of thirty-two characters'));
const base = 'https://api.acme.test';
const tracker = { base, key };
const id = '0mabcdefg1234567890abcd';

/** The payload a tracking link of `html` carries (its token verified), by where it points. */
const linkPayloads = (html: string) => [...html.matchAll(/\/t\/([oc])\/([A-Za-z0-9_.-]+)/g)].map((m) => verifyTracking(key, m[2]));

describe('signTracking / verifyTracking', () => {
  const payloads: [string, TrackingPayload][] = [
    ['an open', { kind: 'open', messageId: id }],
    ['a click', { kind: 'click', messageId: id, url: 'https://acme.test/a?x=1&y=2#top' }],
    ['a click on a fan-out message', { kind: 'click', messageId: `${id}.0.1.2`, url: 'http://acme.test' }],
    ['a click on a URL with spaces encoded', { kind: 'click', messageId: id, url: 'https://acme.test/a%20b?q=%C3%A9' }],
  ];
  it.each(payloads)('%s round-trips', (_, payload) => {
    const token = signTracking(key, payload);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(verifyTracking(key, token)).toEqual(payload);
  });

  it.each(payloads)('%s is invalid under another key', (_, payload) => {
    expect(verifyTracking(other, signTracking(key, payload))).toBeUndefined();
  });

  it.each(payloads)('%s is invalid with any one character altered, at every position', (_, payload) => {
    const token = signTracking(key, payload);
    const accepted: string[] = [];
    for (let i = 0; i < token.length; i++) {
      // Each neighbour in the base64url alphabet, and the separator, both ways: the low bits a decoder ignores included.
      for (const c of new Set(['A', 'B', 'a', 'b', '-', '_', '0', '.', 'Q', 'g'])) {
        if (c === token[i]) continue;
        const altered = token.slice(0, i) + c + token.slice(i + 1);
        if (verifyTracking(key, altered) !== undefined) accepted.push(altered);
      }
    }
    expect(accepted).toEqual([]);
  });

  it.each([
    ['empty', ''],
    ['no separator', 'abc'],
    ['no payload', '.AAAAAAAAAAAAAAAAAAAAAA'],
    ['a truncated mac', (t: string) => t.slice(0, -1)],
    ['a longer mac', (t: string) => `${t}A`],
    ['a truncated payload', (t: string) => t.slice(1)],
    ['two separators', (t: string) => t.replace('.', '..')],
    ['padding', (t: string) => `${t}=`],
    ['a space', (t: string) => ` ${t}`],
    ['a mac of the decoded payload re-encoded differently', (t: string) => t.replace(/^(\w+)/, '$1A')],
    ['too long', 'A'.repeat(9000) + '.AAAAAAAAAAAAAAAAAAAAAA'],
  ])('refuses %s', (_, alter) => {
    const token = signTracking(key, { kind: 'click', messageId: id, url: 'https://acme.test/' });
    expect(verifyTracking(key, typeof alter === 'string' ? alter : alter(token))).toBeUndefined();
  });

  it('refuses a signed payload that is not one of ours (kind, message id, URL)', () => {
    const forge = (text: string) => {
      const payload = Buffer.from(text).toString('base64url');
      const { createHmac } = require('node:crypto') as typeof import('node:crypto');
      return `${payload}.${createHmac('sha256', key).update(payload).digest().subarray(0, 16).toString('base64url')}`;
    };
    expect(verifyTracking(key, forge(`o ${id}`))).toEqual({ kind: 'open', messageId: id });
    expect(verifyTracking(key, forge(`x ${id}`))).toBeUndefined();
    expect(verifyTracking(key, forge(`o ${id} https://a.test`))).toBeUndefined();
    expect(verifyTracking(key, forge(`c ${id} javascript:alert(1)`))).toBeUndefined();
    expect(verifyTracking(key, forge(`c ${id}`))).toBeUndefined();
    expect(verifyTracking(key, forge(`c a/b https://a.test`))).toBeUndefined();
  });
});

describe('trackableUrl', () => {
  it.each([
    ['https', 'https://acme.test/a?x=1&y=%20#frag', 'https://acme.test/a?x=1&y=%20#frag'],
    ['http, upper-case scheme kept as written', 'HTTP://Acme.test', 'HTTP://Acme.test'],
    ['a space, encoded as a browser would', 'https://acme.test/a b?q=é', 'https://acme.test/a%20b?q=%C3%A9'],
    ['mailto', 'mailto:help@acme.test', undefined],
    ['tel', 'tel:+15550100', undefined],
    ['an anchor', '#top', undefined],
    ['a relative link', '/account', undefined],
    ['javascript', 'javascript:alert(1)', undefined],
    ['not a URL', 'https://', undefined],
  ])('%s', (_, href, expected) => {
    expect(trackableUrl(href)).toBe(expected);
  });
});

describe('decodeAttribute', () => {
  it.each([
    ['&amp;', 'a?x=1&amp;y=2', 'a?x=1&y=2'],
    ['numeric', '&#38;&#x26;&#X26;', '&&&'],
    ['quotes', '&quot;&apos;&#39;', `"''`],
    ['an unknown entity is kept', '&copy;&bogus;', '&copy;&bogus;'],
    ['no semicolon is kept', '?a=1&amp=2', '?a=1&amp=2'],
    ['an invalid code point', '&#0;&#xD800;', '\ufffd\ufffd'],
  ])('%s', (_, value, expected) => {
    expect(decodeAttribute(value)).toBe(expected);
  });
});

describe('trackHtml', () => {
  const click = (url: string) => `${base}/t/c/${signTracking(key, { kind: 'click', messageId: id, url })}`;
  const pixel = `<img src="${base}/t/o/${signTracking(key, { kind: 'open', messageId: id })}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`;

  it.each([
    ['a double-quoted href', '<a href="https://acme.test/a">x</a>', `<a href="${click('https://acme.test/a')}">x</a>`],
    ['a single-quoted href', "<a href='https://acme.test/a'>x</a>", `<a href='${click('https://acme.test/a')}'>x</a>`],
    ['an unquoted href', '<a href=https://acme.test/a>x</a>', `<a href="${click('https://acme.test/a')}">x</a>`],
    ['upper-case tag and attribute', '<A HREF="https://acme.test/a">x</A>', `<A HREF="${click('https://acme.test/a')}">x</A>`],
    [
      'other attributes around it, a > in one of them',
      '<a class="b" title="1 > 0" href = "https://acme.test/a" target="_blank">x</a>',
      `<a class="b" title="1 > 0" href = "${click('https://acme.test/a')}" target="_blank">x</a>`,
    ],
    [
      'an &amp; in the query: the URL signed is decoded',
      '<a href="https://acme.test/a?x=1&amp;y=2#f">x</a>',
      `<a href="${click('https://acme.test/a?x=1&y=2#f')}">x</a>`,
    ],
    ['surrounding spaces', '<a href=" https://acme.test/a ">x</a>', `<a href="${click('https://acme.test/a')}">x</a>`],
    [
      'the first href of two',
      '<a href="https://one.test" href="https://two.test">x</a>',
      `<a href="${click('https://one.test')}" href="https://two.test">x</a>`,
    ],
    ['a data-href is not an href', '<a data-href="https://acme.test/a">x</a>', '<a data-href="https://acme.test/a">x</a>'],
    ['mailto', '<a href="mailto:help@acme.test">x</a>', '<a href="mailto:help@acme.test">x</a>'],
    ['tel', '<a href="tel:+15550100">x</a>', '<a href="tel:+15550100">x</a>'],
    ['an anchor', '<a href="#top">x</a>', '<a href="#top">x</a>'],
    ['no href', '<a name="top">x</a>', '<a name="top">x</a>'],
    ['a tracking link already', `<a href="${click('https://acme.test/a')}">x</a>`, `<a href="${click('https://acme.test/a')}">x</a>`],
    [
      'not an <a>: <abbr>, <area>, <link>',
      '<abbr href="https://a.test">x</abbr><area href="https://a.test"><link href="https://a.test">',
      '<abbr href="https://a.test">x</abbr><area href="https://a.test"><link href="https://a.test">',
    ],
    ['an image src', '<img src="https://acme.test/logo.png">', '<img src="https://acme.test/logo.png">'],
  ])('%s', (_, html, expected) => {
    expect(trackHtml(`<html><body>${html}</body></html>`, tracker, id)).toBe(`<html><body>${expected}${pixel}</body></html>`);
  });

  it('puts the open pixel before the last </body>, whatever its case, or at the end', () => {
    expect(trackHtml('<p>x</p><BODY>y</BODY >', tracker, id)).toBe(`<p>x</p><BODY>y${pixel}</BODY >`);
    expect(trackHtml('<p>x</p>', tracker, id)).toBe(`<p>x</p>${pixel}`);
  });

  it('signs each link for its own URL and the pixel for the message', () => {
    const html = trackHtml('<a href="https://a.test/1">1</a><a href="https://a.test/2?x=&quot;y&quot;">2</a>', tracker, id);
    expect(linkPayloads(html)).toEqual([
      { kind: 'click', messageId: id, url: 'https://a.test/1' },
      { kind: 'click', messageId: id, url: 'https://a.test/2?x="y"' },
      { kind: 'open', messageId: id },
    ]);
  });
});

describe('trackOutput', () => {
  it('tracks the HTML of an email, not its text', () => {
    const out = trackOutput({ channel: 'email', subject: 's', text: 'https://a.test', html: '<a href="https://a.test">a</a>' }, tracker, id);
    expect(out.text).toBe('https://a.test');
    expect(linkPayloads(out.html!)).toEqual([
      { kind: 'click', messageId: id, url: 'https://a.test' },
      { kind: 'open', messageId: id },
    ]);
  });

  it('tracks the links of an inbox message (no pixel)', () => {
    const out = trackOutput(
      {
        channel: 'inbox',
        title: 't',
        body: 'b https://a.test',
        blocks: [
          { type: 'action', text: 'Go', href: 'https://a.test/go' },
          { type: 'action', text: 'Mail', href: 'mailto:a@a.test' },
          { type: 'text', text: 'x' },
        ],
      },
      tracker,
      id,
    );
    expect(out.body).toBe('b https://a.test');
    expect(out.blocks![0].href).toBe(trackedHref('https://a.test/go', tracker, id));
    expect(verifyTracking(key, out.blocks![0].href!.split('/').pop()!)).toEqual({ kind: 'click', messageId: id, url: 'https://a.test/go' });
    expect(out.blocks!.slice(1)).toEqual([
      { type: 'action', text: 'Mail', href: 'mailto:a@a.test' },
      { type: 'text', text: 'x' },
    ]);
  });

  it('leaves other channels alone', () => {
    const sms = { channel: 'sms' as const, body: 'https://a.test' };
    expect(trackOutput(sms, tracker, id)).toBe(sms);
  });
});
