import { z } from 'zod';
import type { InboundSource } from '../domain/inbound';
import { now as clockNow } from '../shared/clock';
import { changed } from './conditional';
import { keys } from './keys';
import { getItem, parseDoc, upsertItem } from './table';

/**
 * Inbound events as received (docs/decisions.md D15): one item per source and messageId, which is
 * how a replay is applied once, and which keeps what became of the event (`GET
 * /inbound/events/:message_id`) for INBOUND_RETENTION_DAYS.
 */
export const INBOUND_RETENTION_DAYS = 30;

/**
 * RECEIVED: claimed, not applied yet (an attempt that failed half-way; the next applies it again,
 * idempotently). SENT: a mapped track, sent as `requestId`. UNMAPPED: a track no notification maps.
 * NO_USER: a mapped track, or an identify or group, without a userId: nothing to do. APPLIED: an
 * identify or group applied. FAILED: refused when applied (`error`).
 */
export type InboundStatus = 'RECEIVED' | 'SENT' | 'UNMAPPED' | 'NO_USER' | 'APPLIED' | 'FAILED';

const inboundRecord = z.object({
  source: z.enum(['courier', 'segment', 'rudderstack']),
  messageId: z.string(),
  type: z.string(),
  event: z.string().optional(),
  userId: z.string().optional(),
  groupId: z.string().optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
  status: z.enum(['RECEIVED', 'SENT', 'UNMAPPED', 'NO_USER', 'APPLIED', 'FAILED']),
  received: z.number(),
  requestId: z.string().optional(),
  notification: z.string().optional(),
  error: z.string().optional(),
});
export type InboundRecord = z.infer<typeof inboundRecord>;

const fields = (r: InboundRecord) => ({
  _t: 'InboundEvent',
  doc: JSON.stringify(r),
  ttl: Math.floor(r.received / 1000) + INBOUND_RETENTION_DAYS * 86_400,
});

/**
 * Claims an event's messageId: `claimed` when this is its first arrival (the record written as
 * RECEIVED), else the record stored by the earlier one.
 */
export async function claimInbound(
  r: Omit<InboundRecord, 'status' | 'received'>,
): Promise<{ claimed: true; record: InboundRecord } | { claimed: false; record: InboundRecord }> {
  const record: InboundRecord = { ...r, status: 'RECEIVED', received: clockNow() };
  // A record deleted (TTL) between the claim and the read is claimed again.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await upsertItem(keys.inboundEvent(r.source, r.messageId), fields(record), 'absent')) return { claimed: true, record };
    const existing = await getInbound(r.source, r.messageId);
    if (existing) return { claimed: false, record: existing };
  }
  throw changed(`Inbound event ${r.messageId}`);
}

/** Records what became of a claimed event. */
export async function finishInbound(record: InboundRecord): Promise<void> {
  await upsertItem(keys.inboundEvent(record.source, record.messageId), fields(record));
}

export async function getInbound(source: InboundSource, messageId: string): Promise<InboundRecord | undefined> {
  const item = await getItem(keys.inboundEvent(source, messageId));
  return item ? parseDoc(item, inboundRecord) : undefined;
}
