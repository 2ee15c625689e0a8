import { z } from 'zod';
import type { Channel } from '../domain/routing';

/**
 * Every provider this platform can send through: its channel, a zod schema for its `settings`, and
 * which settings are secrets (never echoed back in full, never logged).
 */
export interface CatalogEntry {
  provider: string;
  channel: Channel;
  title: string;
  settings: z.ZodType<Record<string, unknown>>;
  secrets: readonly string[];
}

const email = z.string().min(3).max(320).includes('@', { message: 'must be an email address' });

export const CATALOG: readonly CatalogEntry[] = [
  {
    provider: 'smtp',
    channel: 'email',
    title: 'SMTP',
    settings: z.object({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).default(587),
      secure: z.boolean().default(false),
      username: z.string().optional(),
      password: z.string().optional(),
      from: email,
    }),
    secrets: ['password'],
  },
  {
    provider: 'ses',
    channel: 'email',
    title: 'Amazon SES',
    settings: z.object({ from: email, region: z.string().optional(), configuration_set: z.string().optional() }),
    secrets: [],
  },
  {
    provider: 'sns',
    channel: 'sms',
    title: 'Amazon SNS (SMS)',
    settings: z.object({ region: z.string().optional(), sender_id: z.string().max(11).optional(), sms_type: z.enum(['Transactional', 'Promotional']).default('Transactional') }),
    secrets: [],
  },
  {
    provider: 'firebase-fcm',
    channel: 'push',
    title: 'Firebase Cloud Messaging (HTTP v1)',
    settings: z.object({ project_id: z.string().min(1), service_account: z.string().min(1), endpoint: z.url().optional() }),
    secrets: ['service_account'],
  },
  {
    provider: 'slack',
    channel: 'direct_message',
    title: 'Slack',
    settings: z.object({ bot_token: z.string().optional(), api_url: z.url().optional() }),
    secrets: ['bot_token'],
  },
  { provider: 'msteams', channel: 'direct_message', title: 'Microsoft Teams', settings: z.object({}), secrets: [] },
  {
    provider: 'webhook',
    channel: 'webhook',
    title: 'Signed HTTP webhook',
    settings: z.object({ url: z.url().optional(), signing_secret: z.string().min(16), method: z.enum(['POST', 'PUT']).default('POST') }),
    secrets: ['signing_secret'],
  },
  { provider: 'inbox', channel: 'inbox', title: 'Built-in inbox', settings: z.object({}), secrets: [] },
];

export const catalogEntry = (provider: string): CatalogEntry | undefined => CATALOG.find((c) => c.provider === provider);

/** `abcdef123456` -> `********3456`: enough to recognise a secret, never enough to use it. */
export function redactSettings(entry: CatalogEntry | undefined, settings: Record<string, unknown>): Record<string, unknown> {
  const out = { ...settings };
  for (const key of entry?.secrets ?? []) {
    const v = out[key];
    if (typeof v === 'string' && v) out[key] = `${'*'.repeat(8)}${v.length > 12 ? v.slice(-4) : ''}`;
  }
  return out;
}
