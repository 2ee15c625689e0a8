import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import type { NotificationsStack } from '../../lib/stack';
import { socketRoutes, type CfnTemplate } from '../../lambdas/local/template';
import { API_GROUPS, functionIds, QUEUES, SOCKET } from '../../lambdas/shared/topology';
import { describeStack } from '../helpers/iam';

/** The realtime inbox socket as deployed (lib/socket.ts): its WebSocket API, routes, stage, grants and outputs. Templates only. */
let stack: NotificationsStack;
let t: Template;
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
let res: Resources;
beforeAll(() => {
  ({ stack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [] } }));
  t = Template.fromStack(stack);
  res = t.toJSON().Resources as Resources;
});

const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
const socketFn = () => functionIds.socket(SOCKET.name);
/** Functions that push (topology `pushes`), and the socket's own (it closes connections). */
const pushers = () => [
  socketFn(),
  ...API_GROUPS.filter((g) => g.pushes).map((g) => functionIds.api(g.module)),
  ...Object.values(QUEUES)
    .filter((q) => 'pushes' in q && q.pushes)
    .map((q) => functionIds.worker(q.worker)),
];

describe('the realtime inbox socket', () => {
  it('is a WebSocket API whose $connect, $disconnect and $default go to the socket function, $default answering the client', () => {
    const apis = Object.entries(res).filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Api' && r.Properties.ProtocolType === 'WEBSOCKET');
    expect(apis).toHaveLength(1);
    expect(apis[0][1].Properties.RouteSelectionExpression).toBe('$request.body.action');
    const d = describeStack(stack, t.toJSON() as CfnTemplate);
    // What the local socket server serves, read from the template as bundles mode reads it.
    expect(socketRoutes(d).sort((a, b) => a.routeKey.localeCompare(b.routeKey))).toEqual(
      [...SOCKET.routes].sort().map((routeKey) => ({ routeKey, fn: socketFn(), answers: routeKey === SOCKET.answering })),
    );
    for (const [, r] of Object.entries(res).filter(([, x]) => x.Type === 'AWS::ApiGatewayV2::Route' && x.Properties.ApiId.Ref === apis[0][0]))
      expect(r.Properties.AuthorizationType ?? 'NONE').toBe('NONE');
  });

  it('deploys its stage automatically, throttled as the API is', () => {
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: logicalId(stack.socket.api) },
      StageName: SOCKET.stage,
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 2000, ThrottlingRateLimit: 1000 },
    });
  });

  it('lets exactly the functions that push manage connections, on this API’s stage’s @connections only, and tells them where', () => {
    const apiId = logicalId(stack.socket.api);
    for (const [name, fn] of Object.entries(stack.functions)) {
      const role = logicalId(fn.fn.role as never);
      const statements = Object.values(res)
        .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles as { Ref: string }[]).some((x) => x.Ref === role))
        .flatMap((r) => r.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((x) => [x.Action].flat().some((a) => a.startsWith('execute-api:')));
      const env = res[logicalId(fn.fn)].Properties.Environment.Variables as Record<string, unknown>;
      if (!pushers().includes(name)) {
        expect({ name, statements, env: env.WEBSOCKET_MANAGEMENT_URL }).toEqual({ name, statements: [], env: undefined });
        continue;
      }
      expect({ name, statements }).toEqual({
        name,
        statements: [
          {
            Action: 'execute-api:ManageConnections',
            Effect: 'Allow',
            Resource: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':execute-api:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':',
                  { Ref: apiId },
                  `/${SOCKET.stage}/*/@connections/*`,
                ],
              ],
            },
          },
        ],
      });
      expect(JSON.stringify(env.WEBSOCKET_MANAGEMENT_URL)).toContain(apiId);
      expect(JSON.stringify(env.WEBSOCKET_MANAGEMENT_URL)).toMatch(/https:\/\/.*execute-api.*\/inbox/);
    }
    expect(pushers().sort()).toEqual(['Api-inbox', 'Api-send', 'Socket-inbox', 'Worker-deliver']);
  });

  it('outputs the socket URL and the apiUrls a page gives courier-js', () => {
    const outputs = t.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(JSON.stringify(outputs.WebSocketUrl.Value)).toContain(logicalId(stack.socket.api));
    expect(JSON.stringify(outputs.WebSocketUrl.Value)).toContain('wss://');
    const urls = JSON.stringify(outputs.ApiUrls.Value);
    for (const part of ['courier', 'rest', 'graphql', '/client/q', 'inbox', '/inbox/graphql', 'webSocket', 'wss://']) expect(urls).toContain(part);
  });
});
