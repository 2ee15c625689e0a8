import { NotFoundError } from '../shared/errors';
import { noContent, ok, route, type Route } from '../shared/router';
import type { Documents, StoredDoc } from '../store/documents';
import { CLASSIC_PAGE_SIZE, classicPage, cursorQuery } from './paging';

/**
 * The read, delete and list routes of a workspace document collection (brands, providers,
 * subscription topics), which differ only in names: `GET <path>/:<param>` (404 naming the `noun`),
 * `DELETE <path>/:<param>` (204, also when absent; audited as `<kind>:deleted` of `<kind>:<id>`),
 * `GET <path>` (a page of `results` and a cursor). Creating and changing stay with each collection:
 * their bodies and rules differ.
 */
export function documentRoutes<T, V>(o: {
  path: string;
  param: string;
  noun: string;
  /** The kind of audit event targets, e.g. `brand`. */
  kind: string;
  store: Documents<T>;
  describe: (d: StoredDoc<T>) => V;
}): Route[] {
  const one = `${o.path}/:${o.param}`;
  return [
    route({
      method: 'GET',
      path: one,
      handler: async ({ params }) => {
        const id = params[o.param];
        const found = await o.store.get(id);
        if (!found) throw new NotFoundError(`${o.noun} ${id} not found`);
        return ok(o.describe(found));
      },
    }),
    route({
      method: 'DELETE',
      path: one,
      audit: { type: `${o.kind}:deleted`, target: ({ params }) => `${o.kind}:${params[o.param]}` },
      handler: async ({ params }) => {
        await o.store.delete(params[o.param]);
        return noContent();
      },
    }),
    route({
      method: 'GET',
      path: o.path,
      query: cursorQuery,
      handler: async ({ query }) => {
        const page = await o.store.list(CLASSIC_PAGE_SIZE, query.cursor);
        return ok(classicPage('results', page.items.map(o.describe), page.cursor));
      },
    }),
  ];
}
