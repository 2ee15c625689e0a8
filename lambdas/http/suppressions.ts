import { z } from 'zod';
import { ADDRESS_RULE, normalizeAddress, SUPPRESSIBLE_CHANNELS, SUPPRESSION_REASONS, type SuppressibleChannel } from '../domain/suppressions';
import { apiHandler } from '../shared/api';
import { NotFoundError, ValidationError } from '../shared/errors';
import { noContent, ok, pathId, route } from '../shared/router';
import { deleteSuppression, getSuppression, listSuppressions, putSuppression } from '../store/suppressions';
import { CLASSIC_PAGE_SIZE, classicPage, cursorQuery } from './paging';

/**
 * The suppression list (README "Suppressions", docs/decisions.md D21): addresses a hard bounce or a
 * complaint (SUPPRESS_ON) or a call here stopped sends to. Courier has no suppression API (its
 * providers keep their own lists): these routes are our extension. An address in a path is
 * normalized as the list keys it (email lower-cased; a phone number in E.164).
 */

const channel = z.enum(SUPPRESSIBLE_CHANNELS, { error: `must be one of ${SUPPRESSIBLE_CHANNELS.join(', ')}` });
const one = z.object({ channel, address: pathId });

/** The path's address as the list keys it, or a 400 naming `path.address`. */
function addressOf(params: { channel: SuppressibleChannel; address: string }): string {
  const address = normalizeAddress(params.channel, params.address);
  if (address === undefined) throw new ValidationError(`Invalid request: path.address: ${ADDRESS_RULE[params.channel]}`);
  return address;
}

const target = ({ params }: { params: { channel: SuppressibleChannel; address: string } }) => `suppression:${params.channel}:${addressOf(params)}`;

export const routes = [
  route({
    method: 'GET',
    path: '/suppressions',
    query: cursorQuery.extend({ channel: channel.optional() }),
    handler: async ({ query }) => {
      const page = await listSuppressions(CLASSIC_PAGE_SIZE, query.cursor, query.channel);
      return ok(classicPage('results', page.items, page.cursor));
    },
  }),
  route({
    method: 'GET',
    path: '/suppressions/:channel/:address',
    params: one,
    handler: async ({ params }) => {
      const found = await getSuppression(params.channel, addressOf(params));
      if (!found) throw new NotFoundError(`The ${params.channel} address ${params.address} is not suppressed`);
      return ok(found);
    },
  }),
  route({
    method: 'PUT',
    path: '/suppressions/:channel/:address',
    params: one,
    body: z
      .object({ reason: z.enum(SUPPRESSION_REASONS, { error: `must be one of ${SUPPRESSION_REASONS.join(', ')}` }).optional() })
      .strict()
      .optional(),
    audit: { type: 'suppression:updated', target },
    handler: async ({ params, body }) => ok(await putSuppression(params.channel, addressOf(params), body?.reason ?? 'manual')),
  }),
  route({
    method: 'DELETE',
    path: '/suppressions/:channel/:address',
    params: one,
    audit: { type: 'suppression:deleted', target },
    handler: async ({ params }) => {
      await deleteSuppression(params.channel, addressOf(params));
      return noContent();
    },
  }),
];

export const handler = apiHandler(routes);
