import { z } from 'zod';
import { QUEUES } from '../lambdas/shared/topology';

/** Retention periods CloudWatch Logs accepts, in days. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * The deployment's own options, each from CDK context (`-c name=value` or `context` in cdk.json),
 * with its default. The README's Deploy section lists them (a CDK test keeps the two in step).
 */
export const deployOptionsSchema = z.object({
  /** Stack `Notifications-<stage>`. */
  stage: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'letters, digits and dashes, starting with a letter')
    .default('dev'),
  /** `http`: API Gateway HTTP API (payload 2.0). `rest`: a REST API with the same routes and handlers (LocalStack's community edition). */
  api: z.enum(['http', 'rest']).default('http'),
  /** Delete the table with the stack (throw-away stages); otherwise it is retained, with deletion protection on. */
  destroyOnRemoval: bool.default(false),
  /** Sustained requests per second and burst of the API stage, beyond which callers get 429. */
  apiRateLimit: int(1, 100_000).default(1000),
  apiBurstLimit: int(1, 100_000).default(2000),
  /** Most concurrent invocations each queue's event source starts (at least 2, AWS's minimum). */
  fanoutMaxConcurrency: int(2, 1000).default(QUEUES.fanout.maxConcurrency),
  deliveryMaxConcurrency: int(2, 1000).default(QUEUES.delivery.maxConcurrency),
  webhooksMaxConcurrency: int(2, 1000).default(QUEUES.webhooks.maxConcurrency),
  /** Days every log group (functions, API access logs) keeps its logs. */
  logRetentionDays: z.coerce
    .number()
    .refine((d) => (RETENTION_DAYS as readonly number[]).includes(d), `one of ${RETENTION_DAYS.join(', ')}`)
    .default(30),
  /** X-Ray active tracing on every function (traces are billed beyond the free tier). */
  tracing: bool.default(false),
  /** CloudWatch alarms and their SNS topic (about US$ 1.20 a month for the 12 alarm metrics). */
  alarms: bool.default(true),
  /** An email address the alarm topic notifies (confirm the subscription email AWS sends). */
  alarmEmail: z.email().optional(),
  /** A work queue whose oldest message is older than this raises an alarm. */
  queueAgeAlarmSeconds: int(60, 86_400).default(1800),
  /** More than this percentage of API requests answered 5xx in 5 minutes (at least 10 requests) raises an alarm. */
  api5xxAlarmPercent: z.coerce.number().min(0.1).max(100).default(5),
  /**
   * Workspace settings passed to every function as environment (MESSAGE_RETENTION_DAYS, ...; see
   * lambdas/shared/settings.ts): JSON text on the command line, an object in cdk.json.
   */
  settings: z
    .union([
      z.string().transform((text, ctx) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'expected a JSON object of setting names to values' });
          return z.NEVER;
        }
      }),
      z.record(z.string(), z.unknown()),
    ])
    .pipe(
      z
        .record(z.string(), z.union([z.string(), z.number(), z.boolean()]), 'expected a JSON object of setting names to values')
        .transform((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]))),
    )
    .default({}),
});

export type DeployOptions = z.infer<typeof deployOptionsSchema>;

/** Reads every option from CDK context; a bad value fails the synth, naming the option. */
export function deployOptions(context: (name: string) => unknown): DeployOptions {
  const raw = Object.fromEntries(
    Object.keys(deployOptionsSchema.shape)
      .map((k) => [k, context(k)])
      .filter(([, v]) => v !== undefined),
  );
  const parsed = deployOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`invalid context: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
