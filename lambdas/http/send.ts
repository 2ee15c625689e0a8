import { z } from 'zod';
import { isSingleRecipient, messageSchema, newRequestId, targetsOf, TargetError, toTarget } from '../domain/send';
import { apiHandler } from '../shared/api';
import { ValidationError } from '../shared/errors';
import { enqueueDelivery, enqueueFanout } from '../shared/jobs';
import { accepted, route } from '../shared/router';
import { putRequest } from '../store/messages';

/** Every `to` entry must reach someone; the error names the entry (`body.message.to.2: ...`). */
function checkTargets(to: z.infer<typeof messageSchema>['to']): void {
  targetsOf(to).forEach((entry, i) => {
    try {
      toTarget(entry);
    } catch (e) {
      if (!(e instanceof TargetError)) throw e;
      throw new ValidationError(`Invalid request: body.message.to${Array.isArray(to) ? `.${i}` : ''}: ${e.message}`);
    }
  });
}

export const routes = [
  route({
    method: 'POST',
    path: '/send',
    body: z.object({ message: messageSchema }),
    handler: async ({ body }) => {
      const message = body.message;
      checkTargets(message.to);
      const requestId = newRequestId();
      const single = isSingleRecipient(message.to);
      await putRequest({ requestId, message, enqueued: Date.now(), single });
      if (single) {
        // One recipient needs no fan-out: its delivery job goes straight to the delivery queue.
        const target = toTarget(targetsOf(message.to)[0]);
        if (target.kind !== 'user' && target.kind !== 'inline') throw new Error('unreachable: single recipients are users or inline');
        await enqueueDelivery([
          {
            type: 'deliver',
            requestId,
            recipients: [{ messageId: requestId, userId: target.kind === 'user' ? target.userId : undefined, inline: target.inline, data: target.data, tenantId: target.tenantId }],
          },
        ]);
      } else {
        await enqueueFanout([{ type: 'send', requestId }]);
      }
      return accepted({ requestId });
    },
  }),
];

export const handler = apiHandler(routes);
