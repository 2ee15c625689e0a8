import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Courier from '@trycourier/courier';

/**
 * Issue 14: every method of the official SDK has an integration test that calls it through the
 * SDK against the local stack. Like the auth matrix reads the routers, this reads the SDK: it walks
 * a client's resources and sub-resources for their methods, so a new SDK version's methods show up
 * here as failures, and looks for each method's call (`.<resource>.<method>(`, as `s.client.` calls
 * it) in the integration tests' source.
 *
 * PENDING lists the methods with no such test yet, each with why. A method listed there that has
 * a test fails too: the list only shrinks.
 */
const PENDING: Record<string, string> = {};

interface Resource {
  _client?: unknown;
  [key: string]: unknown;
}

/** Every method of the client's resources, as `resource.sub.method`. */
function sdkMethods(): string[] {
  const client = new Courier({ apiKey: 'unused', baseURL: 'http://127.0.0.1:9' }) as unknown as Record<string, unknown>;
  const out: string[] = [];
  const isResource = (v: unknown): v is Resource => typeof v === 'object' && v !== null && '_client' in v;
  const walk = (resource: Resource, at: string) => {
    for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(resource)))
      if (name !== 'constructor' && !name.startsWith('_') && typeof resource[name] === 'function') out.push(`${at}.${name}`);
    for (const [key, value] of Object.entries(resource)) if (!key.startsWith('_') && isResource(value)) walk(value, `${at}.${key}`);
  };
  for (const [key, value] of Object.entries(client)) if (!key.startsWith('_') && isResource(value)) walk(value, key);
  return out.sort();
}

function integrationSources(): string {
  const dir = __dirname;
  const files: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.name.endsWith('.ts') && p !== __filename) files.push(p);
    }
  };
  visit(dir);
  return files.map((f) => readFileSync(f, 'utf8')).join('\n');
}

describe('the official SDK', () => {
  const methods = sdkMethods();
  const sources = integrationSources();
  const called = (m: string) => new RegExp(`\\.${m.replace(/\./g, '\\.')}\\(`).test(sources);

  it('is the version whose methods this list was made from (103 of them)', () => {
    expect(methods.length).toBe(103);
  });

  it('has every method called by an integration test, except those pending', () => {
    expect(methods.filter((m) => !called(m) && !(m in PENDING))).toEqual([]);
  });

  it('has no pending method that is tested already, or that the SDK does not have', () => {
    expect(Object.keys(PENDING).filter((m) => called(m) || !methods.includes(m))).toEqual([]);
  });
});
