/**
 * Which routes record audit events (README "Audit events"): in a group that audits `all`, every
 * non-GET route declares its event; a group that audits some paths declares them on exactly those;
 * no other route (reads, sends, end-user data) declares one. A new admin route without a declaration
 * fails here.
 */
import { API_GROUPS } from '../../lambdas/shared/topology';
import type { Route } from '../../lambdas/shared/router';

const rows = API_GROUPS.filter((g) => !g.public).flatMap((g) =>
  (require(`../../lambdas/http/${g.module}`) as { routes: Route[] }).routes.map((r) => ({ group: g, route: r })),
);

it('declares an audit event on every write of an audited group, and on nothing else', () => {
  const wrong = rows
    .filter(({ group, route }) => {
      const write = route.method !== 'GET';
      const audited = write && (group.audits === 'all' || (Array.isArray(group.audits) && group.audits.includes(route.path)));
      return audited !== (route.auditType !== undefined);
    })
    .map(({ group, route }) => `${group.module}: ${route.method} ${route.path} (${route.auditType ?? 'no audit'})`);
  expect(wrong).toEqual([]);
});

it('names event types <kind>:<verb>, unique per route', () => {
  const types = rows.flatMap(({ route }) => (route.auditType ? [route.auditType] : []));
  expect(types.filter((t) => !/^[a-z-]+(:[a-z-]+)*:(created|updated|deleted|published|restored|added|replaced|archived)$/.test(t))).toEqual([]);
  expect(types.length).toBeGreaterThan(25);
  expect(new Set(types).size).toBe(types.length);
});

it('lists every audited path of a group that audits some', () => {
  for (const g of API_GROUPS.filter((x) => Array.isArray(x.audits))) {
    const paths = rows.filter((r) => r.group === g).map((r) => r.route.path);
    expect((g.audits as string[]).filter((p) => !paths.includes(p))).toEqual([]);
  }
});
