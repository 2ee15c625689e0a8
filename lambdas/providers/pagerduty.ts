import { pagerdutyAddress } from '../domain/addresses';
import type { RenderedOutput } from '../domain/render';
import { pagerdutySettings } from './catalog';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { invalidAddress, parseJson, parseSettings, sharedHttp, withOverride, type HttpClient } from './transport';
import { deepMerge } from '../domain/overrides';

const PAGERDUTY_EVENTS_API = 'https://events.pagerduty.com';
/** The Events API v2 caps `payload.summary` at 1024 characters. */
const MAX_SUMMARY = 1024;
/** What `payload.source` says when neither the recipient nor the settings name one. */
const DEFAULT_SOURCE = 'notifications';

/** The event's summary: the rendered title, else its text, on one line, at most 1024 characters. */
function summaryOf(content: RenderedOutput): string {
  const summary = (content.title || content.text || content.body || '').replace(/\s+/g, ' ').trim();
  return (summary || 'Notification').slice(0, MAX_SUMMARY);
}

/**
 * The Events API v2 event (`POST /v2/enqueue`). Every field the recipient's `pagerduty` object sets
 * wins over the provider's setting of the same name. `dedup_key` is the message's idempotency key,
 * so a retried send is one alert, not two. A trigger carries the payload (summary from the
 * rendered title, the full text and the links in `custom_details` and `links`); `acknowledge` and
 * `resolve` carry only the key, as the API documents.
 */
export function pagerdutyEvent(message: ProviderSend<'direct_message'>, routingKey: string, settings: ReturnType<typeof pagerdutySettings.parse>) {
  const address = pagerdutyAddress.parse(message.address.pagerduty ?? {});
  const eventAction = address.event_action ?? settings.event_action;
  const base = { routing_key: routingKey, event_action: eventAction, dedup_key: message.idempotencyKey };
  if (eventAction !== 'trigger') return base;
  const { content } = message;
  const links = (content.blocks ?? []).filter((b) => b.type === 'action' && b.href).map((b) => ({ href: b.href, text: b.text }));
  return {
    ...base,
    payload: {
      summary: summaryOf(content),
      source: address.source ?? settings.source ?? DEFAULT_SOURCE,
      severity: address.severity ?? settings.severity,
      custom_details: { ...(content.title ? { title: content.title } : {}), body: content.text ?? content.body ?? '' },
    },
    ...(links.length > 0 ? { links } : {}),
  };
}

/**
 * PagerDuty alerts through the Events API v2. The routing (integration) key is the recipient's
 * `pagerduty.routing_key`, else the provider's. 429 (PagerDuty's throttling) and 5xx are retried;
 * a 400 (an invalid event or key) is permanent.
 */
export class PagerDutyAdapter implements ProviderAdapter<'direct_message'> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<'direct_message'>): Promise<ProviderResult> {
    const settings = parseSettings(pagerdutySettings, message.settings, 'pagerduty');
    const address = pagerdutyAddress.safeParse(message.address.pagerduty);
    if (!address.success) throw invalidAddress('pagerduty', 'the profile has no usable pagerduty object');
    const routingKey = address.data.routing_key ?? settings.routing_key;
    if (!routingKey) throw invalidAddress('pagerduty', 'no routing_key in the profile and none in the settings');
    // The provider override: its body deep-merged into the event, its headers and query on the call.
    const reply = await this.http.request(
      withOverride(
        {
          url: `${(settings.api_url ?? PAGERDUTY_EVENTS_API).replace(/\/$/, '')}/v2/enqueue`,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(deepMerge(pagerdutyEvent(message, routingKey, settings), message.override?.body)),
          timeoutMs: message.timeoutMs,
          what: 'pagerduty',
        },
        message.override,
      ),
    );
    const key = (parseJson(reply.text) as { dedup_key?: unknown } | undefined)?.dedup_key;
    return { providerMessageId: typeof key === 'string' ? key : message.idempotencyKey, status: 'SENT' };
  }
}
