import { teamsNeedsBot, type Address, type Capabilities, type DirectMessageAddress, type DirectMessageKey } from '../domain/addresses';
import { DIRECT_MESSAGE_PROVIDERS, type Channel } from '../domain/routing';
import { config } from '../shared/config';
import { discordSettings, msteamsSettings, pagerdutySettings, slackSettings } from './catalog';
import { ApnAdapter } from './apn';
import { DiscordAdapter } from './discord';
import { ExpoAdapter } from './expo';
import { FcmAdapter } from './fcm';
import { InboxAdapter } from './inbox';
import { LocalCaptureAdapter } from './local-capture';
import { MessageBirdAdapter } from './messagebird';
import { MailgunAdapter } from './mailgun';
import { MailjetAdapter } from './mailjet';
import { MsTeamsAdapter } from './msteams';
import { OneSignalAdapter } from './onesignal';
import { PagerDutyAdapter } from './pagerduty';
import { PlivoAdapter } from './plivo';
import type { ProviderAdapter } from './port';
import { PostmarkAdapter } from './postmark';
import { ResendAdapter } from './resend';
import { SendgridAdapter } from './sendgrid';
import { SesAdapter } from './ses';
import { SlackAdapter } from './slack';
import { SmtpAdapter } from './smtp';
import { SnsAdapter } from './sns';
import { TelnyxAdapter } from './telnyx';
import { TwilioAdapter } from './twilio';
import { VonageAdapter } from './vonage';
import { SparkpostAdapter } from './sparkpost';
import { WebhookAdapter } from './webhook';

const ADAPTERS: Record<string, () => ProviderAdapter> = {
  smtp: () => new SmtpAdapter(),
  ses: () => new SesAdapter(),
  sendgrid: () => new SendgridAdapter(),
  mailgun: () => new MailgunAdapter(),
  postmark: () => new PostmarkAdapter(),
  resend: () => new ResendAdapter(),
  sparkpost: () => new SparkpostAdapter(),
  mailjet: () => new MailjetAdapter(),
  sns: () => new SnsAdapter(),
  twilio: () => new TwilioAdapter(),
  vonage: () => new VonageAdapter(),
  messagebird: () => new MessageBirdAdapter(),
  plivo: () => new PlivoAdapter(),
  telnyx: () => new TelnyxAdapter(),
  'firebase-fcm': () => new FcmAdapter(),
  apn: () => new ApnAdapter(),
  expo: () => new ExpoAdapter(),
  onesignal: () => new OneSignalAdapter(),
  slack: () => new SlackAdapter(),
  msteams: () => new MsTeamsAdapter(),
  discord: () => new DiscordAdapter(),
  pagerduty: () => new PagerDutyAdapter(),
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

/** A direct message's address (its parts), or none. */
const dmParts = (address: Address | undefined): DirectMessageAddress => (typeof address === 'object' ? (address as DirectMessageAddress) : {});

/**
 * The unconfigured provider for one part of a direct-message address: Slack with the profile's
 * token, Teams with its webhook or conversation (both as on AWS); in local mode the local capture
 * for what would need a provider's credentials (a Teams bot, a Discord bot) or would page someone
 * (PagerDuty); on AWS Discord and PagerDuty with no settings (a PagerDuty profile's own
 * `routing_key` is enough; Discord's adapter then reports the missing bot token or webhook).
 */
function directMessageFallback(key: DirectMessageKey, address: DirectMessageAddress, local: LocalTargets): FallbackProvider | undefined {
  const capture = local.captureUrl ? { provider: 'local-capture', settings: { url: local.captureUrl } } : undefined;
  switch (key) {
    case 'slack':
      return { provider: 'slack', settings: {} };
    case 'ms_teams':
      return (address.ms_teams && teamsNeedsBot(address.ms_teams) && capture) || { provider: 'msteams', settings: {} };
    case 'discord':
      return capture ?? { provider: 'discord', settings: {} };
    case 'pagerduty':
      return capture ?? { provider: 'pagerduty', settings: {} };
  }
}

/**
 * What a channel uses when /providers configures none for it:
 * - inbox: the built-in inbox; webhook: the profile's webhook URL, unsigned (there is no secret);
 * - direct_message: by what the address holds, in the order Slack, Teams, Discord, PagerDuty
 *   (`directMessageFallback`);
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
    case 'direct_message': {
      const parts = dmParts(address);
      const list = (Object.keys(DIRECT_MESSAGE_PROVIDERS) as DirectMessageKey[])
        .filter((key) => parts[key] !== undefined)
        .map((key) => directMessageFallback(key, parts, local)!);
      // Discord and PagerDuty may both land in the local capture: once is enough.
      return list.filter((p, i) => p.provider !== 'local-capture' || list.findIndex((q) => q.provider === 'local-capture') === i);
    }
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
 * The providers of a direct message: the configured ones that serve a part the address holds (in
 * their order), then the fallback of each part no configured provider serves. So a configured
 * Slack provider does not stop a Discord recipient from reaching Discord, nor is it tried for one.
 * Other channels: the configured providers, else the fallbacks.
 */
export function providersForAddress<P extends FallbackProvider>(
  channel: Channel,
  configuredForChannel: P[],
  address: Address | undefined,
  local?: LocalTargets,
): (P | FallbackProvider)[] {
  if (channel !== 'direct_message') return configuredForChannel.length ? configuredForChannel : fallbackProviders(channel, address, local);
  const parts = dmParts(address);
  const held = (Object.keys(DIRECT_MESSAGE_PROVIDERS) as DirectMessageKey[]).filter((key) => parts[key] !== undefined);
  const served = configuredForChannel.filter((p) => held.some((key) => DIRECT_MESSAGE_PROVIDERS[key] === p.provider));
  const unserved = held.filter((key) => !served.some((p) => p.provider === DIRECT_MESSAGE_PROVIDERS[key]));
  return [...served, ...fallbackProviders(channel, Object.fromEntries(unserved.map((key) => [key, parts[key]])), local)];
}

/**
 * What the providers configured through /providers bring to routing (domain/addresses.ts): a Slack
 * provider with a `bot_token` posts for a Slack address without an `access_token`, as the Slack
 * adapter does; an msteams provider with app credentials opens Teams conversations; a Discord
 * provider with a `bot_token` posts for Discord addresses, one with a `webhook_url` for a
 * `channel_id` (the adapter checks it is the webhook's channel); a PagerDuty provider with a
 * `routing_key` alerts for a PagerDuty address without one. In local mode the local capture stands
 * in for the Teams bot, Discord and PagerDuty, so `npm start` shows those messages unconfigured.
 */
export function capabilities(
  configured: readonly { provider: string; settings: Record<string, unknown> }[],
  local: LocalTargets = { captureUrl: config.LOCAL_CAPTURE_URL },
): Capabilities {
  const some = (provider: string, test: (settings: Record<string, unknown>) => boolean) => configured.some((p) => p.provider === provider && test(p.settings));
  const captured = Boolean(local.captureUrl);
  return {
    slackBotToken: some('slack', (s) => Boolean(slackSettings.safeParse(s).data?.bot_token)),
    teamsBot: captured || some('msteams', (s) => Boolean(msteamsSettings.safeParse(s).data?.app_id)),
    // The capture stands in only where no discord provider is configured (a configured one is used instead: providersForAddress).
    discordBot: some('discord', (s) => Boolean(discordSettings.safeParse(s).data?.bot_token)) || (captured && !some('discord', () => true)),
    discordWebhook: some('discord', (s) => Boolean(discordSettings.safeParse(s).data?.webhook_url)),
    pagerdutyRoutingKey: captured || some('pagerduty', (s) => Boolean(pagerdutySettings.safeParse(s).data?.routing_key)),
  };
}
