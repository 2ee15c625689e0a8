import { z } from 'zod';
import { normalizeHost } from './addresses';
import { parseSuppressOn } from '../domain/suppressions';
import { parseCorsOrigins } from './cors';
import { parseQuietHoursSetting } from '../domain/quiet-hours';
import { isTimeZone } from '../domain/delivery-window';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
/** A setting's text turned into its value by `parse`, which answers a string saying what is wrong instead. */
const parsedWith =
  <T>(parse: (text: string) => T | string) =>
  (text: string, ctx: z.RefinementCtx): T => {
    const parsed = parse(text);
    if (typeof parsed !== 'string') return parsed;
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  };
const onOff = z.enum(['on', 'off', 'true', 'false']).transform((v) => v === 'on' || v === 'true');

/**
 * Every setting a function reads. config.ts parses them once when it loads (Lambda cold start), so
 * a missing or malformed variable fails the init phase instead of a request deep inside; the CDK
 * stack checks the workspace settings it is given against the same schema at synth.
 */
export const configSchema = z.object({
  TABLE_NAME: z.string().min(1),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** Endpoint overrides for the local stack (DynamoDB Local, fauxqs); unset on AWS. */
  DYNAMODB_ENDPOINT: z.url().optional(),
  SQS_ENDPOINT: z.url().optional(),
  FANOUT_QUEUE_URL: z.url().optional(),
  DELIVERY_QUEUE_URL: z.url().optional(),
  WEBHOOKS_QUEUE_URL: z.url().optional(),
  /** Outbound webhooks (README "Outbound webhooks"): delivery attempts of one event to one endpoint before it goes to the DLQ. */
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(8),
  /** Seconds before an event's first retry; each later retry waits twice as long (at most 900). */
  WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().int().min(0).max(900).default(10),
  /** Consecutive failed deliveries after which an endpoint is disabled (0: never); a PUT re-enables it. */
  WEBHOOK_DISABLE_AFTER_FAILURES: z.coerce.number().int().min(0).default(100),
  /** Timeout of one delivery POST, in ms. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().max(25_000).default(10_000),
  /** Largest request body accepted, in bytes; larger bodies get 413. */
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(256 * 1024),
  /** Delivery timing (milliseconds). A provider call gives up after PROVIDER_TIMEOUT_MS (a transient failure). */
  PROVIDER_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** Transient failures retry on the same provider for this long, then fail over (message.timeout.provider overrides). */
  PROVIDER_RETRY_WINDOW_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(5 * 60_000),
  /**
   * Expo push receipts are read this many seconds after the send (Expo recommends 15 minutes; an SQS
   * delay is at most 900 s), and again as long after while some are not ready or Expo fails.
   */
  EXPO_RECEIPT_DELAY_SECONDS: z.coerce.number().int().min(0).max(900).default(900),
  /** Retries on one provider, at most. */
  PROVIDER_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(5),
  /** First retry delay; each retry doubles it (with jitter), capped at 15 minutes. */
  RETRY_BASE_MS: z.coerce.number().int().positive().default(2_000),
  /** A message not delivered this long after it was due ends UNDELIVERABLE (message.timeout.message overrides). */
  MESSAGE_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(24 * 3600_000),
  /** A claim on a message older than this belongs to a worker that stopped during a provider call. */
  CLAIM_LEASE_MS: z.coerce.number().int().positive().default(60_000),
  /**
   * A single send due at once is delivered by the function that accepted it, before POST /send
   * answers (no queue hop: docs/decisions.md D14). It starts provider calls for at most this long
   * (and never so late that one could outlast the API's timeout); what is left then, retries and
   * failovers included, goes on through the delivery queue. 0 sends every send through the queue.
   */
  SEND_INLINE_MS: z.coerce.number().int().min(0).default(10_000),
  /** The sweeper re-drives requests and messages unfinished this long after they were due. */
  SWEEP_GRACE_MS: z.coerce
    .number()
    .int()
    .positive()
    .default(5 * 60_000),
  /** The furthest ahead a send may be delayed (`delay.until` / `delay.duration`), in days; further is a 400. */
  MAX_DELAY_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** Message logs (requests, messages, trace look-ups) expire this many days after they were due; unset keeps them. */
  MESSAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).optional(),
  /** Inbox items expire (DynamoDB TTL) at the end of the UTC day this many days after they arrived; unset keeps them. */
  INBOX_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).optional(),
  /**
   * Audit events (GET /audit-events) are listed and readable for this many days after they happened,
   * then expire through the table's `ttl` (DynamoDB deletes them within a few days after).
   */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** How long a warm worker reuses workspace data it read (templates, tenants, providers, topics). */
  CACHE_TTL_MS: z.coerce.number().int().min(0).default(10_000),
  /**
   * Secret (at least 32 characters) that signs user tokens (HS256). Unset: a random one is made on
   * first use and kept in the table (encrypted at rest, readable only by the API functions).
   */
  USER_TOKEN_SECRET: z.string().min(32).optional(),
  /**
   * The name of an SSM Parameter Store SecureString holding that secret (32+ characters), read at
   * cold start and again every few minutes (so a rotation takes effect without a deploy). The way
   * to set the secret on AWS: USER_TOKEN_SECRET itself would be written into the template.
   */
  USER_TOKEN_SECRET_PARAMETER: z
    .string()
    .regex(/^\/?[A-Za-z0-9_.\-/]{1,1011}$/, 'must be an SSM parameter name (letters, digits, _ . - /)')
    .optional(),
  /**
   * Inbound webhooks (lambdas/http/inbound.ts): Segment's shared secret (it signs each request's
   * body, `X-Signature`) and the password of RudderStack's basic auth. Unset (and no parameter):
   * that route refuses every request. For the local stack; on AWS the *_PARAMETER settings name an
   * SSM Parameter Store SecureString holding it, read at cold start and every few minutes.
   */
  SEGMENT_SHARED_SECRET: z.string().min(16).optional(),
  SEGMENT_SHARED_SECRET_PARAMETER: z
    .string()
    .regex(/^\/?[A-Za-z0-9_.\-/]{1,1011}$/, 'must be an SSM parameter name (letters, digits, _ . - /)')
    .optional(),
  RUDDERSTACK_SHARED_SECRET: z.string().min(16).optional(),
  RUDDERSTACK_SHARED_SECRET_PARAMETER: z
    .string()
    .regex(/^\/?[A-Za-z0-9_.\-/]{1,1011}$/, 'must be an SSM parameter name (letters, digits, _ . - /)')
    .optional(),
  /**
   * Provider webhooks of delivery and engagement events (lambdas/http/provider-events.ts, README
   * "Delivery and engagement events"). Each route refuses every request until its secret is set
   * (or its *_PARAMETER names an SSM SecureString holding it, as for Segment's).
   * SES_EVENTS_TOPIC_ARNS: the SNS topics (comma-separated ARNs) whose notifications and
   * subscription confirmations /inbound/providers/ses accepts.
   */
  SES_EVENTS_TOPIC_ARNS: z
    .string()
    .default('')
    .transform((t) =>
      t
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
    ),
  /**
   * TESTS ONLY: one more origin (`http://127.0.0.1:<port>`) SNS signing certificates and
   * SubscribeURLs may be fetched from, besides https://sns.<region>.amazonaws.com. Never set it in
   * a deployment: whoever serves that origin could sign SES events.
   */
  SNS_TEST_CERT_ORIGIN: z.url().optional(),
  /** SendGrid's Event Webhook verification key (the base64 public key SendGrid shows). */
  SENDGRID_WEBHOOK_VERIFICATION_KEY: z.string().min(16).optional(),
  SENDGRID_WEBHOOK_VERIFICATION_KEY_PARAMETER: z
    .string()
    .regex(/^\/?[A-Za-z0-9_.\-/]{1,1011}$/, 'must be an SSM parameter name (letters, digits, _ . - /)')
    .optional(),
  /** Mailgun's webhook signing key. */
  MAILGUN_WEBHOOK_SIGNING_KEY: z.string().min(16).optional(),
  MAILGUN_WEBHOOK_SIGNING_KEY_PARAMETER: z
    .string()
    .regex(/^\/?[A-Za-z0-9_.\-/]{1,1011}$/, 'must be an SSM parameter name (letters, digits, _ . - /)')
    .optional(),
  /** Postmark webhooks' basic auth credentials, `user:password` (set the same in the webhook's URL at Postmark). */
  POSTMARK_WEBHOOK_CREDENTIALS: z.string().min(16).regex(/:/, 'must be user:password').optional(),
  POSTMARK_WEBHOOK_CREDENTIALS_PARAMETER: z
    .string()
    .regex(/^\/?[A-Za-z0-9_.\-/]{1,1011}$/, 'must be an SSM parameter name (letters, digits, _ . - /)')
    .optional(),
  /** Twilio's auth token (signs status callbacks, X-Twilio-Signature). */
  TWILIO_AUTH_TOKEN: z.string().min(16).optional(),
  TWILIO_AUTH_TOKEN_PARAMETER: z
    .string()
    .regex(/^\/?[A-Za-z0-9_.\-/]{1,1011}$/, 'must be an SSM parameter name (letters, digits, _ . - /)')
    .optional(),
  /** Vonage's signature secret and the algorithm chosen for it in Vonage's dashboard (md5hash by default). */
  VONAGE_SIGNATURE_SECRET: z.string().min(16).optional(),
  VONAGE_SIGNATURE_SECRET_PARAMETER: z
    .string()
    .regex(/^\/?[A-Za-z0-9_.\-/]{1,1011}$/, 'must be an SSM parameter name (letters, digits, _ . - /)')
    .optional(),
  VONAGE_SIGNATURE_ALGORITHM: z.enum(['md5hash', 'md5', 'sha1', 'sha256', 'sha512']).default('md5hash'),
  /**
   * Which provider events put the address on the suppression list (README "Suppressions",
   * docs/decisions.md D21): `hard_bounce`, `complaint`, both (the default, comma-separated), or empty
   * for neither. Suppressed addresses are skipped at send time whatever this says (a manual entry).
   */
  SUPPRESS_ON: z.string().default('hard_bounce,complaint').transform(parsedWith(parseSuppressOn)),
  /**
   * The API's public URL (no trailing slash), where tracking links point (README "Open and click
   * tracking"). The CDK stack sets it to the API's URL unless the deploy settings give one (a custom
   * domain); the local runner sets its own. Unset: nothing is tracked.
   */
  API_URL: z
    .url({ protocol: /^https?$/ })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  /** Pages allowed to call the API from a browser (lambdas/shared/cors.ts): `*` (default), `off`, or a comma-separated list of origins. */
  CORS_ALLOWED_ORIGINS: z.string().default('*').transform(parsedWith(parseCorsOrigins)),
  /**
   * The realtime inbox socket (README "The realtime inbox socket"): the management API's URL of its
   * stage (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`), where the functions that push
   * inbox events post to connections. The stack sets it; the local runner its own. Unset: nothing is pushed.
   */
  WEBSOCKET_MANAGEMENT_URL: z
    .url({ protocol: /^https?$/ })
    .transform((u) => u.replace(/\/+$/, ''))
    .optional(),
  /** Open sockets one user may hold; a new one past it closes the user's oldest. */
  SOCKET_MAX_CONNECTIONS_PER_USER: z.coerce.number().int().min(1).max(100).default(10),
  /** Largest message a client may send on its socket, in bytes (API Gateway's own limit is 128 KB); a larger one closes the connection. */
  SOCKET_MAX_CLIENT_MESSAGE_BYTES: z.coerce.number().int().min(256).max(131_072).default(4096),
  /** Largest event pushed to a socket, in bytes (API Gateway's limit, 128 KB, is the most); a new message's node past it is cut. */
  SOCKET_MAX_PUSH_BYTES: z.coerce.number().int().min(1024).max(131_072).default(131_072),
  /** What `get-config` announces: seconds between the client's pings when nothing arrives (under API Gateway's 10-minute idle timeout)... */
  SOCKET_PING_INTERVAL_SECONDS: z.coerce.number().int().min(5).max(540).default(300),
  /** ...and how many unanswered pings make the client reconnect. */
  SOCKET_MAX_OUTSTANDING_PINGS: z.coerce.number().int().min(1).max(10).default(2),
  /** Our own open and click tracking (docs/decisions.md D22) of email (open pixel, click links) and of the inbox (read and opened, click links): on or off. */
  TRACKING_EMAIL: onOff.default(true),
  TRACKING_INBOX: onOff.default(true),
  /** Workspace setting: the brand used when neither the send nor the tenant context names one. */
  DEFAULT_BRAND_ID: z.string().min(1).optional(),
  /**
   * Workspace setting: quiet hours (docs/decisions.md D26), JSON `{"hours":"22:00-07:00","channels":["sms","push"]}`
   * (channels: all when absent): in those hours of the recipient's day nothing but REQUIRED topics is
   * delivered on those channels; the rest is held until the hours end. Unset: none.
   */
  QUIET_HOURS: z.string().transform(parsedWith(parseQuietHoursSetting)).optional(),
  /**
   * Workspace setting: users' own quiet hours (`PUT /users/:id/quiet-hours`, replacing QUIET_HOURS for
   * that user). On, every delivery to a user reads them (one GetItem, 0.5 RRU); off, the route refuses them.
   */
  USER_QUIET_HOURS: onOff.default(false),
  /** Workspace setting: the IANA time zone quiet hours are read in for a recipient whose profile has no `timezone`. */
  DEFAULT_TIMEZONE: z.string().refine(isTimeZone, { message: 'not a known IANA time zone' }).default('UTC'),
  /** Workspace setting: a user with exactly one tenant membership gets that tenant as context. */
  AUTO_INFER_TENANT_CONTEXT: bool.default(true),
  /** Provider endpoint overrides, for tests and emulators; unset on AWS (the SDKs find the real ones). */
  SES_ENDPOINT: z.url().optional(),
  SNS_ENDPOINT: z.url().optional(),
  /** Slack Web API base when a provider's settings name none (default https://slack.com/api). */
  SLACK_API_URL: z.url().optional(),
  /**
   * The local stack's provider targets (lambdas/local/capture.ts). When set, channels with no
   * configured provider deliver there: email to this SMTP server, sms and push to this capture URL.
   */
  LOCAL_SMTP_URL: z.url({ protocol: /^smtp$/ }).optional(),
  LOCAL_CAPTURE_URL: z.url().optional(),
  /**
   * Provider calls to loopback, private, link-local, carrier-grade NAT, multicast and other special
   * addresses (after DNS) are refused unless this is true. Only the local stack sets it: its
   * capture servers and test targets listen on 127.0.0.1.
   */
  ALLOW_PRIVATE_EGRESS: bool.default(false),
  /**
   * Comma-separated host names or addresses that provider calls may reach even when they are (or
   * resolve to) private addresses: an SMTP relay or webhook receiver inside your network.
   */
  EGRESS_ALLOW_HOSTS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const hosts: string[] = [];
      for (const entry of text
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '')) {
        const host = normalizeHost(entry);
        if (host === undefined) {
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(entry)} is not a host name or an address (no scheme, port or path)` });
          return z.NEVER;
        }
        hosts.push(host);
      }
      return hosts;
    }),
});

export type Config = z.infer<typeof configSchema>;

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${detail}`);
  }
  return parsed.data;
}
