/**
 * The status machine of delivery and engagement events (docs/decisions.md D19): what a provider's
 * event (SES, SendGrid, Mailgun, Postmark, Twilio, Vonage) does to a message that was sent.
 *
 * Statuses move forward only: SENT -> DELIVERED -> OPENED -> CLICKED, and a bounce or complaint
 * ends the message UNDELIVERABLE with its reason, from any of them. A late or repeated event never
 * moves a message backwards: it only fills a time not known yet (`delivered`, `opened`,
 * `clicked`: the earliest seen of each). The end state is the same whatever order the events
 * arrive in (the reason of an UNDELIVERABLE is the first one applied).
 */

/** What a provider said happened to a message. */
export type EngagementKind = 'DELIVERED' | 'OPENED' | 'CLICKED' | 'UNDELIVERABLE';

/** Courier's reasons for an UNDELIVERABLE message: a bounce, a carrier's failure, a complaint (the recipient opted out). */
export type UndeliverableReason = 'BOUNCED' | 'FAILED' | 'UNSUBSCRIBED';

export interface EngagementEvent {
  kind: EngagementKind;
  /** When it happened (epoch ms), as the provider says. */
  at: number;
  /** Which provider said it (`ses`, `sendgrid`...). */
  provider: string;
  /** UNDELIVERABLE only. */
  reason?: UndeliverableReason;
  /** The provider's own words for a failure (bounce type, error code), kept as the message's `error`. */
  detail?: string;
  /**
   * UNDELIVERABLE only: the event says the address itself is bad (a hard bounce) or its owner
   * complained, so it may be suppressed (domain/suppressions.ts, D21). Soft and transient failures,
   * and failures that are not the address's (a message dropped or blocked), leave it unset.
   */
  suppress?: 'hard_bounce' | 'complaint';
}

/** The part of a message record this machine reads and writes. */
export interface EngagementState {
  status: string;
  reason?: string;
  error?: string;
  sent?: number;
  delivered?: number;
  opened?: number;
  clicked?: number;
}

/** Statuses these events move between, in order. */
const RANK: Record<string, number> = { SENT: 0, DELIVERED: 1, OPENED: 2, CLICKED: 3 };
const KIND_RANK: Record<Exclude<EngagementKind, 'UNDELIVERABLE'>, number> = { DELIVERED: 1, OPENED: 2, CLICKED: 3 };
const TIME_OF = { DELIVERED: 'delivered', OPENED: 'opened', CLICKED: 'clicked' } as const;

/**
 * `moved`: the status or a time changed (a history event is due); `unchanged`: the event adds
 * nothing (a repeat, or a late event already covered); `early`: the message is not sent yet (its
 * worker has not saved the provider's answer: the provider should send the event again later);
 * `ignored`: the message ended without being sent (filtered, cancelled, failed), so no provider
 * event concerns it.
 */
export type Outcome = 'moved' | 'unchanged' | 'early' | 'ignored';

/**
 * Applies one event. A message whose routing still holds it (`ROUTED` with its `sent` time: an
 * escalation watch, D17) gets the times only; its routing settles the status.
 */
export function applyEngagement<S extends EngagementState>(state: S, event: EngagementEvent): { state: S; outcome: Outcome } {
  const engaged = state.status in RANK || (state.status === 'UNDELIVERABLE' && state.sent !== undefined);
  const watched = state.status === 'ROUTED' && state.sent !== undefined;
  if (!engaged && !watched) {
    const early = ['ENQUEUED', 'DELAYED', 'ROUTED'].includes(state.status);
    return { state, outcome: early ? 'early' : 'ignored' };
  }
  let next: S = state;
  if (event.kind === 'UNDELIVERABLE') {
    if (engaged && state.status !== 'UNDELIVERABLE')
      next = { ...state, status: 'UNDELIVERABLE', reason: event.reason ?? 'BOUNCED', ...(event.detail ? { error: event.detail } : {}) };
  } else {
    const field = TIME_OF[event.kind];
    const known = state[field];
    if (known === undefined || event.at < known) next = { ...next, [field]: event.at };
    if (engaged && state.status in RANK && KIND_RANK[event.kind] > RANK[state.status]) next = { ...next, status: event.kind };
  }
  return { state: next, outcome: next === state ? 'unchanged' : 'moved' };
}

/** Whether `to` is `from` or ahead of it (the forward-only rule; UNDELIVERABLE is the end). */
export function isForward(from: string, to: string): boolean {
  if (from === to) return true;
  if (from === 'UNDELIVERABLE') return false;
  if (to === 'UNDELIVERABLE') return from in RANK;
  return from in RANK && to in RANK && RANK[to] > RANK[from];
}
