import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

/**
 * The inbox example's server: your backend's part in a few lines. It serves the page (bundled
 * once with esbuild), and `/config` answers the page's question "who am I?" with a user token it
 * asks the API for with its API key (the key never reaches the browser), and the stack's URLs.
 *
 * The page's query picks the user and tenant (`?user=u-1&tenant=acme`); `?token=` hands the page
 * a token as given (the browser tests use it for expired and forged tokens).
 */
export interface InboxExampleOptions {
  port: number;
  /** The API's base URL (no trailing slash). */
  apiUrl: string;
  /** The realtime socket's URL. */
  webSocketUrl: string;
  apiKey: string;
  /** The user when the page names none. */
  defaultUserId?: string;
}

/** Everything the components call: the inbox, its events, the preference page and the brand. */
export const EXAMPLE_SCOPES = ['inbox:read:messages', 'inbox:write:events', 'read:preferences', 'write:preferences', 'read:brands'];

export async function bundlePage(): Promise<string> {
  const out = await build({
    entryPoints: [path.join(__dirname, 'page.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    minify: true,
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

export async function startInboxExample(o: InboxExampleOptions): Promise<{ url: string; close(): Promise<void> }> {
  const html = readFileSync(path.join(__dirname, 'index.html'));
  const script = Buffer.from(await bundlePage());
  const apiUrls = {
    courier: { rest: o.apiUrl, graphql: `${o.apiUrl}/client/q` },
    inbox: { graphql: `${o.apiUrl}/inbox/graphql`, webSocket: o.webSocketUrl },
  };

  async function config(query: URLSearchParams): Promise<{ status: number; body: unknown }> {
    const userId = query.get('user') ?? o.defaultUserId ?? 'example-user';
    const tenantId = query.get('tenant') ?? undefined;
    const given = query.get('token');
    if (given) return { status: 200, body: { userId, tenantId, jwt: given, apiUrls } };
    const scope = [`user_id:${userId}`, ...(tenantId ? [`tenant_id:${tenantId}`] : []), ...EXAMPLE_SCOPES].join(' ');
    const res = await fetch(`${o.apiUrl}/auth/issue-token`, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ scope, expires_in: '1 day' }),
    });
    if (!res.ok) return { status: 502, body: { message: `issue-token answered ${res.status}: ${await res.text()}` } };
    const { token } = (await res.json()) as { token: string };
    return { status: 200, body: { userId, tenantId, jwt: token, apiUrls } };
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://example');
    const send = (status: number, type: string, body: Buffer | string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (url.pathname === '/' || url.pathname === '/index.html') return send(200, 'text/html; charset=utf-8', html);
    if (url.pathname === '/page.js') return send(200, 'text/javascript; charset=utf-8', script);
    if (url.pathname === '/config')
      return void config(url.searchParams).then(
        (c) => send(c.status, 'application/json', JSON.stringify(c.body)),
        (e: unknown) => send(502, 'application/json', JSON.stringify({ message: (e as Error).message })),
      );
    if (url.pathname === '/favicon.ico') return send(204, 'image/x-icon', '');
    send(404, 'text/plain', 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
