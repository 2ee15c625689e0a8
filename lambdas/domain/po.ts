/**
 * A GNU gettext `.po` file, as `PUT /translations/:domain/:locale` stores it and rendering reads it
 * (`{{#t}}msgid{{/t}}`, lambdas/domain/render.ts). Pure; a small parser for the format's text form:
 * comments (`#`, with `#,` flags), `msgctxt`, `msgid`, `msgid_plural`, `msgstr` and `msgstr[n]`,
 * strings continued on following lines, C escapes, and obsolete (`#~`) entries, which are skipped.
 */

export interface PoCatalog {
  /** The header entry's fields (`msgid ""`): `Language`, `Plural-Forms`, ... */
  headers: Record<string, string>;
  /**
   * Translated messages: msgid (prefixed by `msgctxt` and U+0004, as gettext keys them, when it has
   * a context) to msgstr (`msgstr[0]` for plural entries). Untranslated (empty) and fuzzy entries are
   * left out, as gettext does, so they render their msgid.
   */
  messages: Map<string, string>;
}

/** A `.po` text that cannot be read; the message names the line. */
export class PoError extends Error {
  override name = 'PoError';
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', a: '\x07', b: '\b', f: '\f', v: '\v', '?': '?', "'": "'" };

/** The value of a quoted string token (`"..."` with C escapes); throws with the line number otherwise. */
function unquote(token: string, line: number): string {
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(token.trim());
  if (!m) throw new PoError(`line ${line}: expected a quoted string, found ${JSON.stringify(token.trim().slice(0, 40))}`);
  return m[1].replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    const c = ESCAPES[e];
    if (c === undefined) throw new PoError(`line ${line}: unknown escape \\${e}`);
    return c;
  });
}

interface Entry {
  line: number;
  fuzzy: boolean;
  msgctxt?: string;
  msgid?: string;
  msgidPlural?: string;
  msgstr: Map<number, string>;
}

type Field = 'msgctxt' | 'msgid' | 'msgid_plural' | { msgstr: number };

/** Keys of a catalog's messages: the context and U+0004 before the msgid when there is a context. */
export const messageKey = (msgid: string, msgctxt?: string): string => (msgctxt === undefined ? msgid : `${msgctxt}\u0004${msgid}`);

/** Parses a `.po` text; throws PoError naming the line of the first thing it cannot read. */
export function parsePo(text: string): PoCatalog {
  const entries: Entry[] = [];
  let entry: Entry | undefined;
  let field: Field | undefined;
  let flags: string[] = [];

  const set = (e: Entry, f: Field, value: string) => {
    if (f === 'msgctxt') e.msgctxt = value;
    else if (f === 'msgid') e.msgid = value;
    else if (f === 'msgid_plural') e.msgidPlural = value;
    else e.msgstr.set(f.msgstr, value);
  };
  const append = (e: Entry, f: Field, value: string) => {
    if (f === 'msgctxt') e.msgctxt = (e.msgctxt ?? '') + value;
    else if (f === 'msgid') e.msgid = (e.msgid ?? '') + value;
    else if (f === 'msgid_plural') e.msgidPlural = (e.msgidPlural ?? '') + value;
    else e.msgstr.set(f.msgstr, (e.msgstr.get(f.msgstr) ?? '') + value);
  };
  const close = () => {
    if (!entry) return;
    if (entry.msgid === undefined) throw new PoError(`line ${entry.line}: an entry without msgid`);
    if (entry.msgstr.size === 0) throw new PoError(`line ${entry.line}: msgid ${JSON.stringify(entry.msgid.slice(0, 40))} has no msgstr`);
    entries.push(entry);
    entry = undefined;
    field = undefined;
  };

  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const n = i + 1;
    const line = raw.trim();
    if (line === '') {
      close();
      flags = [];
      continue;
    }
    if (line.startsWith('#')) {
      // A comment after an entry's msgstr starts the next entry's comments.
      if (entry && entry.msgstr.size > 0) close();
      if (line.startsWith('#~')) continue; // obsolete entry
      if (line.startsWith('#,'))
        flags.push(
          ...line
            .slice(2)
            .split(',')
            .map((f) => f.trim()),
        );
      continue;
    }
    if (line.startsWith('"')) {
      if (!entry || !field) throw new PoError(`line ${n}: a string outside any msgid or msgstr`);
      append(entry, field, unquote(line, n));
      continue;
    }
    const m = /^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d{1,3})\])?\s+(.*)$/.exec(line);
    if (!m) throw new PoError(`line ${n}: expected msgctxt, msgid, msgid_plural, msgstr or a quoted string, found ${JSON.stringify(line.slice(0, 40))}`);
    const [, keyword, index, rest] = m;
    if (index !== undefined && keyword !== 'msgstr') throw new PoError(`line ${n}: only msgstr takes an index`);
    // msgctxt or msgid after a msgstr starts the next entry.
    if ((keyword === 'msgctxt' || keyword === 'msgid') && entry && (entry.msgstr.size > 0 || (keyword === 'msgid' && entry.msgid !== undefined))) close();
    if (!entry) {
      entry = { line: n, fuzzy: flags.includes('fuzzy'), msgstr: new Map() };
      flags = [];
    }
    if (keyword === 'msgctxt' && (entry.msgid !== undefined || entry.msgctxt !== undefined))
      throw new PoError(`line ${n}: msgctxt must come first in an entry`);
    if (keyword === 'msgid_plural' && (entry.msgid === undefined || entry.msgidPlural !== undefined))
      throw new PoError(`line ${n}: msgid_plural must follow msgid`);
    if (keyword === 'msgstr' && entry.msgid === undefined) throw new PoError(`line ${n}: msgstr before msgid`);
    if (keyword === 'msgstr' && (index !== undefined) !== (entry.msgidPlural !== undefined))
      throw new PoError(`line ${n}: ${entry.msgidPlural !== undefined ? 'a plural entry takes msgstr[n]' : 'msgstr[n] needs a msgid_plural'}`);
    field = keyword === 'msgstr' ? { msgstr: index === undefined ? 0 : Number(index) } : (keyword as Field);
    if (typeof field === 'object' && entry.msgstr.has(field.msgstr)) throw new PoError(`line ${n}: msgstr given twice`);
    set(entry, field, unquote(rest, n));
  }
  close();

  const headers: Record<string, string> = {};
  const messages = new Map<string, string>();
  const seen = new Set<string>();
  for (const e of entries) {
    const key = messageKey(e.msgid!, e.msgctxt);
    if (e.msgid === '' && e.msgctxt === undefined) {
      for (const h of (e.msgstr.get(0) ?? '').split('\n')) {
        const colon = h.indexOf(':');
        if (colon > 0) headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
      }
      continue;
    }
    if (seen.has(key)) throw new PoError(`line ${e.line}: msgid ${JSON.stringify(e.msgid!.slice(0, 40))} is defined twice`);
    seen.add(key);
    const translated = e.msgstr.get(0) ?? '';
    if (!e.fuzzy && translated !== '') messages.set(key, translated);
  }
  return { headers, messages };
}
