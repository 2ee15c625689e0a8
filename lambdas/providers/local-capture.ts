import { localCaptureSettings } from './catalog';

/** The channels the local capture stands in for (direct messages: Teams bots, Discord and PagerDuty). */
type Captured = 'sms' | 'push' | 'direct_message';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { parseSettings, sharedHttp, type HttpClient } from './transport';
import { deepMerge } from '../domain/overrides';

/**
 * The JSON the local capture receives (lambdas/local/capture.ts reads the same shape): the content
 * with a push's `data` (channels.push.override.data), then the provider override's `body`
 * deep-merged into it.
 */
export const capturePayload = (message: ProviderSend<Captured>) => ({
  messageId: message.messageId,
  channel: message.channel,
  address: message.address,
  content: deepMerge({ ...message.content, ...(message.data ? { data: message.data } : {}) } as Record<string, unknown>, message.override?.body),
});

/**
 * Local mode's stand-in for SMS and push providers, and for the direct-message providers that need
 * credentials or would page someone (registry.ts `directMessageFallback`): posts what would be sent to the local capture
 * server, where people and tests read it back. SENT, as a real SMS or push provider would report.
 */
export class LocalCaptureAdapter implements ProviderAdapter<Captured> {
  constructor(private readonly http: HttpClient = sharedHttp()) {}

  async send(message: ProviderSend<Captured>): Promise<ProviderResult> {
    const settings = parseSettings(localCaptureSettings, message.settings, 'local-capture');
    await this.http.request({
      url: settings.url,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(capturePayload(message)),
      timeoutMs: message.timeoutMs,
      what: 'local-capture',
    });
    return { providerMessageId: message.messageId, status: 'SENT' };
  }
}
