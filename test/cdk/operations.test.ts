import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { buildApp } from '../../lib/app';
import { deployOptionsSchema } from '../../lib/options';
import type { NotificationsStack } from '../../lib/stack';
import { apiRoutes } from '../../lambdas/local/stack';
import { QUEUES, SCHEDULED, UNMATCHED_ROUTE } from '../../lambdas/shared/topology';

/**
 * Deploy options, alarms, the two kinds of API, and both cdk-nag packs. Templates only: no bundling.
 * One synth per context (each takes seconds): the describes only read their template. Tests that
 * add to a stack build their own app.
 */
const synths = new Map<string, { app: App; stack: NotificationsStack; template: Template }>();
const synth = (context: Record<string, unknown> = {}) => {
  const key = JSON.stringify(context);
  const known = synths.get(key);
  if (known) return known;
  const { app, stack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const made = { app, stack, template: Template.fromStack(stack) };
  synths.set(key, made);
  return made;
};

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
const resources = (t: Template) => t.toJSON().Resources as Resources;
const ofType = (t: Template, type: string) => Object.entries(resources(t)).filter(([, r]) => r.Type === type);

describe('deploy options: defaults', () => {
  const { template } = synth();

  it('keeps every log group 30 days', () => {
    const groups = ofType(template, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThan(10);
    for (const [, g] of groups) expect(g.Properties.RetentionInDays).toBe(30);
  });

  it('caps each queue event source at its topology maxConcurrency', () => {
    for (const spec of Object.values(QUEUES)) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        BatchSize: spec.batchSize,
        ScalingConfig: { MaximumConcurrency: spec.maxConcurrency },
      });
    }
  });

  it('throttles the API stage at 1000 requests per second, bursts of 2000', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 } });
  });

  it('does not retry or keep a failed sweep: the next one comes a minute later', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })],
    });
  });

  it('leaves X-Ray tracing off', () => {
    for (const [, fn] of ofType(template, 'AWS::Lambda::Function')) expect(fn.Properties.TracingConfig?.Mode).not.toBe('Active');
  });

  it('outputs the API URL, table, queue and dead-letter queue URLs, and the alarm topic', () => {
    const outputs = Object.keys(template.toJSON().Outputs as object);
    expect(outputs.sort()).toEqual([
      'AlarmTopicArn',
      'ApiUrl',
      'ApiUrls',
      'DeliveryDlqUrl',
      'DeliveryQueueUrl',
      'FanoutDlqUrl',
      'FanoutQueueUrl',
      'TableName',
      'WebSocketUrl',
      'WebhooksDlqUrl',
      'WebhooksQueueUrl',
    ]);
  });
});

describe('alarms', () => {
  const { template } = synth();
  const alarms = ofType(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const topic = ofType(template, 'AWS::SNS::Topic')[0]?.[0];

  it('notify the one topic, and an idle stack (missing data) is not in alarm', () => {
    expect(alarms).toHaveLength(2 * Object.keys(QUEUES).length + Object.keys(QUEUES).length + SCHEDULED.length + 2);
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([{ Ref: topic }]);
      expect(a.TreatMissingData).toBe('notBreaching');
      expect(a.AlarmDescription).toEqual(expect.any(String));
    }
  });

  it('watch each dead-letter queue for one message, and each work queue for a message older than 30 minutes', () => {
    const byMetric = (name: string) => alarms.filter((a) => a.MetricName === name);
    expect(byMetric('ApproximateNumberOfMessagesVisible').map((a) => [a.Threshold, a.Statistic])).toEqual([
      [1, 'Maximum'],
      [1, 'Maximum'],
      [1, 'Maximum'],
    ]);
    expect(byMetric('ApproximateAgeOfOldestMessage').map((a) => a.Threshold)).toEqual([1800, 1800, 1800]);
    expect(byMetric('Errors')).toHaveLength(Object.keys(QUEUES).length + SCHEDULED.length);
  });

  it('sum the workers throttles, and compute the API 5xx rate over at least 10 requests', () => {
    const math = alarms
      .filter((a) => a.Metrics)
      .map((a) => ({ expr: a.Metrics.find((m: { Expression?: string }) => m.Expression).Expression, threshold: a.Threshold }));
    expect(math).toEqual(
      expect.arrayContaining([
        { expr: 't0 + t1 + t2 + t3', threshold: 1 },
        { expr: 'IF(requests >= 10, 100 * errors / requests, 0)', threshold: 5 },
      ]),
    );
  });

  it('email an address given with -c alarmEmail, and can be left out with -c alarms=false', () => {
    synth({ alarmEmail: 'ops@example.com' }).template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    const off = synth({ alarms: 'false' }).template;
    expect(ofType(off, 'AWS::CloudWatch::Alarm')).toHaveLength(0);
    expect(ofType(off, 'AWS::SNS::Topic')).toHaveLength(0);
  });
});

describe('deploy options: overrides', () => {
  const { template } = synth({
    logRetentionDays: '90',
    apiRateLimit: '50',
    apiBurstLimit: '100',
    deliveryMaxConcurrency: '40',
    queueAgeAlarmSeconds: '600',
    api5xxAlarmPercent: '1',
    tracing: 'true',
  });

  it('reach the resources they configure', () => {
    for (const [, g] of ofType(template, 'AWS::Logs::LogGroup')) expect(g.Properties.RetentionInDays).toBe(90);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: QUEUES.delivery.batchSize, ScalingConfig: { MaximumConcurrency: 40 } });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 600 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 1,
      Metrics: Match.arrayWith([Match.objectLike({ Expression: Match.stringLikeRegexp('errors / requests') })]),
    });
    for (const [, fn] of ofType(template, 'AWS::Lambda::Function')) expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it.each([
    ['logRetentionDays', '8', /logRetentionDays: one of 1, 3, 5/],
    ['api', 'graphql', /api: /],
    ['deliveryMaxConcurrency', '1', /deliveryMaxConcurrency: /],
    ['alarmEmail', 'not-an-address', /alarmEmail: /],
    ['stage', 'prod env', /stage: letters, digits and dashes/],
    ['tracing', 'yes', /tracing: /],
  ])('refuse a bad %s (%s), naming it', (name, value, error) => {
    expect(() => synth({ [name]: value })).toThrow(error);
  });

  it('are each documented in the README with its default', () => {
    const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    for (const name of Object.keys(deployOptionsSchema.shape))
      expect({ name, documented: new RegExp(`^\\| \`${name}\` \\|`, 'm').test(readme) }).toEqual({ name, documented: true });
  });
});

/** `METHOD /path -> function id` of every route in a synthesized API, HTTP or REST. */
function templateRoutes(stack: NotificationsStack, t: Template): string[] {
  const res = resources(t);
  const fnByLogicalId = Object.fromEntries(Object.entries(stack.functions).map(([name, f]) => [stack.getLogicalId(f.fn.node.defaultChild as never), name]));
  const fnOf = (value: unknown) => {
    const id = Object.keys(fnByLogicalId).find((logical) => JSON.stringify(value).includes(`"${logical}"`));
    if (!id) throw new Error(`no function in ${JSON.stringify(value)}`);
    return fnByLogicalId[id];
  };
  if (stack.options.api === 'http') {
    // The realtime inbox socket's routes are the WebSocket API's (test/cdk/socket.test.ts).
    const socketApi = stack.getLogicalId(stack.socket.api.node.defaultChild as never);
    const httpRoutes = ofType(t, 'AWS::ApiGatewayV2::Route').filter(([, r]) => r.Properties.ApiId.Ref !== socketApi);
    return httpRoutes.map(([, r]) => {
      const integration = (r.Properties.Target['Fn::Join'][1] as unknown[]).find((p) => typeof p === 'object') as { Ref: string };
      return `${r.Properties.RouteKey} -> ${fnOf(res[integration.Ref].Properties.IntegrationUri)}`;
    });
  }
  const pathOf = (resourceId: unknown): string => {
    const ref = (resourceId as { Ref?: string }).Ref;
    if (!ref) return '';
    return `${pathOf(res[ref].Properties.ParentId)}/${res[ref].Properties.PathPart}`;
  };
  // The CORS preflights (OPTIONS, a mock integration on every resource) are API Gateway's own answers, not routes.
  const routes = ofType(t, 'AWS::ApiGateway::Method')
    .filter(([, m]) => m.Properties.Integration?.Type !== 'MOCK')
    .map(([, m]) => `${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId) || '/'} -> ${fnOf(m.Properties.Integration.Uri)}`);
  // A REST API has no `$default` route: `ANY /` and `ANY /{proxy+}` to one function are its equivalent.
  const root = routes.find((r) => r.startsWith('ANY / -> '));
  const fn = root?.slice('ANY / -> '.length);
  if (!root || !routes.includes(`ANY /{proxy+} -> ${fn}`)) return routes;
  return [...routes.filter((r) => r !== root && r !== `ANY /{proxy+} -> ${fn}`), `${UNMATCHED_ROUTE} -> ${fn}`];
}

describe.each(['http', 'rest'])('the %s API and the local API', (api) => {
  const { stack, template } = synth({ api });

  it('have the same routes to the same functions, both ways', () => {
    const local = apiRoutes(() => async () => ({ statusCode: 200 })).map((r) => `${r.routeKey} -> ${r.functionName}`);
    expect(templateRoutes(stack, template).sort()).toEqual(local.sort());
  });

  it('lets browser pages call it (CORS_ALLOWED_ORIGINS, default *), or none with off', () => {
    const preflights = (tpl: Record<string, { Type: string; Properties: Record<string, unknown> }>) =>
      api === 'http'
        ? Object.values(tpl).flatMap((r) => (r.Type === 'AWS::ApiGatewayV2::Api' && r.Properties.CorsConfiguration ? [r.Properties.CorsConfiguration] : []))
        : Object.values(tpl).flatMap((r) =>
            r.Type === 'AWS::ApiGateway::Method' && r.Properties.HttpMethod === 'OPTIONS' ? [(r.Properties.Integration as { Type: string }).Type] : [],
          );
    const resources = (t: typeof template) => t.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const found = preflights(resources(template));
    if (api === 'http') {
      expect(found).toEqual([
        expect.objectContaining({ AllowOrigins: ['*'], AllowHeaders: expect.arrayContaining(['authorization', 'x-courier-user-id']), MaxAge: 86400 }),
      ]);
    } else {
      // One mock preflight per resource: the root, and each group's segment and {proxy+}.
      expect(found.length).toBeGreaterThan(40);
      expect(new Set(found)).toEqual(new Set(['MOCK']));
    }
    expect(preflights(resources(synth({ api, settings: JSON.stringify({ CORS_ALLOWED_ORIGINS: 'off' }) }).template))).toEqual([]);
  });

  it('passes both cdk-nag packs, with and without tracing', () => {
    for (const tracing of ['false', 'true']) expect(() => buildApp({ context: { 'aws:cdk:bundling-stacks': [], api, tracing } }).app.synth()).not.toThrow();
  });
});

describe('cdk-nag ServerlessChecks', () => {
  it('fails synth on a finding nobody acknowledged (the pack is live)', () => {
    const { app, stack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [] } });
    new Queue(stack, 'QueueWithoutDlq', { enforceSSL: true });
    const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(() => app.synth()).toThrow(/Serverless-SQSRedrivePolicy/);
    log.mockRestore();
    warn.mockRestore();
  });
});
