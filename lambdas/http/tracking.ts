import { z } from 'zod';
import { verifyTracking, type TrackingPayload } from '../domain/tracking';
import { apiHandler } from '../shared/api';
import { NotFoundError } from '../shared/errors';
import { route, type Reply } from '../shared/router';
import { trackingKey } from '../shared/tokens';
import { recordEngagement } from '../services/tracking';

/**
 * Our own open and click tracking (docs/decisions.md D22, README "Open and click tracking"): public
 * links, no API key. A token that does not verify (forged, altered, not a token) is a 404 and
 * changes nothing; a valid one is applied to its message (OPENED, CLICKED) through the status
 * machine, once, and the recipient is answered whatever became of that (an unknown message, a
 * lost race, a failed write: logged).
 */

/** A transparent 1x1 GIF. */
const PIXEL = 'R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7';
const NO_CACHE = { 'cache-control': 'no-store, no-cache, must-revalidate, max-age=0', pragma: 'no-cache', expires: '0' };

/** Any text: what is not a token is a 404 (verifyTracking), never a 400 that would tell a token's shape. */
const tokenParams = z.object({ token: z.string() });

async function verified<K extends TrackingPayload['kind']>(token: string, kind: K): Promise<Extract<TrackingPayload, { kind: K }>> {
  const key = await trackingKey(false);
  const payload = key && verifyTracking(key, token);
  if (!payload || payload.kind !== kind) throw new NotFoundError('Tracking link not found');
  return payload as Extract<TrackingPayload, { kind: K }>;
}

async function open(token: string): Promise<Reply> {
  const { messageId } = await verified(token, 'open');
  await recordEngagement(messageId, 'OPENED');
  return { status: 200, headers: { 'content-type': 'image/gif', ...NO_CACHE }, base64Body: PIXEL };
}

async function click(token: string): Promise<Reply> {
  const { messageId, url } = await verified(token, 'click');
  await recordEngagement(messageId, 'CLICKED');
  return { status: 302, headers: { location: url, ...NO_CACHE } };
}

export const routes = [
  route({ method: 'GET', path: '/t/o/:token', params: tokenParams, handler: ({ params }) => open(params.token) }),
  route({ method: 'GET', path: '/t/c/:token', params: tokenParams, handler: ({ params }) => click(params.token) }),
];

export const handler = apiHandler(routes, { auth: 'none' });
