/**
 * Smoke test of a running stack: `npm run smoke -- --url <ApiUrl> --key <api key> [--webhook <url>] [--timeout <seconds>]`.
 *
 * Run it right after `cdk deploy` (the stack's `ApiUrl` output) or against `npm start`
 * (`--url http://127.0.0.1:3000 --key local-dev-key`). Over plain HTTP only, it checks that the URL
 * answers (`GET /health`) and the key is accepted, creates a throw-away tenant, user profile and
 * membership (ids `smoke-…`), sends them one message to the inbox (and to `--webhook` when given,
 * through the profile's `webhook.url`), waits up to `--timeout` seconds (default 60) for it to end
 * DELIVERED or SENT, checks its history shows every requested channel delivered, then deletes the
 * membership, tenant and profile again (also after a failure, best effort). The message log and
 * the user's inbox item stay: the API has no route to delete them.
 *
 * Prints one line per step (✓/✗, milliseconds, ids) and exits 0 when every step passed; at the first
 * failure it says what is wrong and exits 1; a bad command line prints the usage and exits 2.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

const usage = 'usage: npm run smoke -- --url <ApiUrl> --key <api key> [--webhook <http(s) url>] [--timeout <seconds, default 60>]';
const SUCCESS = ['DELIVERED', 'SENT'];
const TERMINAL = [...SUCCESS, 'FILTERED', 'UNROUTABLE', 'UNDELIVERABLE', 'UNMAPPED', 'CANCELED'];
const REQUEST_TIMEOUT_MS = 15_000;

/** A step that failed, with the plain sentence to show the user. */
class Failure extends Error {}

interface Options {
  url: string;
  key: string;
  webhook?: string;
  timeoutS: number;
}

/** The options, or undefined for a bad command line. */
function options(argv: string[]): Options | undefined {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { url: { type: 'string' }, key: { type: 'string' }, webhook: { type: 'string' }, timeout: { type: 'string' } },
    }));
  } catch {
    return undefined;
  }
  const { url, key, webhook, timeout = '60' } = values;
  const isHttp = (u: string) => URL.canParse(u) && ['http:', 'https:'].includes(new URL(u).protocol);
  const timeoutS = Number(timeout);
  if (!url || !key || !isHttp(url) || (webhook !== undefined && !isHttp(webhook)) || !(timeoutS > 0)) return undefined;
  return { url: url.replace(/\/+$/, ''), key, webhook, timeoutS };
}

/** Why fetch failed, as the system said it (`connect ECONNREFUSED 127.0.0.1:9`), not "fetch failed". */
function reason(e: unknown): string {
  const err = e as Error & { cause?: Error & { code?: string } };
  if (err.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  return err.cause?.message || err.cause?.code || err.message;
}

function client(o: Options) {
  return async function call(method: string, path: string, body?: unknown, expected: number[] = [200], auth = true): Promise<any> {
    let res: Response;
    try {
      res = await fetch(o.url + path, {
        method,
        headers: { ...(auth ? { authorization: `Bearer ${o.key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (e) {
      throw new Failure(`cannot reach ${o.url}: ${reason(e)}`);
    }
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (expected.includes(res.status)) return json;
    const detail = typeof json?.message === 'string' ? json.message : text.slice(0, 200) || '(empty body)';
    if (res.status === 401 && auth) throw new Failure(`the API key was refused: ${method} ${path} answered 401: ${detail}`);
    throw new Failure(`${method} ${path} answered ${res.status} (expected ${expected.join(' or ')}): ${detail}`);
  };
}

let failure: string | undefined;
let failed = 0;

/** Runs one step and prints its line; a failure is remembered (the first one is what the run reports) and rethrown. */
async function step<T>(name: string, run: () => Promise<T>, describe: (r: T) => string = () => ''): Promise<T> {
  const t0 = performance.now();
  const line = (mark: string, text: string) =>
    console.log(`  ${mark} ${name.padEnd(17)} ${String(Math.round(performance.now() - t0)).padStart(6)} ms  ${text}`.trimEnd());
  try {
    const result = await run();
    line('✓', describe(result));
    return result;
  } catch (e) {
    const message = e instanceof Failure ? e.message : `unexpected error: ${(e as Error).stack ?? e}`;
    line('✗', message);
    failed += 1;
    failure ??= message;
    throw new Failure(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function smoke(o: Options): Promise<void> {
  const call = client(o);
  const suffix = randomBytes(5).toString('hex');
  const tenantId = `smoke-tenant-${suffix}`;
  const userId = `smoke-user-${suffix}`;
  const traceId = `smoke-trace-${suffix}`;
  const channels = o.webhook ? ['inbox', 'webhook'] : ['inbox'];
  const tenantPath = `/tenants/${encodeURIComponent(tenantId)}`;
  const profilePath = `/profiles/${encodeURIComponent(userId)}`;
  const membershipPath = `/users/${encodeURIComponent(userId)}/tenants/${encodeURIComponent(tenantId)}`;
  const created = { tenant: false, profile: false, membership: false };

  console.log(`smoke test of ${o.url}`);
  try {
    await step('health', async () => {
      const health = await call('GET', '/health', undefined, [200], false).catch((e: Failure) => {
        throw e.message.startsWith('cannot reach') ? e : new Failure(`${e.message} (is ${o.url} the stack's ApiUrl?)`);
      });
      if (health?.status !== 'ok') throw new Failure(`GET /health answered 200 but not {"status":"ok"}: is ${o.url} the stack's ApiUrl?`);
    });
    await step(
      'api key',
      () => call('GET', '/tenants?limit=1'),
      () => 'accepted',
    );
    await step(
      'create tenant',
      () => call('PUT', tenantPath, { name: `smoke test ${suffix}` }).then(() => (created.tenant = true)),
      () => tenantId,
    );
    const profile = o.webhook ? { webhook: { url: o.webhook } } : {};
    await step(
      'create profile',
      () => call('PUT', profilePath, { profile }).then(() => (created.profile = true)),
      () => userId,
    );
    await step(
      'add membership',
      () => call('PUT', membershipPath, {}, [204]).then(() => (created.membership = true)),
      () => `${userId} in ${tenantId}`,
    );

    const messageId = await step(
      'send',
      async () => {
        const message = {
          to: { user_id: userId, tenant_id: tenantId },
          content: { title: 'Smoke test', body: `Smoke test ${suffix}: you can ignore this message.` },
          routing: { method: 'all', channels },
          metadata: { trace_id: traceId, tags: ['smoke-test'] },
        };
        const res = await call('POST', '/send', { message }, [202]);
        if (typeof res?.requestId !== 'string') throw new Failure(`POST /send answered 202 without a requestId: ${JSON.stringify(res)}`);
        return res.requestId as string; // a single-user send's message id is its request id
      },
      (id) => `message ${id}, trace ${traceId}`,
    );
    const messagePath = `/messages/${encodeURIComponent(messageId)}`;

    const status = await step(
      'delivery',
      async () => {
        const deadline = Date.now() + o.timeoutS * 1000;
        for (;;) {
          const msg = (await call('GET', messagePath)) ?? {};
          if (TERMINAL.includes(msg.status)) {
            if (!SUCCESS.includes(msg.status))
              throw new Failure(`message ${messageId} ended ${msg.status}${msg.reason ? ` (${msg.reason}${msg.error ? `: ${msg.error}` : ''})` : ''}`);
            if (msg.tenant_id !== tenantId)
              throw new Failure(`message ${messageId} is ${msg.status} but in tenant ${msg.tenant_id ?? '(none)'}, not ${tenantId}`);
            return msg.status as string;
          }
          if (Date.now() > deadline) throw new Failure(`message ${messageId} is stuck in status ${msg.status} after ${o.timeoutS} s`);
          await sleep(500);
        }
      },
      (s) => s,
    );

    await step(
      'history',
      async () => {
        const { results } = (await call('GET', `${messagePath}/history`)) as { results: { type: string; channel?: string; error?: string }[] };
        if (!results?.length) throw new Failure(`message ${messageId} is ${status} but GET ${messagePath}/history has no events`);
        for (const channel of channels) {
          if (results.some((e) => e.channel === channel && SUCCESS.includes(e.type))) continue;
          const events = results.filter((e) => e.channel === channel);
          const why = events.findLast((e) => e.error) ?? events.at(-1);
          const what = why ? `${why.type}${why.error ? `: ${why.error}` : ''}` : `no ${channel} event`;
          throw new Failure(`message ${messageId} is ${status} but the ${channel} channel did not deliver (${what})`);
        }
        return results.length;
      },
      (n) => `${n} events; delivered to ${channels.join(' and ')}`,
    );
  } catch {
    // step() printed it and kept the first failure.
  } finally {
    // Also after a failure, best effort: only what this run created, each delete on its own.
    const ignore = () => undefined;
    if (created.membership)
      await step(
        'delete membership',
        () => call('DELETE', membershipPath, undefined, [204]),
        () => `${userId} in ${tenantId}`,
      ).catch(ignore);
    if (created.tenant)
      await step(
        'delete tenant',
        () => call('DELETE', tenantPath, undefined, [204]),
        () => tenantId,
      ).catch(ignore);
    if (created.profile)
      await step(
        'delete profile',
        () => call('DELETE', profilePath, undefined, [204]),
        () => userId,
      ).catch(ignore);
  }
}

const o = options(process.argv.slice(2));
if (!o) {
  console.error(usage);
  process.exit(2);
}
const started = performance.now();
smoke(o).then(
  () => {
    if (failure === undefined) {
      console.log(`smoke test passed in ${Math.round(performance.now() - started)} ms`);
      process.exit(0);
    }
    console.error(`smoke test FAILED: ${failure}${failed > 1 ? ` (${failed - 1} later step${failed > 2 ? 's' : ''} failed too)` : ''}`);
    process.exit(1);
  },
  (e: Error) => {
    console.error(`smoke test FAILED: ${e.stack ?? e}`);
    process.exit(1);
  },
);
