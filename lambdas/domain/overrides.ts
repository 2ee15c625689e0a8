import { z } from 'zod';
import type { OutputBlock, RenderedOutput } from './render';
import type { Channel } from './routing';
import { utmSchema } from './utm';

/**
 * Send-time overrides (Courier's `message.channels.<channel>.override` and
 * `message.providers.<provider>.override`), checked when the send is accepted and applied after
 * rendering, just before the provider call, as Courier applies them: the stored output
 * (`GET /messages/:id/output`) is the rendering, what the provider received is the rendering with
 * the overrides.
 */

/** A field Courier documents that this stack cannot honour: refused (null is "not set"), never dropped. */
const unsupported = (why: string) =>
  z
    .unknown()
    .refine((v) => v === null || v === undefined, why)
    .optional();

/** One header line's worth: a line break would start another header. */
const line = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !/[\r\n\0]/.test(v), 'must not contain line breaks');

/** Courier takes comma-separated strings for address lists; a list of strings is taken too. */
const addressList = z.union([line(2000), z.array(line(320)).max(50)]);

const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/** Courier's attachment shape: `{ filename, contentType, data }`, `data` the file's bytes in base64. */
export const attachmentSchema = z.strictObject({
  filename: z.string().min(1).max(255),
  contentType: z.string().min(1).max(255).nullish(),
  data: z.string().regex(BASE64, 'must be base64'),
});
export type Attachment = z.infer<typeof attachmentSchema>;

/**
 * Headers a send may not set: they are the message's own (its addressing, identity and MIME
 * structure, each with its override field where there is one) or the transport's.
 */
const RESERVED_EMAIL_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'subject',
  'sender',
  'date',
  'message-id',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'x-courier-message-id',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
const headerValue = line(998);

const headers = (reserved: ReadonlySet<string>) =>
  z
    .record(z.string(), headerValue)
    .superRefine((h, ctx) => {
      for (const name of Object.keys(h)) {
        if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid header name' });
        else if (reserved.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: [name], message: 'is set by the platform and cannot be overridden' });
      }
    })
    .refine((h) => Object.keys(h).length <= 50, 'at most 50 headers');

const outputBlock = z.strictObject({
  type: z.enum(['text', 'quote', 'action', 'image', 'divider']),
  text: z.string().max(10_000),
  href: z.string().max(2048).nullish(),
  src: z.string().max(2048).nullish(),
});

const text = z.string().max(100_000).nullish();

/**
 * What `channels.<channel>.override` may set, per channel: the email's envelope and content; the
 * other channels' payload fields (what their rendering produces, and push `data`). Any other key is
 * a 400 naming it. Courier's `brand` and `tracking` email overrides are refused: brands are chosen
 * with `brand_id` (here or on the channel), and open and click tracking is the workspace's setting (TRACKING_EMAIL).
 */
export const channelOverrideSchemas = {
  email: z.strictObject({
    from: line(320)
      .refine((v) => v.length >= 3, 'must be an email address')
      .nullish(),
    reply_to: addressList.nullish(),
    cc: addressList.nullish(),
    bcc: addressList.nullish(),
    subject: line(998).nullish(),
    html: text,
    text,
    attachments: z.array(attachmentSchema).max(20).nullish(),
    headers: headers(RESERVED_EMAIL_HEADERS).nullish(),
    brand: unsupported('is not supported: choose the brand with channels.email.brand_id or brand_id'),
    tracking: unsupported("is not supported: open and click tracking is the workspace's setting (TRACKING_EMAIL), not a message's"),
  }),
  sms: z.strictObject({ body: text }),
  push: z.strictObject({ title: text, body: text, data: z.record(z.string(), z.string().max(4096)).nullish() }),
  direct_message: z.strictObject({ title: text, text, blocks: z.array(outputBlock).max(50).nullish() }),
  inbox: z.strictObject({ title: text, body: text, blocks: z.array(outputBlock).max(20).nullish() }),
  webhook: z.strictObject({ title: text, body: text }),
} satisfies Record<Channel, z.ZodType>;

type ChannelOverride<C extends Channel> = z.output<(typeof channelOverrideSchemas)[C]>;

/** The parts of an email that are not its rendered content, as a channel override sets them. */
export interface EmailEnvelope {
  from?: string;
  replyTo?: string[];
  cc?: string[];
  bcc?: string[];
  attachments?: { filename: string; contentType?: string; data: string }[];
  headers?: Record<string, string>;
}

/** A channel override as the provider call takes it: the content with its fields replaced, the email envelope, push data. */
export interface AppliedChannelOverride {
  content: RenderedOutput;
  email?: EmailEnvelope;
  data?: Record<string, string>;
}

const list = (v: string | string[] | null | undefined): string[] | undefined => {
  if (v === null || v === undefined) return undefined;
  const items = (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean);
  return items.length ? items : undefined;
};

const defined = <T extends Record<string, unknown>>(o: T): { [K in keyof T]?: NonNullable<T[K]> } =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as { [K in keyof T]?: NonNullable<T[K]> };

const blocks = (bs: z.output<typeof outputBlock>[] | null | undefined): OutputBlock[] | undefined =>
  bs?.map((b) => defined({ type: b.type, text: b.text, href: b.href ?? undefined, src: b.src ?? undefined }) as OutputBlock);

/**
 * A channel's override applied to its rendered output. `raw` was checked when the send was
 * accepted; a stored request that no longer parses throws (the caller fails the provider call).
 */
export function applyChannelOverride(output: RenderedOutput, raw: unknown): AppliedChannelOverride {
  if (raw === null || raw === undefined) return { content: output };
  const channel = output.channel;
  const parsed = channelOverrideSchemas[channel].safeParse(raw);
  if (!parsed.success) throw new Error(`channels.${channel}.override is invalid`);
  switch (channel) {
    case 'email': {
      const o = parsed.data as ChannelOverride<'email'>;
      const email = defined({
        from: o.from ?? undefined,
        replyTo: list(o.reply_to),
        cc: list(o.cc),
        bcc: list(o.bcc),
        attachments: o.attachments?.map((a) => defined({ filename: a.filename, contentType: a.contentType ?? undefined, data: a.data.replace(/\s/g, '') })),
        headers: o.headers ?? undefined,
      }) as EmailEnvelope;
      const content = { ...output, ...defined({ subject: o.subject, html: o.html, text: o.text }) };
      return { content, ...(Object.keys(email).length ? { email } : {}) };
    }
    case 'push': {
      const o = parsed.data as ChannelOverride<'push'>;
      return { content: { ...output, ...defined({ title: o.title, body: o.body }) }, ...(o.data ? { data: o.data } : {}) };
    }
    case 'direct_message': {
      const o = parsed.data as ChannelOverride<'direct_message'>;
      return { content: { ...output, ...defined({ title: o.title, text: o.text, blocks: blocks(o.blocks) }) } };
    }
    case 'inbox': {
      // The inbox item's fields are `title`, `body` and `blocks` (render.ts), not a chat message's `text`.
      const o = parsed.data as ChannelOverride<'inbox'>;
      return { content: { ...output, ...defined({ title: o.title, body: o.body, blocks: blocks(o.blocks) }) } };
    }
    case 'sms':
    case 'webhook':
      return { content: { ...output, ...defined(parsed.data as Record<string, unknown>) } };
  }
}

/**
 * Courier's provider override: `body` merged into the provider's request body, `headers` into its
 * headers, `query` into its URL's query, `config` over the provider's stored settings for this
 * message, and for the webhook `url` and `method`. Each adapter honours the keys its schema in
 * PROVIDER_OVERRIDES names; any other key is a 400 naming it.
 */
export interface ProviderOverride {
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  config?: Record<string, unknown>;
  url?: string;
  method?: 'POST' | 'PUT';
}

const json = z.record(z.string(), z.unknown());
/** Headers an HTTP provider call owns: its credentials, framing and signature. */
const RESERVED_HTTP_HEADERS = new Set([
  'authorization',
  'content-type',
  'content-length',
  'host',
  'transfer-encoding',
  'connection',
  'x-courier-timestamp',
  'x-courier-signature',
  'idempotency-key',
]);
const httpHeaders = headers(RESERVED_HTTP_HEADERS);
const query = z.record(z.string().min(1).max(100), z.string().max(2000));

/** Nodemailer message options an SMTP override's body may set: addressing and content, never a file path or URL to read. */
const nodemailerAttachment = z.strictObject({
  filename: z.string().min(1).max(255),
  content: z.string(),
  encoding: z.enum(['base64', 'utf8', 'utf-8', 'hex']).nullish(),
  contentType: z.string().max(255).nullish(),
  cid: z.string().max(255).nullish(),
});
const smtpBody = z.strictObject({
  from: z.string().max(320).nullish(),
  sender: z.string().max(320).nullish(),
  to: addressList.nullish(),
  cc: addressList.nullish(),
  bcc: addressList.nullish(),
  replyTo: addressList.nullish(),
  inReplyTo: z.string().max(998).nullish(),
  references: addressList.nullish(),
  subject: z.string().max(998).nullish(),
  text: z.string().nullish(),
  html: z.string().nullish(),
  headers: headers(RESERVED_EMAIL_HEADERS).nullish(),
  attachments: z.array(nodemailerAttachment).max(20).nullish(),
  priority: z.enum(['high', 'normal', 'low']).nullish(),
});
/** Nodemailer transport options an SMTP override's config may set (Courier's names); the egress policy still applies to the host. */
const smtpConfig = z.strictObject({
  host: z.string().min(1).max(253).nullish(),
  port: z.number().int().min(1).max(65535).nullish(),
  secure: z.boolean().nullish(),
  requireTLS: z.boolean().nullish(),
  auth: z.strictObject({ user: z.string().max(256), pass: z.string().max(256) }).nullish(),
});
const region = z.strictObject({
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region')
    .nullish(),
});
const sesBody = z.strictObject({
  ConfigurationSetName: z.string().max(64).nullish(),
  EmailTags: z
    .array(z.strictObject({ Name: z.string().max(256), Value: z.string().max(256) }))
    .max(50)
    .nullish(),
  ReplyToAddresses: z.array(z.string().max(320)).max(50).nullish(),
  FeedbackForwardingEmailAddress: z.string().max(320).nullish(),
  ListManagementOptions: z.strictObject({ ContactListName: z.string().max(256), TopicName: z.string().max(256).nullish() }).nullish(),
});
const snsBody = z.strictObject({
  Message: z.string().max(1600).nullish(),
  MessageAttributes: z.record(z.string().max(256), z.strictObject({ DataType: z.enum(['String', 'Number']), StringValue: z.string().max(256) })).nullish(),
});
const httpOverride = z.strictObject({ body: json.nullish(), headers: httpHeaders.nullish(), query: query.nullish() });
/** Mailgun's body is form fields: each a string, or a list of strings for a repeated field. */
const mailgunOverride = httpOverride.extend({ body: z.record(z.string().min(1).max(200), z.union([z.string(), z.array(z.string()).max(1000)])).nullish() });

/**
 * Per provider key, what its `override` may hold (the README's send section lists them):
 * - smtp: `body` (nodemailer message options, merged over the composed message), `config` (host,
 *   port, secure, requireTLS, auth);
 * - ses: `body` (SESv2 SendEmail fields merged into the request), `config.region`;
 * - sns: `body` (Message, MessageAttributes merged into Publish), `config.region`;
 * - firebase-fcm, slack, msteams: `body` (deep-merged into the JSON the API receives: FCM's
 *   `message`, Slack's chat.postMessage arguments, the Teams activity), `headers`, `query`;
 * - twilio, vonage, messagebird, plivo, telnyx: `body` (merged into the request's parameters:
 *   Twilio's form fields, the others' JSON), `headers`, `query`;
 * - apn, expo, onesignal: `body` (deep-merged into the APNs payload, each Expo message, the
 *   OneSignal notification), `headers` (APNs: apns-collapse-id, apns-priority, ...), `query`;
 * - sendgrid, postmark, resend, sparkpost, mailjet: `body` (deep-merged into the JSON the API
 *   receives), `headers`, `query`; mailgun: the same, its `body` form fields (strings or lists).
 * - webhook: `body` (deep-merged into the JSON payload, which is signed after), `headers`, `query`,
 *   `url`, `method`;
 * - local-capture: `body`, deep-merged into the captured content;
 * - inbox: nothing (it is a table write, there is no request to change; channels.inbox.override
 *   sets its title, body and blocks).
 * A provider key not listed (one this stack has no adapter for) is refused in `message.providers`.
 */
export const PROVIDER_OVERRIDES: Record<string, z.ZodType> = {
  smtp: z.strictObject({ body: smtpBody.nullish(), config: smtpConfig.nullish() }),
  ses: z.strictObject({ body: sesBody.nullish(), config: region.nullish() }),
  sns: z.strictObject({ body: snsBody.nullish(), config: region.nullish() }),
  'firebase-fcm': httpOverride,
  slack: httpOverride,
  msteams: httpOverride,
  pagerduty: httpOverride,
  discord: httpOverride,
  twilio: httpOverride,
  vonage: httpOverride,
  messagebird: httpOverride,
  plivo: httpOverride,
  telnyx: httpOverride,
  apn: httpOverride,
  expo: httpOverride,
  onesignal: httpOverride,
  sendgrid: httpOverride,
  mailgun: mailgunOverride,
  postmark: httpOverride,
  resend: httpOverride,
  sparkpost: httpOverride,
  mailjet: httpOverride,
  webhook: httpOverride.extend({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .nullish(),
    method: z.enum(['POST', 'PUT']).nullish(),
  }),
  'local-capture': z.strictObject({ body: json.nullish() }),
  inbox: z.strictObject({}),
};

/** A provider's override as its adapter reads it (nulls dropped); undefined when none is set. */
export function providerOverride(provider: string, raw: unknown): ProviderOverride | undefined {
  if (raw === null || raw === undefined) return undefined;
  const schema = PROVIDER_OVERRIDES[provider] as z.ZodType | undefined;
  const parsed = schema?.safeParse(raw);
  if (!parsed?.success) throw new Error(`providers.${provider}.override is invalid`);
  const o = defined(parsed.data as Record<string, unknown>) as ProviderOverride;
  return Object.keys(o).length ? o : undefined;
}

/**
 * `override` merged into `base`: plain objects key by key, recursively; anything else (a value,
 * an array) replaces; a null removes the key.
 */
export function deepMerge<T extends Record<string, unknown>>(base: T, override: Record<string, unknown> | undefined): T {
  if (!override) return base;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) {
    if (v === null) delete out[k];
    else if (isPlain(v) && isPlain(out[k])) out[k] = deepMerge(out[k], v);
    else out[k] = v;
  }
  return out as T;
}
const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `channels.<channel>.metadata` and `providers.<provider>.metadata`: UTM parameters only. */
export const metadataSchema = z.strictObject({ utm: utmSchema.nullish() });

/**
 * Checks every channel's override against its channel's schema (the channels record's entries are
 * loose objects, so a field another part of the send owns passes here). Issues are named
 * `<channel>.override.<field>`.
 */
export function checkChannelOverrides(channels: Partial<Record<Channel, { override?: unknown }>>, ctx: z.RefinementCtx): void {
  for (const [channel, entry] of Object.entries(channels) as [Channel, { override?: unknown } | undefined][]) {
    if (entry?.override === null || entry?.override === undefined) continue;
    const parsed = channelOverrideSchemas[channel].safeParse(entry.override);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [channel, 'override', ...issue.path] } as never);
  }
}

const unknownProvider = (provider: string, ctx: z.RefinementCtx): void =>
  ctx.addIssue({ code: 'custom', path: [provider], message: `names no provider this stack has (its settings could never apply): "${provider}"` });

/** Checks `message.timeout.provider`: every key must name a provider this stack has, as in `message.providers` (a budget for no provider could never apply). */
export function checkProviderKeys(budgets: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const provider of Object.keys(budgets)) if (!Object.hasOwn(PROVIDER_OVERRIDES, provider)) unknownProvider(provider, ctx);
}

/**
 * Checks `message.providers`: every key must name a provider this stack has (an adapter; it need
 * not be configured yet, as Courier takes entries for providers of the workspace's own choosing),
 * since the override, metadata, timeouts and `if` of a key that names none could never apply: such
 * a key is a 400 naming `providers.<key>`. Each override is checked against what its adapter honours.
 */
export function checkProviderOverrides(providers: Record<string, { override?: unknown }>, ctx: z.RefinementCtx): void {
  for (const [provider, entry] of Object.entries(providers)) {
    const schema = Object.hasOwn(PROVIDER_OVERRIDES, provider) ? PROVIDER_OVERRIDES[provider] : undefined;
    if (!schema) {
      unknownProvider(provider, ctx);
      continue;
    }
    if (entry?.override === null || entry?.override === undefined) continue;
    const parsed = schema.safeParse(entry.override);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [provider, 'override', ...issue.path] } as never);
  }
}
