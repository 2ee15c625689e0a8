import type { Address, Capabilities } from '../domain/addresses';
import type { Channel } from '../domain/routing';
import { config } from '../shared/config';
import { slackSettings } from './catalog';
import { FcmAdapter } from './fcm';
import { InboxAdapter } from './inbox';
import { LocalCaptureAdapter } from './local-capture';
import { MsTeamsAdapter } from './msteams';
import type { ProviderAdapter } from './port';
import { SesAdapter } from './ses';
import { SlackAdapter } from './slack';
import { SmtpAdapter } from './smtp';
import { SnsAdapter } from './sns';
import { WebhookAdapter } from './webhook';

const ADAPTERS: Record<string, () => ProviderAdapter> = {
  smtp: () => new SmtpAdapter(),
  ses: () => new SesAdapter(),
  sns: () => new SnsAdapter(),
  'firebase-fcm': () => new FcmAdapter(),
  slack: () => new SlackAdapter(),
  msteams: () => new MsTeamsAdapter(),
  webhook: () => new WebhookAdapter(),
  inbox: () => new InboxAdapter(),
  'local-capture': () => new LocalCaptureAdapter(),
};

/** A new adapter for a provider key; undefined for a key with no adapter (a catalog entry of another deployment). */
export function adapterFor(provider: string): ProviderAdapter | undefined {
  // Own keys only: 'constructor' must not find Object.prototype.
  return Object.hasOwn(ADAPTERS, provider) ? ADAPTERS[provider]() : undefined;
}

export interface FallbackProvider {
  provider: string;
  settings: Record<string, unknown>;
}

/** The local stack's capture servers (LOCAL_SMTP_URL, LOCAL_CAPTURE_URL); none on AWS. */
export interface LocalTargets {
  smtpUrl?: string;
  captureUrl?: string;
}

/** Sender of local-mode email: any address works with the capture server, this one says where it came from. */
const LOCAL_FROM = 'notifications@localhost';

const has = (address: Address | undefined, key: 'slack' | 'ms_teams'): boolean => typeof address === 'object' && key in address;

/**
 * What a channel uses when /providers configures none for it:
 * - inbox: the built-in inbox; webhook: the profile's webhook URL, unsigned (there is no secret);
 * - direct_message: Slack and/or Teams, by what the address holds (Slack first), with the
 *   profile's own token or webhook URL;
 * - email, sms, push: the local stack's capture servers when LOCAL_SMTP_URL / LOCAL_CAPTURE_URL are
 *   set (local mode), else nothing: an empty list, which the caller reports as NO_PROVIDERS.
 */
export function fallbackProviders(
  channel: Channel,
  address: Address | undefined,
  local: LocalTargets = { smtpUrl: config.LOCAL_SMTP_URL, captureUrl: config.LOCAL_CAPTURE_URL },
): FallbackProvider[] {
  switch (channel) {
    case 'inbox':
      return [{ provider: 'inbox', settings: {} }];
    case 'webhook':
      return [{ provider: 'webhook', settings: {} }];
    case 'direct_message':
      return [
        ...(has(address, 'slack') ? [{ provider: 'slack', settings: {} }] : []),
        ...(has(address, 'ms_teams') ? [{ provider: 'msteams', settings: {} }] : []),
      ];
    case 'email': {
      if (!local.smtpUrl) return [];
      const url = new URL(local.smtpUrl);
      return [{ provider: 'smtp', settings: { host: url.hostname, port: Number(url.port || 25), secure: false, from: LOCAL_FROM } }];
    }
    case 'sms':
    case 'push':
      return local.captureUrl ? [{ provider: 'local-capture', settings: { url: local.captureUrl } }] : [];
  }
}

/**
 * What the providers configured through /providers bring to routing (domain/addresses.ts): a Slack
 * provider with a `bot_token` posts for a Slack address without an `access_token`, as the Slack
 * adapter does.
 */
export function capabilities(configured: readonly { provider: string; settings: Record<string, unknown> }[]): Capabilities {
  return { slackBotToken: configured.some((p) => p.provider === 'slack' && Boolean(slackSettings.safeParse(p.settings).data?.bot_token)) };
}
