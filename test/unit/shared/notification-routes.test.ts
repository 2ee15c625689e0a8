/**
 * The notifications group's routes against the router (a `:param` is one segment; routes are
 * tried segment by segment, a literal first): each path reaches its own route, and the checks
 * route, with two parameters side by side, neither swallows nor is swallowed by the others.
 */
import { routes } from '../../../lambdas/http/notifications';
import { createRouter } from '../../../lambdas/shared/router';

const router = createRouter(routes);
const match = (method: string, path: string) => {
  const m = router.match(method, path);
  return [m.route.path, m.params];
};

describe('notifications routes', () => {
  it.each<[string, string, string, Record<string, string>]>([
    ['GET', '/notifications/t1', '/notifications/:id', { id: 't1' }],
    ['PUT', '/notifications/t1', '/notifications/:id', { id: 't1' }],
    ['DELETE', '/notifications/t1', '/notifications/:id', { id: 't1' }],
    ['GET', '/notifications/t1/content', '/notifications/:id/content', { id: 't1' }],
    ['PUT', '/notifications/t1/content', '/notifications/:id/content', { id: 't1' }],
    ['PUT', '/notifications/t1/elements/e1', '/notifications/:id/elements/:element_id', { id: 't1', element_id: 'e1' }],
    ['PUT', '/notifications/t1/locales/fr_FR', '/notifications/:id/locales/:locale_id', { id: 't1', locale_id: 'fr_FR' }],
    ['GET', '/notifications/t1/s1/checks', '/notifications/:id/:submission_id/checks', { id: 't1', submission_id: 's1' }],
    ['PUT', '/notifications/t1/s1/checks', '/notifications/:id/:submission_id/checks', { id: 't1', submission_id: 's1' }],
    // A template's checks path is never the template itself (a DELETE there does not archive it).
    ['DELETE', '/notifications/t1/s1/checks', '/notifications/:id/:submission_id/checks', { id: 't1', submission_id: 's1' }],
    ['GET', '/notifications/t1/versions', '/notifications/:id/versions', { id: 't1' }],
    ['POST', '/notifications/t1/publish', '/notifications/:id/publish', { id: 't1' }],
    // A submission called "content" is a submission, not the content route.
    ['GET', '/notifications/t1/content/checks', '/notifications/:id/:submission_id/checks', { id: 't1', submission_id: 'content' }],
  ])('%s %s reaches %s', (method, path, route, params) => {
    expect(match(method, path)).toEqual([route, params]);
  });

  it('serves no template id holding a slash (API Gateway decodes %2F): a template id is one segment', () => {
    expect(() => router.match('GET', '/notifications/a/b')).toThrow(/No route/);
    expect(() => router.match('PUT', '/notifications/a/b/elements/e1')).toThrow(/No route/);
  });

  it('answers 405 for a method a path has no route for', () => {
    expect(() => router.match('POST', '/notifications/t1/content')).toThrow(/POST/);
    expect(() => router.match('POST', '/notifications/t1/s1/checks')).toThrow(/POST/);
  });
});
