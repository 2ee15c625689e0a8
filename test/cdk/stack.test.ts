import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { buildApp } from '../../lib/app';
import { EVENT_SOURCE_ACTIONS, EVENT_SOURCE_SID, SMS_PUBLISH_SID, type NotificationsStack } from '../../lib/stack';
import { API_GROUPS, functionIds, QUEUES, SCHEDULED, SOCKET } from '../../lambdas/shared/topology';

/** Bundling is skipped here (test/integration/bundles.test.ts runs the real bundles); templates are what we assert. */
const noBundling = { context: { 'aws:cdk:bundling-stacks': [] } };

let stack: NotificationsStack;
let template: Template;
beforeAll(() => {
  ({ stack } = buildApp(noBundling));
  template = Template.fromStack(stack);
});

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Sid?: string };
/** The statements of the policies attached to one role (by its logical id). */
const statementsOf = (t: Template, roleId: string): Statement[] =>
  Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => (p as { Properties: { Roles: { Ref: string }[] } }).Properties.Roles.some((r) => r.Ref === roleId))
    .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
const statements = (): Statement[] =>
  Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
  );

describe('the single table', () => {
  it('has pk/sk, the gsi1 index, TTL, point-in-time recovery and encryption', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'gsi1',
          KeySchema: [
            { AttributeName: 'gsi1pk', KeyType: 'HASH' },
            { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
          ],
        }),
      ],
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true })],
    });
    template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' });
  });
});

describe('queues', () => {
  it('gives every work queue a dead-letter queue with the topology maxReceiveCount', () => {
    for (const spec of Object.values(QUEUES)) {
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: spec.maxReceiveCount },
        VisibilityTimeout: spec.timeoutSeconds * 6,
      });
    }
    expect(Object.keys(template.findResources('AWS::SQS::Queue'))).toHaveLength(Object.keys(QUEUES).length * 2);
  });

  it('encrypts every queue and refuses non-TLS requests', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    for (const q of Object.values(queues)) expect((q as { Properties: { SqsManagedSseEnabled?: boolean } }).Properties.SqsManagedSseEnabled).toBe(true);
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(Object.keys(queues).length);
    for (const p of policies) {
      expect(JSON.stringify(p)).toContain('"aws:SecureTransport":"false"');
    }
  });

  it('wires each worker to its queue with partial batch failure reporting', () => {
    for (const spec of Object.values(QUEUES)) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        BatchSize: spec.batchSize,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    }
    expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(Object.keys(QUEUES).length);
  });
});

describe('functions and IAM', () => {
  it('runs every function on Node 24, arm64, with its own log group', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: Record<string, unknown> }[];
    // One more: the realtime inbox socket's (topology SOCKET).
    expect(fns.length).toBe(API_GROUPS.length + Object.keys(QUEUES).length + SCHEDULED.length + 1);
    for (const fn of fns) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], LoggingConfig: { LogGroup: expect.anything() } });
    }
  });

  it('grants each function exactly the table actions its topology entry lists, on the table and gsi1, never index/*', () => {
    const t = template;
    const expected: Record<string, readonly string[]> = {
      ...Object.fromEntries(API_GROUPS.map((g) => [functionIds.api(g.module), g.table])),
      ...Object.fromEntries(Object.values(QUEUES).map((q) => [functionIds.worker(q.worker), q.table])),
      ...Object.fromEntries(SCHEDULED.map((w) => [functionIds.scheduled(w.worker), w.table])),
      [functionIds.socket(SOCKET.name)]: SOCKET.table,
    };
    for (const [name, fn] of Object.entries(stack.functions)) {
      const own = statementsOf(t, stack.getLogicalId(fn.fn.role!.node.defaultChild as never)).filter((x) =>
        [x.Action].flat().some((a) => a.startsWith('dynamodb:')),
      );
      const actions = own.flatMap((x) => [x.Action].flat()).sort();
      expect({ name, actions }).toEqual({ name, actions: expected[name].map((a) => `dynamodb:${a}`).sort() });
      for (const x of own) {
        expect(JSON.stringify(x.Resource)).not.toContain('index/*');
        expect(JSON.stringify(x.Resource)).toContain('/index/gsi1');
      }
    }
  });

  it('lets the workers poll their queue with exactly what the SQS event source needs', () => {
    const polling = statements().filter((x) => x.Sid === EVENT_SOURCE_SID);
    expect(polling).toHaveLength(Object.keys(QUEUES).length);
    for (const x of polling) expect([x.Action].flat().sort()).toEqual([...EVENT_SOURCE_ACTIONS].sort());
    const sends = statements().filter((x) => [x.Action].flat().some((a) => a.startsWith('sqs:')) && x.Sid !== EVENT_SOURCE_SID);
    for (const x of sends) expect(x.Action).toBe('sqs:SendMessage');
  });

  it('has no statement on Resource "*" except SMS publishing (acknowledged in lib/nag.ts), and no managed policies', () => {
    for (const s of statements().filter((x) => [x.Resource].flat().includes('*'))) {
      expect(s).toMatchObject({ Sid: SMS_PUBLISH_SID, Action: 'sns:Publish' });
    }
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect((role as { Properties: { ManagedPolicyArns?: unknown } }).Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('runs the sweeper every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
  });

  it('lets only the workers that enqueue send to queues', () => {
    const sends = statements().filter((s) => [s.Action].flat().includes('sqs:SendMessage'));
    const senders =
      Object.values(QUEUES).reduce((n, q) => n + q.sendsTo.length, 0) +
      API_GROUPS.reduce((n, g) => n + (g.queues?.length ?? 0), 0) +
      SCHEDULED.reduce((n, w) => n + w.sendsTo.length, 0);
    expect(sends).toHaveLength(senders);
  });

  it('keeps the health function away from the table', () => {
    const fns = template.findResources('AWS::Lambda::Function');
    const [healthId] = Object.entries(fns).find(([id]) => id.startsWith('Apihealth'))!;
    const healthRole = (fns[healthId] as { Properties: { Role: { 'Fn::GetAtt': string[] } } }).Properties.Role['Fn::GetAtt'][0];
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as { Properties: { Roles: { Ref: string }[]; PolicyDocument: unknown } }[];
    const own = policies.filter((p) => p.Properties.Roles.some((r) => r.Ref === healthRole));
    expect(JSON.stringify(own)).not.toContain('dynamodb:');
  });
});

describe('HTTP API', () => {
  it('routes every resource group to its function and GET /health without an authorizer', () => {
    for (const group of API_GROUPS) {
      for (const segment of group.segments) {
        if (group.public) template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `GET /${segment}` });
        else {
          template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `ANY /${segment}` });
          template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: `ANY /${segment}/{proxy+}` });
        }
      }
    }
  });

  it('logs access on the $default stage and throttles it', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      DefaultRouteSettings: { ThrottlingBurstLimit: 2000, ThrottlingRateLimit: 1000 },
    });
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('passes with every acknowledgement carrying a reason', () => {
    const { app } = buildApp(noBundling);
    expect(() => app.synth()).not.toThrow();
  });

  it('fails synth on a finding nobody acknowledged (the check is live)', () => {
    const { app, stack } = buildApp(noBundling);
    new Queue(stack, 'PlainQueue');
    const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
    log.mockRestore();
    warn.mockRestore();
  });
});

describe('workspace settings', () => {
  const functionsEnv = (t: Template) =>
    Object.values(t.findResources('AWS::Lambda::Function')).map(
      (f) => (f as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables,
    );

  it('reach every function as environment, from -c settings', () => {
    const { stack } = buildApp({ context: { ...noBundling.context, settings: '{"MESSAGE_RETENTION_DAYS":"90","AUTO_INFER_TENANT_CONTEXT":"false"}' } });
    const envs = functionsEnv(Template.fromStack(stack));
    expect(envs.length).toBeGreaterThan(API_GROUPS.length);
    for (const env of envs) expect(env).toMatchObject({ MESSAGE_RETENTION_DAYS: '90', AUTO_INFER_TENANT_CONTEXT: 'false' });
    expect(functionsEnv(template).some((env) => 'MESSAGE_RETENTION_DAYS' in env)).toBe(false);
  });

  it.each([
    ['http', { 'Fn::GetAtt': [expect.stringMatching(/^ApiHttp/), 'ApiEndpoint'] }],
    [
      'rest',
      {
        'Fn::Join': [
          '',
          ['https://', { Ref: expect.stringMatching(/^ApiRest/) }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/prod'],
        ],
      },
    ],
  ])('give the functions that send the %s API’s URL as API_URL (tracking links, D22), and only them', (api, url) => {
    const { stack } = buildApp({ context: { ...noBundling.context, api } });
    const t = Template.fromStack(stack);
    for (const [name, fn] of Object.entries(stack.functions)) {
      const env = (t.toJSON().Resources[stack.getLogicalId(fn.fn.node.defaultChild as never)].Properties.Environment.Variables ?? {}) as Record<
        string,
        unknown
      >;
      if (['Api-send', 'Worker-deliver'].includes(name)) expect({ name, url: env.API_URL }).toEqual({ name, url });
      else expect({ name, url: env.API_URL }).toEqual({ name, url: undefined });
    }
  });

  it('give API_URL from the settings (a custom domain) instead of the API’s own', () => {
    const { stack } = buildApp({ context: { ...noBundling.context, settings: '{"API_URL":"https://notify.acme.test"}' } });
    for (const env of functionsEnv(Template.fromStack(stack))) expect(env.API_URL).toBe('https://notify.acme.test');
  });

  it.each([
    ['an unknown name', '{"MESSAGE_RETENTION":"90"}', /unknown MESSAGE_RETENTION/],
    ['a setting the stack owns', '{"TABLE_NAME":"x"}', /unknown TABLE_NAME/],
    ['a bad value', '{"MESSAGE_RETENTION_DAYS":"0"}', /MESSAGE_RETENTION_DAYS/],
    ['not an object', '[1]', /expected a JSON object/],
    [
      'a secret (it would be in the template)',
      `{"USER_TOKEN_SECRET":"${'s'.repeat(40)}"}`,
      /USER_TOKEN_SECRET would be written into the template.*USER_TOKEN_SECRET_PARAMETER/,
    ],
  ])('fail the synth on %s', (_name, settings, error) => {
    expect(() => buildApp({ context: { ...noBundling.context, settings } })).toThrow(error);
  });

  it('USER_TOKEN_SECRET_PARAMETER lets only the token and tracking functions (and users: device tokens by user token) read that one SSM parameter', () => {
    const { stack } = buildApp({ context: { ...noBundling.context, settings: '{"USER_TOKEN_SECRET_PARAMETER":"/notifications/token-secret"}' } });
    const t = Template.fromStack(stack);
    for (const [name, fn] of Object.entries(stack.functions)) {
      const own = statementsOf(t, stack.getLogicalId(fn.fn.role!.node.defaultChild as never)).filter((x) =>
        [x.Action].flat().some((a) => a.startsWith('ssm:')),
      );
      // The token functions (the socket's verifies them at $connect; users' for device tokens by user token), and since D22 those that sign or verify tracking links (a key derived from the same secret).
      const expected = ['Api-auth', 'Api-inbox', 'Api-client', 'Api-users', 'Api-send', 'Api-tracking', 'Worker-deliver', 'Socket-inbox'].includes(name)
        ? 1
        : 0;
      expect({ name, statements: own.length }).toEqual({ name, statements: expected });
      for (const x of own) {
        expect(x.Action).toBe('ssm:GetParameter');
        expect(JSON.stringify(x.Resource)).toContain(':parameter/notifications/token-secret');
      }
    }
  });
});
