/**
 * The rendering budget (issue 11, item 12): nested sections multiply their output, so the budget
 * is charged while mustache renders and a rendering over it stops at once with RenderLimitError.
 */
import { render, type ElementalNode, type RenderInput } from '../../../lambdas/domain/render';
import type { Channel } from '../../../lambdas/domain/routing';

const items = Array.from({ length: 30 }, (_, i) => i);
/** `depth` levels of `{{#items}}` around `inner`: its body repeats 30^depth times. */
const nested = (depth: number, inner = 'x{{.}}'): string => Array.from({ length: depth }).reduce<string>((t) => `{{#items}}${t}{{/items}}`, inner);
const input = (content: RenderInput['content'], data: Record<string, unknown> = { items }): RenderInput => ({ content, data, profile: {} });
const elements = (...els: ElementalNode[]): RenderInput['content'] => ({ version: '2022-01-01', elements: els });

/** Renders and reports what happened and how long it took (the budget must stop it early, not after). */
function attempt(channel: Channel, content: RenderInput['content'], data?: Record<string, unknown>) {
  const t0 = process.hrtime.bigint();
  try {
    const out = render(channel, input(content, data));
    return { ok: true as const, out, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  } catch (e) {
    return { ok: false as const, error: e as Error, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  }
}

describe('the rendering budget', () => {
  it.each<[string, Channel, RenderInput['content'], RegExp]>([
    ['four levels over 30 items in the body (2.16 million characters)', 'sms', { body: nested(4) }, /^content too large: the sms rendering stopped, /],
    ['six levels over 30 items in the body', 'email', { body: nested(6) }, /email rendering stopped/],
    [
      'six levels that render nothing (only the repetition)',
      'push',
      { body: nested(6, '{{missing}}') },
      /push rendering stopped, the template's sections repeat more than 500000 times/,
    ],
    ['nested sections in the title', 'inbox', { title: nested(5), body: 'b' }, /inbox rendering stopped/],
    ['nested sections in an html element', 'email', elements({ type: 'html', content: nested(5, '<b>{{.}}</b>') }), /email rendering stopped/],
    [
      'nested sections in a channel element’s raw field',
      'webhook',
      elements({ type: 'channel', channel: 'webhook', raw: { body: nested(5) } }),
      /webhook rendering stopped/,
    ],
    ['a triple mustache in nested sections', 'direct_message', { body: nested(5, '{{{.}}}') }, /direct_message rendering stopped/],
  ])('stops %s with RenderLimitError, while rendering', (_, channel, content, message) => {
    const r = attempt(channel, content);
    expect(r.ok).toBe(false);
    expect(r.ok ? undefined : [r.error.name, r.error.message]).toEqual(['RenderLimitError', expect.stringMatching(message)]);
    // Stopped near the budget, not after building the whole output: six levels would be 729
    // million repetitions (minutes, gigabytes). A generous bound, not a benchmark.
    expect(r.ms).toBeLessThan(5_000);
  });

  it('counts the whole output: the layout and plain-text copies of a body under the budget on its own', () => {
    // 600k characters of text: under the budget as filled, over it once email has it as text and html.
    const r = attempt('email', { body: '{{big}}' }, { big: 'a'.repeat(600_000) });
    expect(r.ok ? 'rendered' : r.error.message).toMatch(/^content too large: the email rendering stopped/);
    expect(attempt('sms', { body: '{{big}}' }, { big: 'a'.repeat(600_000) }).ok).toBe(true);
  });

  it.each<[string, Channel, RenderInput['content'], Record<string, unknown>, number]>([
    ['three levels over 30 items (27,000 repetitions)', 'sms', { body: nested(3) }, { items }, 54_000],
    ['150 KB of data in an email body', 'email', { title: 'Report', body: '{{report}}' }, { report: 'r'.repeat(150_000) }, 150_000],
    [
      'a section over 10,000 items',
      'push',
      { body: '{{#rows}}{{name}};{{/rows}}' },
      { rows: Array.from({ length: 10_000 }, (_, i) => ({ name: `n${i}` })) },
      10_000,
    ],
  ])('renders %s in full', (_, channel, content, data, atLeast) => {
    const r = attempt(channel, content, data);
    expect(r.ok ? r.out.channel : r.error.message).toBe(channel);
    const text = r.ok ? ((r.out.body ?? r.out.text) as string) : '';
    expect(text.length).toBeGreaterThanOrEqual(atLeast);
    expect(text.length).toBeLessThanOrEqual(1_048_576);
  });

  it('leaves the next rendering a fresh budget', () => {
    expect(attempt('sms', { body: nested(4) }).ok).toBe(false);
    expect(attempt('sms', { body: 'Hi {{name}}' }, { name: 'Ada' })).toMatchObject({ ok: true, out: { body: 'Hi Ada' } });
    // Mistakes in templates still render as their source (render.test.ts), within the budget.
    expect(attempt('sms', { body: 'Hi {{name' }, { name: 'Ada' })).toMatchObject({ ok: true, out: { body: 'Hi {{name' } });
  });
});
