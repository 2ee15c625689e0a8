import { BadRequestError, NotFoundError } from '@trycourier/courier';
import { via } from '../helpers/builders';
import { rendered, sendAndWait } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';

/**
 * Issue 14: template content blocks (ids, checksums, per-element and per-locale content), checks of
 * submissions and translations, all through the official SDK, and sends rendered per locale.
 */
let s: TestStack;
beforeAll(async () => {
  s = await startTestStack();
});
afterAll(() => s?.stop());

type Els = { id?: string; type: string; checksum?: string; locales?: Record<string, Record<string, string>>; [k: string]: unknown }[];

async function aTemplate(elements: unknown[] = [{ type: 'text', content: 'placeholder' }]): Promise<string> {
  const created = await s.client.notifications.create({
    notification: { name: uid('content'), tags: [], brand: null, subscription: null, routing: null, content: { version: '2022-01-01', elements } },
  } as never);
  return created.id;
}

const elemental = {
  elements: [
    { type: 'meta', title: 'Hello {{name}}' },
    { type: 'text', id: 'greeting', content: 'Welcome, {{name}}.' },
    { type: 'action', content: 'Open', href: 'https://x.test/en' },
  ],
};

describe('content blocks', () => {
  it('putContent gives ids where missing and checksums; retrieveContent shows the draft, or the published version by default', async () => {
    const id = await aTemplate();
    const put = await s.client.notifications.putContent(id, { content: elemental } as never);
    expect(put).toMatchObject({ id, version: '2022-01-01', state: 'DRAFT' });
    expect(put.elements).toHaveLength(3);
    expect(put.elements[1].id).toBe('greeting');
    for (const e of put.elements) expect(e).toEqual({ id: expect.stringMatching(/\S/), checksum: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(new Set(put.elements.map((e) => e.id)).size).toBe(3);

    const draft = (await s.client.notifications.retrieveContent(id, { version: 'draft' })) as { version: string; elements: Els };
    expect(draft.version).toBe('2022-01-01');
    expect(draft.elements.map((e) => [e.id, e.type, e.checksum])).toEqual(put.elements.map((e, i) => [e.id, elemental.elements[i].type, e.checksum]));
    expect(draft.elements[1]).toMatchObject({ content: 'Welcome, {{name}}.' });

    // Never published: no published content (the default), as retrieve.
    await expect(s.client.notifications.retrieveContent(id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.client.notifications.retrieve(id)).rejects.toBeInstanceOf(NotFoundError);

    // The same content again: the same checksums, and the ids given are kept.
    const again = await s.client.notifications.putContent(id, { content: { version: '2023-05-01', elements: draft.elements }, state: 'PUBLISHED' } as never);
    expect(again).toMatchObject({ state: 'PUBLISHED', version: '2023-05-01', elements: put.elements });
    const published = (await s.client.notifications.retrieveContent(id)) as { version: string; elements: Els };
    expect(published.version).toBe('2023-05-01');
    expect(published.elements.map((e) => e.id)).toEqual(put.elements.map((e) => e.id));
    expect(await s.client.notifications.retrieve(id)).toMatchObject({ id, state: 'PUBLISHED' });
  });

  it('putContent refuses content that is not Elemental, duplicate ids, and unknown templates', async () => {
    const id = await aTemplate();
    await expect(s.client.notifications.putContent(id, { content: { elements: [{ type: 'hologram' }] } } as never)).rejects.toBeInstanceOf(BadRequestError);
    await expect(
      s.client.notifications.putContent(id, {
        content: {
          elements: [
            { type: 'text', id: 'x', content: 'a' },
            { type: 'text', id: 'x', content: 'b' },
          ],
        },
      } as never),
    ).rejects.toThrow(/"x" is used twice/);
    await expect(s.client.notifications.putContent(uid('none'), { content: elemental } as never)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('putElement replaces one element by id (its checksum follows its text), publishing when asked', async () => {
    const id = await aTemplate();
    const put = await s.client.notifications.putContent(id, { content: elemental } as never);
    const before = put.elements.find((e) => e.id === 'greeting')!;
    const res = await s.client.notifications.putElement('greeting', { id, type: 'text', content: 'Hi there, {{name}}!', state: 'PUBLISHED' } as never);
    expect(res).toMatchObject({ id, state: 'PUBLISHED' });
    const after = res.elements.find((e) => e.id === 'greeting')!;
    expect(after.checksum).not.toBe(before.checksum);
    expect(res.elements.filter((e) => e.id !== 'greeting')).toEqual(put.elements.filter((e) => e.id !== 'greeting'));
    const published = (await s.client.notifications.retrieveContent(id, { version: 'published' })) as { elements: Els };
    expect(published.elements.find((e) => e.id === 'greeting')).toMatchObject({ type: 'text', content: 'Hi there, {{name}}!' });

    await expect(s.client.notifications.putElement('no-such-element', { id, type: 'text', content: 'x' } as never)).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.client.notifications.putElement('greeting', { id, type: 'text' } as never)).rejects.toThrow(/content/);
  });

  it('putLocale sets a locale of the elements by id, shown with checksums; unknown ids and properties are refused', async () => {
    const id = await aTemplate();
    const put = await s.client.notifications.putContent(id, { content: elemental } as never);
    const [meta, , action] = put.elements;
    const res = await s.client.notifications.putLocale('fr', {
      id,
      elements: [
        { id: meta.id, title: 'Bonjour {{name}}' },
        { id: 'greeting', content: 'Bienvenue, {{name}}.' },
        { id: action.id, href: 'https://x.test/fr' },
      ],
    });
    expect(res).toMatchObject({ id, state: 'DRAFT', elements: put.elements });
    const draft = (await s.client.notifications.retrieveContent(id, { version: 'draft' })) as { elements: Els };
    expect(draft.elements.map((e) => e.locales)).toEqual([
      { fr: { title: 'Bonjour {{name}}', checksum: expect.stringMatching(/^[0-9a-f]{32}$/) } },
      { fr: { content: 'Bienvenue, {{name}}.', checksum: expect.stringMatching(/^[0-9a-f]{32}$/) } },
      { fr: { href: 'https://x.test/fr', checksum: expect.stringMatching(/^[0-9a-f]{32}$/) } },
    ]);

    // A PUT replaces the locale: elements not listed lose it; other locales stay.
    await s.client.notifications.putLocale('es', { id, elements: [{ id: 'greeting', content: 'Bienvenido' }] });
    await s.client.notifications.putLocale('fr', { id, elements: [{ id: 'greeting', content: 'Salut' }] });
    const after = (await s.client.notifications.retrieveContent(id, { version: 'draft' })) as { elements: Els };
    expect(after.elements.map((e) => Object.keys(e.locales ?? {}).sort())).toEqual([[], ['es', 'fr'], []]);

    await expect(s.client.notifications.putLocale('fr', { id, elements: [{ id: 'nope', content: 'x' }] })).rejects.toThrow(/no element has the id "nope"/);
    await expect(s.client.notifications.putLocale('fr', { id, elements: [{ id: 'greeting', title: 'x' }] })).rejects.toThrow(
      /a text element cannot localize title/,
    );
    await expect(s.client.notifications.putLocale('not a locale', { id, elements: [] })).rejects.toBeInstanceOf(BadRequestError);
    // Nothing refused was written.
    expect(((await s.client.notifications.retrieveContent(id, { version: 'draft' })) as { elements: Els })[`elements`][1].locales).toEqual(
      after.elements[1].locales,
    );
  });
});

describe('sends per locale', () => {
  it('renders the locale of to.locale or the profile, falling back to the language, then to the default content', async () => {
    const id = await aTemplate();
    const put = await s.client.notifications.putContent(id, { content: elemental } as never);
    await s.client.notifications.putLocale('fr', {
      id,
      elements: [
        { id: put.elements[0].id, title: 'Bonjour {{name}}' },
        { id: 'greeting', content: 'Bienvenue, {{name}}.' },
      ],
    });
    await s.client.notifications.putLocale('fr_CA', { id, elements: [{ id: 'greeting', content: 'Bienvenue au Québec, {{name}}.' }], state: 'PUBLISHED' });

    const [fr, frFR, frCA, de, none] = [uid('fr'), uid('frFR'), uid('frCA'), uid('de'), uid('none')];
    await s.client.profiles.replace(fr, { profile: { locale: 'fr' } });
    await s.client.profiles.replace(frCA, { profile: { locale: 'en' } });
    const send = async (to: Record<string, unknown>) => {
      const { messages } = await sendAndWait(s, { to, template: id, data: { name: 'Ada' }, routing: via('inbox') }, 1);
      expect(messages[0].status).toBe('DELIVERED');
      return rendered(s, messages[0].id, 'inbox');
    };
    // The stored profile's locale.
    expect(await send({ user_id: fr })).toBe('Bonjour Ada\nBienvenue, Ada.');
    // to.locale: fr_FR has no content of its own, so fr's; fr_CA has the greeting and falls back to fr for the title.
    expect(await send({ user_id: frFR, locale: 'fr-FR' })).toBe('Bonjour Ada\nBienvenue, Ada.');
    expect(await send({ user_id: frCA, locale: 'fr_CA' })).toBe('Bonjour Ada\nBienvenue au Québec, Ada.');
    // No content in the locale, or no locale: the default.
    expect(await send({ user_id: de, locale: 'de' })).toBe('Hello Ada\nWelcome, Ada.');
    expect(await send({ user_id: none })).toBe('Hello Ada\nWelcome, Ada.');
  });
});

describe('translations', () => {
  const po = (greeting: string) =>
    `msgid ""\nmsgstr ""\n"Language: fr\\n"\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n#: template\nmsgid "Salutation"\nmsgstr "${greeting}"\n\nmsgid "Untranslated"\nmsgstr ""\n`;

  it('updates and retrieves the .po text of a locale; refuses a malformed one, other domains and bad locales', async () => {
    const locale = `fr_${uid('x')
      .replace(/[^a-z0-9]/gi, '')
      .slice(-6)}`;
    await expect(s.client.translations.retrieve(locale, { domain: 'default' })).rejects.toBeInstanceOf(NotFoundError);
    await s.client.translations.update(locale, { domain: 'default', body: po('Bienvenue, {{name}}') });
    expect(await s.client.translations.retrieve(locale, { domain: 'default' })).toBe(po('Bienvenue, {{name}}'));
    await s.client.translations.update(locale, { domain: 'default', body: po('Salut, {{name}}') });
    expect(await s.client.translations.retrieve(locale, { domain: 'default' })).toBe(po('Salut, {{name}}'));

    await expect(s.client.translations.update(locale, { domain: 'default', body: 'msgid "x"\nmsgstr "a\nb"' })).rejects.toThrow(
      /not a valid \.po file: line 2/,
    );
    await expect(s.client.translations.update(locale, { domain: 'marketing', body: po('x') })).rejects.toThrow(/only the default domain is supported/);
    await expect(s.client.translations.retrieve('not a locale', { domain: 'default' })).rejects.toBeInstanceOf(BadRequestError);
    expect(await s.client.translations.retrieve(locale, { domain: 'default' })).toBe(po('Salut, {{name}}'));
  });

  it('renders {{#t}}msgid{{/t}} from the recipient locale’s translations (or its language’s), else the msgid', async () => {
    const lang = `q${uid('l')
      .replace(/[^a-z]/gi, '')
      .slice(-4)
      .toLowerCase()}`.padEnd(5, 'x');
    await s.client.translations.update(lang, { domain: 'default', body: po('Bienvenue, {{name}}') });
    const id = await aTemplate([
      { type: 'meta', title: '{{#t}}Salutation{{/t}}' },
      { type: 'text', content: '{{#t}}Untranslated{{/t}} / {{#t}}Salutation{{/t}}' },
    ]);
    await s.client.notifications.publish(id);
    const send = async (to: Record<string, unknown>) => {
      const { messages } = await sendAndWait(s, { to, template: id, data: { name: 'Ada' }, routing: via('inbox') }, 1);
      return rendered(s, messages[0].id, 'inbox');
    };
    expect(await send({ user_id: uid('t'), locale: `${lang}_CA` })).toBe('Bienvenue, Ada\nUntranslated / Bienvenue, Ada');
    expect(await send({ user_id: uid('t'), locale: 'en' })).toBe('Salutation\nUntranslated / Salutation');
  });
});

describe('checks of a submission', () => {
  it('replaces, lists and cancels the checks of a submission', async () => {
    const id = await aTemplate();
    const submission = uid('sub');
    await expect(s.client.notifications.checks.list(submission, { id })).rejects.toBeInstanceOf(NotFoundError);
    const first = await s.client.notifications.checks.update(submission, {
      id,
      checks: [
        { id: 'legal', type: 'custom', status: 'PENDING' },
        { id: 'brand', type: 'custom', status: 'PENDING' },
      ],
    });
    expect(first.checks).toEqual([
      { id: 'legal', type: 'custom', status: 'PENDING', updated: expect.any(Number) },
      { id: 'brand', type: 'custom', status: 'PENDING', updated: expect.any(Number) },
    ]);
    await new Promise((r) => setTimeout(r, 5));
    const second = await s.client.notifications.checks.update(submission, {
      id,
      checks: [
        { id: 'legal', type: 'custom', status: 'RESOLVED' },
        { id: 'brand', type: 'custom', status: 'PENDING' },
      ],
    });
    expect(second.checks[0].updated).toBeGreaterThan(first.checks[0].updated);
    expect(second.checks[1].updated).toBe(first.checks[1].updated);
    expect(await s.client.notifications.checks.list(submission, { id })).toEqual(second);
    // Another submission of the same template is its own.
    await expect(s.client.notifications.checks.list(uid('other'), { id })).rejects.toBeInstanceOf(NotFoundError);

    await expect(
      s.client.notifications.checks.update(submission, { id, checks: [{ id: 'legal', type: 'custom', status: 'DONE' as never }] }),
    ).rejects.toBeInstanceOf(BadRequestError);
    await expect(s.client.notifications.checks.update(submission, { id: uid('none'), checks: [] })).rejects.toBeInstanceOf(NotFoundError);
    expect(await s.client.notifications.checks.list(submission, { id })).toEqual(second);

    await s.client.notifications.checks.delete(submission, { id });
    await expect(s.client.notifications.checks.list(submission, { id })).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.client.notifications.checks.delete(submission, { id })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('routes of /notifications/:id/...', () => {
  it('sends each path to its own route: content, elements, locales, checks, versions, publish and the template', async () => {
    const id = await aTemplate();
    const body = { content: { elements: [{ type: 'text', id: 'e1', content: 'x' }] } };
    expect((await s.http('PUT', `/notifications/${id}/content`, body)).json).toMatchObject({ id, elements: [{ id: 'e1' }] });
    expect((await s.http('PUT', `/notifications/${id}/elements/e1`, { type: 'text', content: 'y' })).json).toMatchObject({ id });
    expect((await s.http('PUT', `/notifications/${id}/locales/fr`, { elements: [{ id: 'e1', content: 'z' }] })).json).toMatchObject({ id });
    expect((await s.http('PUT', `/notifications/${id}/s1/checks`, { checks: [] })).json).toEqual({ checks: [] });
    expect((await s.http('GET', `/notifications/${id}/s1/checks`)).json).toEqual({ checks: [] });
    expect((await s.http('POST', `/notifications/${id}/publish`, {})).status).toBe(204);
    expect((await s.http('GET', `/notifications/${id}/versions`)).json.versions.map((v: { version: string }) => v.version)).toEqual(['draft', 'published:v1']);
    expect((await s.http('GET', `/notifications/${id}`)).json).toMatchObject({ id, version: 'v1' });
    // A DELETE of checks is never the template's archive.
    expect((await s.http('DELETE', `/notifications/${id}/s1/checks`)).status).toBe(204);
    expect((await s.http('GET', `/notifications/${id}`)).status).toBe(200);
    // A template id is one path segment (API Gateway decodes %2F): one holding a slash reaches no route, and changes nothing.
    const slashed = `${uid('a')}/b`;
    const refused = await s.http('PUT', `/notifications/${encodeURIComponent(slashed)}`, {
      notification: { name: 'n', tags: [], content: { elements: [{ type: 'text', content: 'x' }] } },
    });
    expect([refused.status, refused.json.type]).toEqual([404, 'invalid_request_error']);
  });
});

describe('notifications: retrieve, publish and list, as the SDK documents them', () => {
  it('retrieve answers the published version unless asked otherwise; publish({ version }) publishes that version again', async () => {
    const name = uid('v');
    const id = await aTemplate([{ type: 'text', content: 'first' }]);
    await s.client.notifications.replace(id, {
      notification: { name, tags: [], brand: null, subscription: null, routing: null, content: { elements: [{ type: 'text', content: 'first' }] } },
    } as never);
    await expect(s.client.notifications.retrieve(id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await s.client.notifications.retrieve(id, { version: 'draft' })).toMatchObject({ name, state: 'DRAFT' });
    await s.client.notifications.publish(id);
    await s.client.notifications.replace(id, {
      notification: {
        name: `${name} 2`,
        tags: [],
        brand: null,
        subscription: null,
        routing: null,
        content: { elements: [{ type: 'text', content: 'second' }] },
      },
      state: 'PUBLISHED',
    } as never);
    expect(await s.client.notifications.retrieve(id)).toMatchObject({ name: `${name} 2`, version: 'v2' });
    expect(await s.client.notifications.retrieve(id, { version: 'v001' })).toMatchObject({ name, version: 'v1' });

    await s.client.notifications.publish(id, { version: 'v001' });
    const now = await s.client.notifications.retrieve(id);
    expect(now).toMatchObject({ name, version: 'v3', content: { elements: [{ type: 'text', content: 'first' }] } });
    // The draft is left as it was.
    expect(await s.client.notifications.retrieve(id, { version: 'draft' })).toMatchObject({ name: `${name} 2` });
    await expect(s.client.notifications.publish(id, { version: 'v9' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(s.client.notifications.publish(id, { version: 'latest' })).rejects.toBeInstanceOf(BadRequestError);
    expect(await s.client.notifications.retrieve(id)).toMatchObject({ version: 'v3' });
  });

  it('list takes notes (legacy templates only: none here) and a null cursor, and refuses a malformed notes', async () => {
    const id = await aTemplate();
    for (const query of [{ notes: true }, { notes: false }, { notes: null, cursor: null }]) {
      const listed = await s.client.notifications.list(query);
      expect(listed.results.map((r) => r.id)).toContain(id);
    }
    expect((await s.http('GET', '/notifications?notes=maybe')).status).toBe(400);
  });
});
