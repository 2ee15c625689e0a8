import type { QueueName } from '../shared/topology';

/**
 * A synthesized CloudFormation template read as the local runner needs it: which logical resource
 * is the table, each queue and each function, and the template's intrinsic functions (`Ref`,
 * `Fn::GetAtt`, `Fn::Join`, ...) resolved to the local stand-ins (the local table, the local
 * queues), so a function can be given exactly the environment and policies the template gives it.
 */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}

/** The template and the logical ids of the resources the local stack stands in for. */
export interface StackDescription {
  stackName: string;
  template: CfnTemplate;
  table: string;
  queues: Record<QueueName, { queue: string; dlq: string }>;
  /** Function id (topology functionIds) -> logical id of its AWS::Lambda::Function. */
  functions: Record<string, string>;
}

interface Physical {
  ref: string;
  attrs: Record<string, string>;
}

/** Resolves intrinsics against physical resources: the local ones, or made-up ones for others. */
export interface Bindings {
  region: string;
  account: string;
  stackName: string;
  physical: Record<string, Physical>;
}

export interface LocalQueue {
  /** The URL the functions are given (and send to). */
  url: string;
  dlqUrl: string;
}

const queuePhysical = (b: Omit<Bindings, 'physical'>, url: string): Physical => {
  const name = url.slice(url.lastIndexOf('/') + 1);
  return { ref: url, attrs: { Arn: `arn:aws:sqs:${b.region}:${b.account}:${name}`, QueueName: name, QueueUrl: url } };
};

/**
 * Binds a stack description to the local table and queues. Other resources get stand-in names
 * (their logical id) and ARNs in the local region and account, so policies that name them resolve.
 */
export function bindLocal(d: StackDescription, local: { region: string; account: string; tableName: string; queues: Record<QueueName, LocalQueue> }): Bindings {
  const base = { region: local.region, account: local.account, stackName: d.stackName };
  const physical: Record<string, Physical> = {};
  for (const [id, r] of Object.entries(d.template.Resources)) {
    const service = r.Type.split('::')[1]?.toLowerCase() ?? 'unknown';
    physical[id] = { ref: id, attrs: { Arn: `arn:aws:${service}:${local.region}:${local.account}:${id}` } };
    if (r.Type === 'AWS::IAM::Role') physical[id].attrs.Arn = `arn:aws:iam::${local.account}:role/${id}`;
    if (r.Type === 'AWS::Logs::LogGroup') physical[id] = { ref: id, attrs: { Arn: `arn:aws:logs:${local.region}:${local.account}:log-group:${id}:*` } };
    // The HTTP API's endpoint (API_URL of the functions that send); the local runner gives them its own URL instead.
    if (r.Type === 'AWS::ApiGatewayV2::Api') physical[id].attrs.ApiEndpoint = `https://${id}.execute-api.${local.region}.amazonaws.com`;
    // The WebSocket API: the local socket server stands in for it, under its own id (the management API's ARNs name it).
    if (r.Type === 'AWS::ApiGatewayV2::Api' && props(r).ProtocolType === 'WEBSOCKET')
      physical[id] = { ref: LOCAL_SOCKET_API_ID, attrs: { ApiEndpoint: `wss://${LOCAL_SOCKET_API_ID}.execute-api.${local.region}.amazonaws.com` } };
    if (r.Type === 'AWS::SNS::Topic')
      physical[id] = { ref: `arn:aws:sns:${local.region}:${local.account}:${id}`, attrs: { TopicArn: `arn:aws:sns:${local.region}:${local.account}:${id}` } };
  }
  physical[d.table] = { ref: local.tableName, attrs: { Arn: `arn:aws:dynamodb:${local.region}:${local.account}:table/${local.tableName}` } };
  for (const [name, ids] of Object.entries(d.queues) as [QueueName, { queue: string; dlq: string }][]) {
    physical[ids.queue] = queuePhysical(base, local.queues[name].url);
    physical[ids.dlq] = queuePhysical(base, local.queues[name].dlqUrl);
  }
  return { ...base, physical };
}

const PSEUDO: Record<string, (b: Bindings) => string> = {
  'AWS::Partition': () => 'aws',
  'AWS::Region': (b) => b.region,
  'AWS::AccountId': (b) => b.account,
  'AWS::URLSuffix': () => 'amazonaws.com',
  'AWS::StackName': (b) => b.stackName,
  'AWS::NoValue': () => '',
};

/** Resolves `Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::Select`, `Fn::Split` everywhere in `value`. */
export function resolve(value: unknown, b: Bindings): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, b));
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const [k] = keys;
    const arg = o[k];
    if (k === 'Ref') {
      const name = arg as string;
      if (PSEUDO[name]) return PSEUDO[name](b);
      const p = b.physical[name];
      if (!p) throw new Error(`Ref to unknown resource ${name}`);
      return p.ref;
    }
    if (k === 'Fn::GetAtt') {
      const [id, attr] = (typeof arg === 'string' ? arg.split('.') : arg) as [string, string];
      const p = b.physical[id];
      if (!p || p.attrs[attr] === undefined) throw new Error(`Fn::GetAtt ${id}.${attr} has no local value`);
      return p.attrs[attr];
    }
    if (k === 'Fn::Join') {
      const [sep, parts] = arg as [string, unknown[]];
      return (resolve(parts, b) as unknown[]).join(sep);
    }
    if (k === 'Fn::Select') {
      const [index, list] = arg as [number | string, unknown];
      return (resolve(list, b) as unknown[])[Number(index)];
    }
    if (k === 'Fn::Split') {
      const [sep, text] = arg as [string, unknown];
      return String(resolve(text, b)).split(sep);
    }
    if (k === 'Fn::Sub') {
      const [text, vars] = (typeof arg === 'string' ? [arg, {}] : arg) as [string, Record<string, unknown>];
      return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
        if (name in vars) return String(resolve(vars[name], b));
        const [id, attr] = name.split('.');
        return String(resolve(attr ? { 'Fn::GetAtt': [id, attr] } : { Ref: id }, b));
      });
    }
  }
  return Object.fromEntries(Object.entries(o).map(([key, v]) => [key, resolve(v, b)]));
}

type Res = Record<string, CfnResource>;
/** A resource's properties: the nested ones read here typed, the rest unknown. */
interface CfnProperties {
  Code?: { S3Key?: string };
  Environment?: { Variables?: Record<string, unknown> };
  ScalingConfig?: { MaximumConcurrency?: number };
  [name: string]: unknown;
}
const props = (r: CfnResource) => (r.Properties ?? {}) as CfnProperties;

/** The function id (topology functionIds) whose logical id `value` names (a Ref, GetAtt or Join). */
function functionIn(d: StackDescription, value: unknown): string {
  const text = JSON.stringify(value);
  const hit = Object.entries(d.functions).find(([, logical]) => text.includes(`"${logical}"`));
  if (!hit) throw new Error(`no function of the stack in ${text.slice(0, 200)}`);
  return hit[0];
}

/** How the template configures a function: handler, code asset, environment (unresolved), limits. */
export interface FunctionConfig {
  handler: string;
  /** The asset folder in the cloud assembly, `asset.<hash>`. */
  assetDir: string;
  environment: Record<string, unknown>;
  timeoutSeconds: number;
  memoryMB: number;
  runtime: string;
}

export function functionConfig(d: StackDescription, fn: string): FunctionConfig {
  const p = props(d.template.Resources[d.functions[fn]]);
  const key = String(p.Code?.S3Key ?? '');
  if (!key.endsWith('.zip')) throw new Error(`${fn}: code is not a zip asset (${JSON.stringify(p.Code)})`);
  return {
    handler: String(p.Handler),
    assetDir: `asset.${key.slice(0, -'.zip'.length)}`,
    environment: (p.Environment?.Variables ?? {}) as Record<string, unknown>,
    timeoutSeconds: Number(p.Timeout ?? 3),
    memoryMB: Number(p.MemorySize ?? 128),
    runtime: String(p.Runtime),
  };
}

/** The id the local socket server's WebSocket API has (a template's WebSocket API is bound to it). */
export const LOCAL_SOCKET_API_ID = 'local-socket';

/** Whether a route or stage belongs to the template's WebSocket API (its ApiId names it). */
function ofWebSocketApi(d: StackDescription, r: CfnResource): boolean {
  const api = JSON.stringify(props(r).ApiId);
  return Object.entries(d.template.Resources).some(
    ([id, x]) => x.Type === 'AWS::ApiGatewayV2::Api' && props(x).ProtocolType === 'WEBSOCKET' && api.includes(`"${id}"`),
  );
}

/** The HTTP API's routes: route key and the function its integration invokes. */
export function httpRoutes(d: StackDescription): { routeKey: string; fn: string }[] {
  return apiRoutes(d, false).map(({ routeKey, fn }) => ({ routeKey, fn }));
}

/**
 * The WebSocket API's routes: route key, the function its integration invokes, and whether the
 * function's answer goes back to the client (the route has a route response).
 */
export function socketRoutes(d: StackDescription): { routeKey: string; fn: string; answers: boolean }[] {
  const res: Res = d.template.Resources;
  return apiRoutes(d, true).map(({ id, routeKey, fn }) => ({
    routeKey,
    fn,
    answers: Object.values(res).some((r) => r.Type === 'AWS::ApiGatewayV2::RouteResponse' && JSON.stringify(props(r).RouteId).includes(`"${id}"`)),
  }));
}

function apiRoutes(d: StackDescription, webSocket: boolean): { id: string; routeKey: string; fn: string }[] {
  const res: Res = d.template.Resources;
  return Object.entries(res)
    .filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route' && ofWebSocketApi(d, r) === webSocket)
    .map(([routeId, r]) => {
      const target = JSON.stringify(props(r).Target);
      const integration = Object.keys(res).find((id) => res[id].Type === 'AWS::ApiGatewayV2::Integration' && target.includes(`"${id}"`));
      if (!integration) throw new Error(`route ${props(r).RouteKey} has no integration`);
      return { id: routeId, routeKey: String(props(r).RouteKey), fn: functionIn(d, props(res[integration]).IntegrationUri) };
    });
}

/** The SQS event source mappings: which queue feeds which function, in what batches, how concurrently. */
export function eventSources(d: StackDescription): { queue: QueueName; fn: string; batchSize: number; maxConcurrency: number; reportsFailures: boolean }[] {
  return Object.values(d.template.Resources)
    .filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping')
    .map((r) => {
      const p = props(r);
      const source = JSON.stringify(p.EventSourceArn);
      const queue = (Object.keys(d.queues) as QueueName[]).find((q) => source.includes(`"${d.queues[q].queue}"`));
      if (!queue) throw new Error(`event source ${source} is not a work queue`);
      return {
        queue,
        fn: functionIn(d, p.FunctionName),
        batchSize: Number(p.BatchSize ?? 10),
        maxConcurrency: Number(p.ScalingConfig?.MaximumConcurrency ?? 1000),
        reportsFailures: ((p.FunctionResponseTypes ?? []) as string[]).includes('ReportBatchItemFailures'),
      };
    });
}

/** The EventBridge schedules: which function runs how often. */
export function schedules(d: StackDescription): { fn: string; everyMs: number }[] {
  return Object.values(d.template.Resources)
    .filter((r) => r.Type === 'AWS::Events::Rule' && typeof props(r).ScheduleExpression === 'string')
    .flatMap((r) => {
      const m = /^rate\((\d+) (minute|minutes|hour|hours)\)$/.exec(props(r).ScheduleExpression as string);
      if (!m) throw new Error(`unsupported schedule ${props(r).ScheduleExpression}`);
      const everyMs = Number(m[1]) * (m[2].startsWith('hour') ? 3_600_000 : 60_000);
      return (props(r).Targets as { Arn: unknown }[]).map((t) => ({ fn: functionIn(d, t.Arn), everyMs }));
    });
}
