import { aTemplateStoredWith } from '../helpers/builders';
import { BadRequestError } from '@trycourier/courier';
import { sendAndWait, type Msg } from '../helpers/send';
import { startTestStack, type TestStack } from '../helpers/stack';
import { uid } from '../helpers/wait';
import { startRecorder, type Recorder } from './providers/recorder';

/**
 * Issue 15 item 9 through the SDK: Elemental elements (divider, image, quote, html, markdown text),
 * a `channel` element's `raw` and an element's `channels`, asserted on what the SMTP capture, the
 * sms capture and a Slack stand-in received; and what is refused rather than ignored (raw keys a
 * channel does not take, properties nothing renders), at send time and in a stored template.
 */
let s: TestStack;
let slack: Recorder;
beforeAll(async () => {
  slack = await startRecorder();
  slack.reply(() => ({ status: 200, body: { ok: true, ts: '1.2' } }));
  s = await startTestStack({ env: { SLACK_API_URL: slack.url, TRACKING_EMAIL: 'off' } });
}, 60_000);
afterAll(async () => {
  await s?.stop();
  await slack?.close();
});

type Capture = { via: string; channel: string; messageId: string; subject?: string; text?: string; html?: string; content?: Record<string, unknown> };
const capturesOf = (m: Msg) => (s.captures() as unknown as Capture[]).filter((c) => c.messageId === m.id);
const only = <T>(items: T[]): T => {
  expect(items).toHaveLength(1);
  return items[0];
};
const emailOf = (m: Msg) => only(capturesOf(m).filter((c) => c.via === 'smtp'));
const smsOf = (m: Msg) => only(capturesOf(m).filter((c) => c.channel === 'sms')).content?.body;
/** What the Slack stand-in's chat.postMessage received for the channel `C-<id>`. */
const slackOf = (channel: string) =>
  only(slack.requests.filter((r) => r.path === '/chat.postMessage' && JSON.parse(r.body).channel === channel).map((r) => JSON.parse(r.body)));

const elements = (...els: unknown[]) => ({ version: '2022-01-01', elements: els });
const all = { method: 'all' as const, channels: ['email', 'sms', 'direct_message'] };

/** A user every channel reaches: email, phone and a Slack channel of their own. */
async function everywhere(): Promise<{ userId: string; email: string; slackChannel: string }> {
  const userId = uid('el');
  const email = `${userId}@example.test`;
  const slackChannel = `C-${userId}`;
  await s.client.profiles.replace(userId, { profile: { email, phone_number: '+15550002000', slack: { access_token: 'xoxb-test', channel: slackChannel } } });
  return { userId, email, slackChannel };
}

describe('elements, as each channel received them', () => {
  it('divider, image, quote, html and markdown text', async () => {
    const u = await everywhere();
    const { messages } = await sendAndWait(
      s,
      {
        to: { user_id: u.userId },
        routing: all,
        data: { who: 'Ada' },
        content: elements(
          { type: 'meta', title: 'Release' },
          { type: 'text', format: 'markdown', content: 'Hi **{{who}}**, read [the notes](https://x.test/notes)' },
          { type: 'divider', color: '#ff0000' },
          { type: 'image', src: 'https://x.test/i.png', alt_text: 'Chart', width: '200px', href: 'https://x.test/chart' },
          { type: 'quote', content: 'Ship it', border_color: '#00ff00' },
          { type: 'html', content: '<table id="raw-html"><tr><td>{{who}}</td></tr></table>' },
        ),
      },
      1,
    );
    const m = messages[0];
    expect(m.status).toBe('SENT');

    const mail = emailOf(m);
    expect(mail.subject).toBe('Release');
    expect(mail.html).toContain('Hi <strong>Ada</strong>, read <a href="https://x.test/notes">the notes</a></p>');
    expect(mail.html).toContain('<hr style="border:none;border-top:1px solid #ff0000;margin:16px 0">');
    expect(mail.html).toContain('<a href="https://x.test/chart"><img src="https://x.test/i.png" alt="Chart" style="width:200px;max-width:100%;border:0"></a>');
    expect(mail.html).toMatch(/<blockquote style="[^"]*border-left:3px solid #00ff00;[^"]*">Ship it<\/blockquote>/);
    expect(mail.html).toContain('<table id="raw-html"><tr><td>Ada</td></tr></table>');
    expect(mail.text).toBe('Hi Ada, read the notes (https://x.test/notes)\n\nChart\n\n> Ship it');

    // SMS: plain text; the divider and the email-only html contribute nothing.
    expect(smsOf(m)).toBe('Hi Ada, read the notes (https://x.test/notes)\n\nChart\n\n> Ship it');

    const posted = slackOf(u.slackChannel);
    expect(posted.blocks).toEqual([
      { type: 'header', text: { type: 'plain_text', text: 'Release', emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: 'Hi Ada, read the notes (https://x.test/notes)' } },
      { type: 'divider' },
      { type: 'image', image_url: 'https://x.test/i.png', alt_text: 'Chart' },
      { type: 'section', text: { type: 'mrkdwn', text: '&gt; Ship it' } },
    ]);
  });

  it("a channel element's raw replaces that channel's output, and an element's channels limit where it renders", async () => {
    const u = await everywhere();
    const { messages } = await sendAndWait(
      s,
      {
        to: { user_id: u.userId },
        routing: all,
        data: { n: 7 },
        content: elements(
          { type: 'text', content: 'Everyone' },
          { type: 'text', content: 'Only sms', channels: ['sms'] },
          { type: 'text', content: 'Only chat', channels: ['slack'] },
          { type: 'channel', channel: 'email', raw: { subject: 'Raw subject {{n}}', html: '<p id="raw">Raw {{n}}</p>', text: 'Raw text {{n}}' } },
        ),
      },
      1,
    );
    const m = messages[0];
    expect(m.status).toBe('SENT');
    const mail = emailOf(m);
    expect([mail.subject, mail.html?.trim(), mail.text?.trim()]).toEqual(['Raw subject 7', '<p id="raw">Raw 7</p>', 'Raw text 7']);
    expect(smsOf(m)).toBe('Everyone\n\nOnly sms');
    expect(slackOf(u.slackChannel).text).toBe('Everyone\n\nOnly chat');
  });
});

describe('what is refused rather than ignored', () => {
  it.each<[string, unknown[], string]>([
    [
      'Slack blocks in raw',
      [{ type: 'channel', channel: 'slack', raw: { blocks: [{ type: 'divider' }] } }],
      'message.content.elements.0.raw.blocks: is not supported: raw on direct_message takes title, text',
    ],
    [
      'push data in raw',
      [{ type: 'channel', channel: 'push', raw: { title: 'T', data: { k: 'v' } } }],
      'message.content.elements.0.raw.data: is not supported: raw on push takes title, body',
    ],
    [
      'an action_id',
      [{ type: 'action', content: 'Go', href: 'https://x.test', action_id: 'a1' }],
      'message.content.elements.0.action_id: is not supported by the action element',
    ],
    ['a format other than markdown', [{ type: 'text', content: 'x', format: 'html' }], 'message.content.elements.0.format: must be "markdown"'],
  ])('a send with %s: 400 naming the element path and key', async (_, els, expected) => {
    const message = { to: { email: 'x@example.test' }, content: elements(...els) };
    const res = await s.http('POST', '/send', { message });
    expect([res.status, res.json.type]).toEqual([400, 'invalid_request_error']);
    expect(res.json.message).toContain(expected);
    await expect(s.client.send.message({ message } as never)).rejects.toBeInstanceOf(BadRequestError);
  });

  it('a template with one is refused (400), and a stored one ends the message UNROUTABLE naming it', async () => {
    const bad = elements({ type: 'text', content: 'ok' }, { type: 'channel', channel: 'slack', raw: { text: 't', blocks: [] } });
    await expect(
      s.client.notifications.create({ notification: { name: uid('bad'), tags: [], brand: null, subscription: null, routing: null, content: bad } } as never),
    ).rejects.toThrow(/content\.elements\.1\.raw\.blocks: is not supported/);

    // A template stored before the check (written straight to the store).
    const created = { id: await aTemplateStoredWith(s, bad) };
    const { messages } = await sendAndWait(s, { to: { email: `${uid('old')}@example.test` }, template: created.id }, 1);
    expect(messages[0]).toMatchObject({
      status: 'UNROUTABLE',
      error: `Template ${created.id}: content.elements.1.raw.blocks: is not supported: raw on direct_message takes title, text`,
    });
    expect(capturesOf(messages[0])).toEqual([]);
  });
});
