/**
 * Cross-origin calls (README "Embedding Courier's inbox"): Courier's browser client calls the API
 * from your pages' origin with `Authorization: Bearer <user token>` (never a cookie), so a browser
 * must be allowed to. The CDK app configures API Gateway with these (an HTTP API answers preflights
 * itself and sets the headers on every answer; a REST API answers preflights with a mock
 * integration and the functions set the headers), and the local runner answers as an HTTP API does.
 */

/** Request headers a page may send: what courier-js 3.4.0 sends, and the API's own. */
export const CORS_ALLOW_HEADERS = [
  'authorization',
  'content-type',
  'idempotency-key',
  'x-courier-ua',
  'x-courier-user-id',
  'x-courier-client-key',
  'x-courier-client-source-id',
] as const;

export const CORS_ALLOW_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Seconds a browser may cache a preflight's answer. */
export const CORS_MAX_AGE_SECONDS = 86_400;

/**
 * CORS_ALLOWED_ORIGINS: `*` (any page: the default, safe because every credential is a bearer
 * header a page must already hold), `off` (no page: server-to-server only), or a comma-separated
 * list of origins (`https://app.example.com,https://admin.example.com`). Answers the origins, `[]`
 * for off, or an error naming the entry that is not an origin.
 */
export function parseCorsOrigins(text: string): string[] | string {
  const value = text.trim();
  if (value === '*') return ['*'];
  if (value === 'off' || value === '') return [];
  const origins: string[] = [];
  for (const entry of value.split(',').map((e) => e.trim())) {
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== entry.replace(/\/$/, '')) {
      return `${JSON.stringify(entry)} is not an origin (scheme://host[:port], no path), "*" or "off"`;
    }
    origins.push(url.origin);
  }
  return origins;
}

/** The `access-control-allow-origin` a request from `origin` gets, if it is allowed. */
export function allowedOrigin(origins: string[], origin: string | undefined): string | undefined {
  if (origin === undefined || origins.length === 0) return undefined;
  if (origins.includes('*')) return '*';
  return origins.includes(origin) ? origin : undefined;
}
