import { teamsAddress, type TeamsAddress } from '../domain/addresses';
import type { OutputBlock, RenderedOutput } from '../domain/render';
import { msteamsSettings } from './catalog';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { invalidAddress, parseJson, parseSettings, sharedHttp, withOverride, type HttpClient } from './transport';
import { deepMerge } from '../domain/overrides';

type CardElement = Record<string, unknown>;

function cardElement(b: OutputBlock, separator: boolean): CardElement | undefined {
  const sep = separator ? { separator: true } : {};
  switch (b.type) {
    case 'text':
      return { type: 'TextBlock', text: b.text, wrap: true, ...sep };
    case 'quote':
      return { type: 'TextBlock', text: b.text, wrap: true, isSubtle: true, ...sep };
    case 'image':
      return b.src ? { type: 'Image', url: b.src, altText: b.text, ...sep } : undefined;
    default:
      return undefined; // actions become card actions, a divider a separator on what follows
  }
}

/**
 * The rendered direct message as a Teams message with one Adaptive Card (1.4): the title as a bold
 * heading, text and images in order, links as `Action.OpenUrl` buttons. Incoming webhooks (connector
 * and Workflows ones) and the Bot Framework both accept this activity shape.
 */
export function teamsActivity(content: RenderedOutput) {
  const blocks = content.blocks ?? [];
  const body: CardElement[] = content.title ? [{ type: 'TextBlock', text: content.title, weight: 'Bolder', size: 'Medium', wrap: true }] : [];
  let separator = false;
  for (const b of blocks) {
    if (b.type === 'divider') separator = true;
    const element = cardElement(b, separator);
    if (element) {
      body.push(element);
      separator = false;
    }
  }
  if (blocks.length === 0 && content.text) body.push({ type: 'TextBlock', text: content.text, wrap: true });
  const actions = blocks.filter((b) => b.type === 'action' && b.href).map((b) => ({ type: 'Action.OpenUrl', title: b.text, url: b.href }));
  return {
    type: 'message',
    summary: content.title ?? content.text?.slice(0, 100),
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(actions.length > 0 ? { actions } : {}),
        },
      },
    ],
  };
}

/**
 * Where the activity goes: the incoming webhook URL, else `{service_url}/v3/conversations/{id}/activities`.
 * The conversation form is sent without a Bot Framework token: it works against a local emulator
 * or a relay that adds the bot's credentials, not against Microsoft's connector service directly.
 */
export function teamsUrl(address: TeamsAddress): string {
  if (address.webhook_url) return address.webhook_url;
  if (address.service_url && address.conversation_id) {
    return `${address.service_url.replace(/\/$/, '')}/v3/conversations/${encodeURIComponent(address.conversation_id)}/activities`;
  }
  throw invalidAddress('msteams', 'ms_teams needs a webhook_url, or a service_url with a conversation_id (a user_id alone cannot start a conversation)');
}

/** Direct messages to Microsoft Teams. */
export class MsTeamsAdapter implements ProviderAdapter<'direct_message'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'direct_message'>): Promise<ProviderResult> {
    parseSettings(msteamsSettings, message.settings, 'msteams');
    const parsed = teamsAddress.safeParse(message.address.ms_teams);
    if (!parsed.success) throw invalidAddress('msteams', 'the profile has no usable ms_teams object');
    // The provider override: its body deep-merged into the activity, its headers and query on the call.
    const reply = await this.http.request(
      withOverride(
        {
          url: teamsUrl(parsed.data),
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(deepMerge(teamsActivity(message.content), message.override?.body)),
          timeoutMs: message.timeoutMs,
          what: 'msteams',
        },
        message.override,
      ),
    );
    const id = (parseJson(reply.text) as { id?: unknown } | undefined)?.id;
    return { providerMessageId: typeof id === 'string' ? id : undefined, status: 'SENT' };
  }
}
