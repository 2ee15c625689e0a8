import { z } from 'zod';
import { now as clockNow } from '../shared/clock';
import {
  delayLimitIssue,
  dueTime,
  expiryTime,
  isSingleRecipient,
  messageSchema,
  newRequestId,
  recipientWindow,
  requestIdFor,
  targetsOf,
  TargetError,
  toDestination,
  type SendMessage,
} from '../domain/send';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { apiHandler } from '../shared/api';
import { config } from '../shared/config';
import { ValidationError } from '../shared/errors';
import { idempotentOperation, markSideEffect, type IdempotentOperation } from '../shared/idempotency';
import { logger } from '../shared/logger';
import { enqueueDelivery, enqueueFanout, type DeliveryJob } from '../shared/jobs';
import { delaySecondsUntil } from '../shared/queue';
import { accepted, route } from '../shared/router';
import { API_TIMEOUT_SECONDS } from '../shared/topology';
import {
  compactRecord,
  createRequest,
  getRequest,
  pendingRecord,
  recordFitsRequest,
  singleRecipientOf,
  type MessageRecord,
  type RequestRecord,
} from '../store/messages';
import { announceMessages } from '../services/webhook-events';
import { deliverJob } from '../workers/deliver';

/** Time kept after the last provider call may start: the call's own timeout and this, within the API's timeout. */
const INLINE_MARGIN_MS = 4_000;

/**
 * Until when a single send accepted at `start` is delivered inline (docs/decisions.md D14):
 * SEND_INLINE_MS, shortened so that a provider call started by then ends before the function's
 * timeout; undefined when that leaves no time (or SEND_INLINE_MS is 0).
 */
export function inlineDeadline(start: number): number | undefined {
  const budget = Math.min(config.SEND_INLINE_MS, API_TIMEOUT_SECONDS * 1000 - config.PROVIDER_TIMEOUT_MS - INLINE_MARGIN_MS);
  return budget > 0 ? start + budget : undefined;
}

/**
 * Whether a request enqueued at `enqueued` and stored now is sure to be seen by the sweeper's walk
 * (store/singles-walk.ts) if it is left unfinished; one stored later gets an open marker.
 */
const walkable = (enqueued: number): boolean => clockNow() - enqueued <= config.SWEEP_GRACE_MS / 2;

/** Every `to` entry must reach someone; the error names the entry (`body.message.to.2: ...`). */
function checkTargets(to: z.infer<typeof messageSchema>['to']): void {
  targetsOf(to).forEach((entry, i) => {
    try {
      toDestination(entry);
    } catch (e) {
      if (!(e instanceof TargetError)) throw e;
      throw new ValidationError(`Invalid request: body.message.to${Array.isArray(to) ? `.${i}` : ''}: ${e.message}`);
    }
  });
}

/**
 * Delivers a single send due at once before answering (D14): the delivery job, run here with the
 * request in hand; retries, failovers past the deadline and a recipient another worker holds go on
 * through the queue. A request not `stored` yet is stored by the delivery's first write, with the
 * message's record as of then (every outcome so far: nothing else could drive the message before,
 * so no round claims): the whole record when the request item stays within its kilobytes, else
 * the record reduced to its states, and the record item written next. If the delivery fails
 * before it wrote anything, the request is stored here and the queue takes the job over as a
 * second attempt, which reads what this one wrote and indexes the recipient; unless a provider
 * was called, which a second attempt would call again: then the send fails (500).
 */
async function deliverInline(req: RequestRecord, deadline: number, stored: boolean) {
  const { requestId } = req;
  const job: DeliveryJob = { type: 'deliver', requestId, recipients: [singleRecipientOf(req)] };
  let unstored = !stored;
  const storeRequest = async (record: MessageRecord): Promise<boolean> => {
    const whole = recordFitsRequest(req, record);
    const kept = whole ? record : { ...compactRecord(record), outputs: [] };
    if (!(await createRequest({ ...req, record: kept }, undefined, [], walkable(req.enqueued)))) throw new Error(`request ${requestId} is stored already`);
    unstored = false;
    return whole;
  };
  const seen = { called: false };
  const storeUnlessCalled = async (cause?: unknown) => {
    if (!unstored) return;
    if (seen.called) throw new Error('the request could not be stored after a provider was called', { cause });
    await createRequest(req, undefined, [], walkable(req.enqueued));
  };
  try {
    await deliverJob(job, { request: req, deadline, seen, ...(unstored ? { storeRequest } : {}) });
  } catch (e) {
    logger.warn('inline delivery failed; the delivery queue takes it over', { requestId, error: e as Error });
    await storeUnlessCalled(e);
    await enqueueDelivery([{ ...job, attempt: 1 }]).catch((error: unknown) =>
      logger.warn('could not enqueue a stored request; the sweeper will drive it', { requestId, error: error as Error }),
    );
    return accepted({ requestId });
  }
  await storeUnlessCalled();
  return accepted({ requestId });
}

/**
 * Accepts a send (POST /send, and an inbound event mapped to a notification): stores the request
 * and delivers it inline or through the queues. `op` names the request after an operation, so
 * every attempt of the same operation (an Idempotency-Key, an inbound event's messageId) finds the
 * request the first one stored instead of making a second one. `inline: false` never delivers in
 * this function (D14): the queue does (inbound events, many to a request, answer at once).
 */
export async function acceptSend(
  message: SendMessage,
  event: APIGatewayProxyEventV2,
  op: Pick<IdempotentOperation, 'created' | 'scope'> | undefined,
  { inline = true, digestRunId }: { inline?: boolean; digestRunId?: string } = {},
) {
  checkTargets(message.to);
  const now = op?.created ?? clockNow();
  const tooFar = delayLimitIssue(message.delay, now, config.MAX_DELAY_DAYS);
  if (tooFar) throw new ValidationError(tooFar);
  const requestId = op ? requestIdFor(op.created, op.scope) : newRequestId(now);
  const dueAt = dueTime(message.delay, now);
  const fresh: RequestRecord = {
    requestId,
    message,
    enqueued: now,
    single: isSingleRecipient(message.to),
    dueAt,
    expiresAt: expiryTime(message.expiry, now),
    ...(digestRunId ? { digestRunId } : {}),
  };
  markSideEffect(event);
  // A single send due at once needs no open marker: the sweeper's walk finds it if it is still
  // unfinished a grace period on (store/singles-walk.ts). One stored long after its time (a retried
  // Idempotency-Key) may be behind the walk already: it gets its marker.
  // A window read in the recipient's time zone is worked out by the delivery worker (recipientWindow): never inline.
  const walked = fresh.single && fresh.dueAt === undefined && !recipientWindow(message.delay) && walkable(now);
  const deadline = walked && inline ? inlineDeadline(clockNow()) : undefined;
  // Without an operation no earlier attempt can have stored this request: the delivery
  // stores it with its first write (D14). Under one, the request is stored (or found) first.
  if (deadline !== undefined && !op) return deliverInline(fresh, deadline, false);
  // Recipients are indexed for GET /messages?recipient= by their first delivery job, after it
  // delivered (a message delivered to the inbox has its inbox item as its entry); a single send
  // that is not due at once (or stored late) is indexed here, so it is listed while it waits.
  const created = await createRequest(fresh, undefined, fresh.single && !walked ? [singleRecipientOf(fresh)] : [], walked);
  if (deadline !== undefined && created) return deliverInline(fresh, deadline, true);
  const req = created ? fresh : ((await getRequest(requestId)) ?? fresh);
  // A single send stored DELAYED is announced to the outbound webhooks now (D23); one due at once, by the worker that starts it.
  const first = created && req.single ? pendingRecord(req) : undefined;
  if (first?.status === 'DELAYED') await announceMessages([first]);
  // The first hop ends when the message is due, or when it expires if that comes first.
  const delay = req.dueAt === undefined ? undefined : delaySecondsUntil(Math.min(req.dueAt, req.expiresAt ?? Infinity), clockNow());
  try {
    if (req.single) {
      // One recipient needs no fan-out: the job goes straight to the delivery queue. Until a worker
      // writes its record, the message is read (and cancelled) from the request (pendingRecord).
      // A walked send's job is its first (it indexes the recipient); any other is a resumption.
      await enqueueDelivery([{ type: 'deliver', requestId, recipients: [singleRecipientOf(req)], resume: !walked }], delay);
    } else {
      await enqueueFanout([{ type: 'send', requestId }], delay);
    }
  } catch (e) {
    // The request is stored with its open marker: the sweeper drives it once SWEEP_GRACE_MS has
    // passed. Answering 500 would make the caller send again; answering 202 loses nothing.
    logger.warn('could not enqueue a stored request; the sweeper will drive it', { requestId, error: e as Error });
  }
  return accepted({ requestId });
}

export const routes = [
  route({
    method: 'POST',
    path: '/send',
    body: z.strictObject({ message: messageSchema }),
    // Under an Idempotency-Key the request is named after the key's operation, so a retry after a
    // failure finds the request the first attempt stored instead of making a second one.
    handler: ({ body, event }) => acceptSend(body.message, event, idempotentOperation(event)),
  }),
];

export const handler = apiHandler(routes);
