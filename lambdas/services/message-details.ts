import type { MessageRecord } from '../store/messages';

/** Courier's MessageDetails, plus the channel and tenant that served the message. */
export function messageDetails(m: MessageRecord) {
  return {
    id: m.id,
    status: m.status,
    enqueued: m.enqueued,
    event: m.event,
    notification: m.notification,
    recipient: m.recipient,
    ...(m.sent !== undefined ? { sent: m.sent } : {}),
    ...(m.delivered !== undefined ? { delivered: m.delivered } : {}),
    ...(m.opened !== undefined ? { opened: m.opened } : {}),
    ...(m.clicked !== undefined ? { clicked: m.clicked } : {}),
    ...(m.error ? { error: m.error } : {}),
    reason: m.reason ?? null,
    ...(m.channel ? { channel: m.channel } : {}),
    ...(m.provider ? { providers: [{ channel: { key: m.channel }, provider: m.provider, reference: m.providerMessageId ?? null }] } : {}),
    ...(m.tenantId ? { tenant_id: m.tenantId } : {}),
    ...(m.listId ? { list_id: m.listId } : {}),
    tags: m.tags,
    ...(m.traceId ? { trace_id: m.traceId } : {}),
  };
}
