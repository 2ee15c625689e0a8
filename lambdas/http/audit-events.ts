import { apiHandler } from '../shared/api';
import { NotFoundError } from '../shared/errors';
import { ok, route } from '../shared/router';
import { getAuditEvent, listAuditEvents } from '../store/audit-events';
import { CLASSIC_PAGE_SIZE, classicPage, cursorQuery } from './paging';

/** The audit events admin writes record (README "Audit events"): newest first with a cursor, and one by id. */
export const routes = [
  route({
    method: 'GET',
    path: '/audit-events',
    query: cursorQuery,
    handler: async ({ query }) => {
      const page = await listAuditEvents(CLASSIC_PAGE_SIZE, query.cursor);
      return ok(classicPage('results', page.items, page.cursor));
    },
  }),
  route({
    method: 'GET',
    path: '/audit-events/:audit_event_id',
    handler: async ({ params }) => {
      const event = await getAuditEvent(params.audit_event_id);
      if (!event) throw new NotFoundError(`Audit event ${params.audit_event_id} not found`);
      return ok(event);
    },
  }),
];

export const handler = apiHandler(routes);
