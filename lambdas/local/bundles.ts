import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { QueueName } from '../shared/topology';
import type { AwsGateway } from './gateway';
import { stopChild } from './emulators';
import { bindLocal, functionConfig, resolve, type StackDescription } from './template';

/**
 * The shipped bundles as Lambda runs them: each function of a synthesized cloud assembly in its own
 * process (lambda-runtime.mjs), loading the asset folder's file and export named by the template's
 * `Handler`, with exactly the environment variables the template gives it (its `Ref`s and `GetAtt`s
 * resolved to the local table and queues) plus only what the Lambda runtime itself sets: region,
 * function name and memory, and credentials, which here are the function's id so the AWS gateway
 * (gateway.ts) knows who called. The AWS endpoints point at that gateway.
 */
export interface BundledFunction {
  name: string;
  invoke(event: unknown): Promise<unknown>;
  /** What the function printed (its JSON logs), most recent last, at most the last 2,000 lines. */
  logs(): string[];
  stop(): Promise<void>;
}

export interface BundlesOptions {
  assemblyDir: string;
  description: StackDescription;
  region: string;
  account: string;
  tableName: string;
  /** The emulator's queue URLs; functions get the gateway's URL for each. */
  queues: Record<QueueName, { url: string; dlqUrl: string }>;
  gateway: AwsGateway;
  /** The local API's URL: a function the template gives the API's URL (API_URL) gets this one instead. */
  apiUrl: string;
  /** The socket's management API as the functions reach it (through the gateway): replaces the template's WEBSOCKET_MANAGEMENT_URL. */
  socketManagementUrl: string;
  /** A folder inside the project, so bundles resolve the AWS SDK (external, as on Lambda) from node_modules. */
  workDir: string;
}

const RUNTIME = path.join(__dirname, 'lambda-runtime.mjs');
const LOG_LINES = 2000;

/** The environment Lambda's Node.js runtime gives every function (reserved variables), for `fn`. */
function runtimeEnvironment(fn: string, o: BundlesOptions, memoryMB: number, codeDir: string, handler: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    AWS_REGION: o.region,
    AWS_DEFAULT_REGION: o.region,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: fn,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMB),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'local',
    LAMBDA_TASK_ROOT: codeDir,
    _HANDLER: handler,
    // The role's temporary credentials, on AWS; here the function's id, for the gateway.
    AWS_ACCESS_KEY_ID: fn,
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: 'local',
    // The local stand-in for AWS's network: every SDK call goes to the recording gateway.
    AWS_ENDPOINT_URL_DYNAMODB: o.gateway.url,
    AWS_ENDPOINT_URL_SQS: o.gateway.url,
    AWS_ENDPOINT_URL_SESV2: o.gateway.url,
    AWS_ENDPOINT_URL_SNS: o.gateway.url,
    // Lambda runs Node 24 here where the machine has 20: the SDK's Node version notice is noise.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

async function startFunction(fn: string, o: BundlesOptions, env: Record<string, unknown>): Promise<BundledFunction> {
  const cfg = functionConfig(o.description, fn);
  const source = path.join(o.assemblyDir, cfg.assetDir);
  if (!existsSync(source)) throw new Error(`${fn}: no asset folder ${cfg.assetDir} in ${o.assemblyDir}`);
  const codeDir = path.join(o.workDir, cfg.assetDir);
  mkdirSync(o.workDir, { recursive: true });
  cpSync(source, codeDir, { recursive: true });
  const environment = { ...(env as Record<string, string>), ...runtimeEnvironment(fn, o, cfg.memoryMB, codeDir, cfg.handler) };
  const child: ChildProcess = fork(RUNTIME, [codeDir, cfg.handler], { env: environment, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
  const lines: string[] = [];
  const keep = (d: Buffer) => {
    lines.push(...d.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > LOG_LINES) lines.splice(0, lines.length - LOG_LINES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  const pending = new Map<string, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  await new Promise<void>((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`${fn} exited with ${code} while loading: ${lines.slice(-20).join('\n')}`)));
    child.on('message', (m: { type: string; error?: string }) => {
      if (m.type === 'ready') ready();
      if (m.type === 'init-error') fail(new Error(`${fn} failed to load its bundle: ${m.error}`));
    });
  });
  child.on('message', (m: { type: string; id: string; result?: unknown; error?: { name: string; message: string; stack: string } }) => {
    if (m.type !== 'result') return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.error) p.reject(Object.assign(new Error(`${fn}: ${m.error.message}`), { name: m.error.name, stack: m.error.stack }));
    else p.resolve(m.result);
  });
  child.on('exit', (code) => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`${fn} exited with ${code} during an invocation`));
      pending.delete(id);
    }
  });

  return {
    name: fn,
    logs: () => [...lines],
    invoke(event) {
      const id = randomUUID();
      return new Promise((res, rej) => {
        // Lambda stops an invocation at the function's timeout.
        const timer = setTimeout(() => {
          pending.delete(id);
          rej(new Error(`${fn}: Task timed out after ${cfg.timeoutSeconds} seconds`));
        }, cfg.timeoutSeconds * 1000);
        pending.set(id, { resolve: res, reject: rej, timer });
        child.send({
          type: 'invoke',
          id,
          event,
          timeoutMs: cfg.timeoutSeconds * 1000,
          requestId: id,
          functionArn: `arn:aws:lambda:${o.region}:${o.account}:function:${fn}`,
        });
      });
    },
    stop: () => stopChild(child),
  };
}

/** Starts every function of the description from its bundle; all or nothing. */
export async function startBundledFunctions(o: BundlesOptions): Promise<Record<string, BundledFunction>> {
  const asSeenByFunctions = Object.fromEntries(
    (Object.keys(o.queues) as QueueName[]).map((q) => [q, { url: o.gateway.queueUrl(o.queues[q].url), dlqUrl: o.gateway.queueUrl(o.queues[q].dlqUrl) }]),
  ) as Record<QueueName, { url: string; dlqUrl: string }>;
  const bindings = bindLocal(o.description, { region: o.region, account: o.account, tableName: o.tableName, queues: asSeenByFunctions });
  const started: BundledFunction[] = [];
  try {
    for (const fn of Object.keys(o.description.functions)) {
      const env = resolve(functionConfig(o.description, fn).environment, bindings) as Record<string, unknown>;
      if (env.API_URL !== undefined) env.API_URL = o.apiUrl;
      if (env.WEBSOCKET_MANAGEMENT_URL !== undefined) env.WEBSOCKET_MANAGEMENT_URL = o.socketManagementUrl;
      started.push(await startFunction(fn, o, env));
    }
  } catch (e) {
    await Promise.all(started.map((f) => f.stop()));
    throw e;
  }
  return Object.fromEntries(started.map((f) => [f.name, f]));
}
