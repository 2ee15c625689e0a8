import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import net from 'node:net';

/** `npm start` as a person runs it, in its own process group, once it has printed its ready line. */
export interface Started {
  child: ChildProcess;
  url: string;
  dynamoPort: number;
  output: () => string;
}

const canListen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/**
 * A base port whose next two are free too (`npm start` serves the socket on PORT + 1 and the example
 * page on PORT + 2), below Linux's ephemeral range (32768 and up): a port the system picks for another
 * process's listener or outgoing connection (the emulators, the other test worker) can never land
 * there between this check and `npm start` binding it, as it could right after a free ephemeral port.
 */
async function freePortRun(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await canListen(base)) && (await canListen(base + 1)) && (await canListen(base + 2))) return base;
  }
  throw new Error('no three free consecutive ports in 20000-32000');
}

export async function npmStart(env: Record<string, string>, args: string[] = []): Promise<Started> {
  const port = await freePortRun();
  const child = spawn('npm', ['start', '--silent', '--', ...args], {
    cwd: path.resolve(__dirname, '../..'),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORT: String(port), ...env },
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 60 s:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d;
      const m = /ready (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${out}`)));
  });
  const dynamoPort = Number(/dynamodb http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
  return { child, url, dynamoPort, output: () => out };
}
