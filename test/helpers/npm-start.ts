import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../lambdas/local/emulators';

/** `npm start` as a person runs it, in its own process group, once it has printed its ready line. */
export interface Started {
  child: ChildProcess;
  url: string;
  dynamoPort: number;
  output: () => string;
}

export async function npmStart(env: Record<string, string>, args: string[] = []): Promise<Started> {
  const port = await freePort();
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
