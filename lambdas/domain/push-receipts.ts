/**
 * What Expo's push receipts say about one message (pure; lambdas/services/expo-receipts.ts fetches
 * them and applies the verdict). A message went to one or more device tokens, each with a ticket;
 * a receipt per ticket comes later. The message is DELIVERED as soon as one receipt is `ok`;
 * UNDELIVERABLE once every ticket's receipt is an error (with their details); else it waits for the
 * receipts still missing. `DeviceNotRegistered` receipts name tokens not to be used again.
 */

export interface PushTicket {
  id: string;
  token: string;
}

export interface ReceiptLike {
  status?: string;
  message?: string;
  details?: { error?: string };
}

export type ReceiptVerdict =
  | { outcome: 'DELIVERED'; invalidTokens: string[] }
  | { outcome: 'UNDELIVERABLE'; invalidTokens: string[]; detail: string }
  | { outcome: 'pending'; invalidTokens: string[]; pending: PushTicket[]; errors: string[] };

/** The receipt error Expo gives for a token that is no longer registered. */
export const DEVICE_NOT_REGISTERED = 'DeviceNotRegistered';

const describe = (r: ReceiptLike): string => [r.details?.error, r.message].filter(Boolean).join(': ') || 'error';

/**
 * The verdict on `tickets` given the `receipts` that are in (by ticket id), `earlier` the errors of
 * receipts read on earlier checks (their tickets no longer listed).
 */
export function judgeReceipts(tickets: readonly PushTicket[], receipts: Record<string, ReceiptLike>, earlier: readonly string[] = []): ReceiptVerdict {
  const invalidTokens: string[] = [];
  const errors = [...earlier];
  const pending: PushTicket[] = [];
  let ok = false;
  for (const ticket of tickets) {
    const receipt = Object.hasOwn(receipts, ticket.id) ? receipts[ticket.id] : undefined;
    if (!receipt || (receipt.status !== 'ok' && receipt.status !== 'error')) pending.push(ticket);
    else if (receipt.status === 'ok') ok = true;
    else {
      errors.push(describe(receipt));
      if (receipt.details?.error === DEVICE_NOT_REGISTERED) invalidTokens.push(ticket.token);
    }
  }
  if (ok) return { outcome: 'DELIVERED', invalidTokens };
  if (pending.length) return { outcome: 'pending', invalidTokens, pending, errors };
  return { outcome: 'UNDELIVERABLE', invalidTokens, detail: `expo receipts: ${[...new Set(errors)].join('; ')}` };
}
