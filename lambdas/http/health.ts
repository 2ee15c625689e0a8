import { apiHandler } from '../shared/api';
import { route } from '../shared/router';

/** `GET /health`: answers without an API key and without touching the table. */
export const handler = apiHandler([route({ method: 'GET', path: '/health', handler: async () => ({ status: 200, body: { status: 'ok' } }) })], {
  auth: 'none',
});
