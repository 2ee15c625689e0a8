import { spawn } from 'node:child_process';
import path from 'node:path';

export interface WebhookCall {
  at: number;
  messageId: string;
  /** An outbound webhook event's type, and its message's id and status. */
  event?: { type: string; id?: string; status?: string };
  idempotencyKey: string | null;
  signature: string | null;
}

/**
 * A local webhook endpoint in a child process (see webhook-child.mjs) that records every call and
 * fails the first `failFirst` calls of each message with `failStatus`.
 */
export async function startWebhookServer(opts: { failFirst?: number; failStatus?: number } = {}) {
  const child = spawn(process.execPath, [path.join(__dirname, 'webhook-child.mjs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, FAIL_FIRST: String(opts.failFirst ?? 0), FAIL_STATUS: String(opts.failStatus ?? 503) },
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`webhook server exited with ${code}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  const calls = async (): Promise<WebhookCall[]> => (await fetch(`${base}/calls`)).json() as Promise<WebhookCall[]>;
  return {
    url: `${base}/hook`,
    calls,
    callsFor: async (messageId: string) => (await calls()).filter((c) => c.messageId === messageId),
    close: async () => {
      child.stdin!.end();
      await new Promise((r) => child.once('exit', r));
    },
  };
}
