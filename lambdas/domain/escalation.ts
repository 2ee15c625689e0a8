/**
 * Escalation (`message.timeout.escalation` and `criteria`, docs/decisions.md D17): a target that was
 * sent is watched for `escalation` ms; if it has not met the criteria by then, routing counts it
 * as failed, so a `single` group moves on to its next channel. The first target meeting them ends
 * the routing as a delivery does.
 *
 * - `delivered`: the provider confirmed delivery (the inbox, a webhook's 2xx, a delivery event),
 *   or the recipient has since opened, read or clicked it;
 * - `viewed`: opened, read or clicked (the inbox's `opened` and `read` events today);
 * - `engaged`: read or clicked;
 * - `no-escalation`: never escalates (as no `escalation` at all).
 * `escalation` without `criteria` means `delivered`: a sender who sets a time expects a message
 * nobody confirmed to escalate.
 */

export const CRITERIA = ['no-escalation', 'delivered', 'viewed', 'engaged'] as const;
export type Criteria = (typeof CRITERIA)[number];

export interface EscalationPolicy {
  afterMs: number;
  criteria: Exclude<Criteria, 'no-escalation'>;
}

/** What the recipient has done with a sent message, as far as this stack knows. */
export interface Engagement {
  opened?: boolean;
  read?: boolean;
  clicked?: boolean;
}

/** The policy a message's `timeout` asks for, or undefined when it never escalates. */
export function escalationPolicy(timeout: { escalation?: number; criteria?: Criteria } | undefined): EscalationPolicy | undefined {
  if (timeout?.escalation === undefined || timeout.criteria === 'no-escalation') return undefined;
  return { afterMs: timeout.escalation, criteria: timeout.criteria ?? 'delivered' };
}

/** Whether a target in `state` (after its provider answered) meets the policy's criteria. */
export function criteriaMet(policy: EscalationPolicy, state: 'sent' | 'delivered', engagement: Engagement = {}): boolean {
  const viewed = engagement.opened === true || engagement.read === true || engagement.clicked === true;
  switch (policy.criteria) {
    case 'delivered':
      return state === 'delivered' || viewed;
    case 'viewed':
      return viewed;
    case 'engaged':
      return engagement.read === true || engagement.clicked === true;
  }
}

/**
 * A watched target at `now`: `met` (it counts as delivered), `escalate` (its time is up without the
 * criteria: it counts as failed), or `wait` (until `watchUntil`).
 */
export function watchOutcome(policy: EscalationPolicy, watch: { state: 'sent' | 'delivered'; until: number }, engagement: Engagement | undefined, now: number) {
  if (criteriaMet(policy, watch.state, engagement)) return 'met' as const;
  return now >= watch.until ? ('escalate' as const) : ('wait' as const);
}

/**
 * What a provider's delivery and engagement events (D19) say of a target sent through `provider`:
 * read from the message's history events of that provider (the message's `delivered`, `opened`
 * and `clicked` times do not say which target they are about). A click counts as `clicked`, an
 * open as `opened`; neither is a read (`engaged` needs a click). With `tracking`, the events of our
 * own tracking count too (an email target: its pixel and click links, docs/decisions.md D22).
 */
export function providerEngagement(
  history: readonly { type: string; provider?: unknown; received?: unknown }[],
  provider: string | undefined,
  /** Also count the opens and clicks of our own tracking (D22), which name this provider: an email target's. */
  tracking?: string,
): { delivered: boolean; engagement: Engagement } {
  const counts = (e: { provider?: unknown }) => provider !== undefined && (e.provider === provider || (tracking !== undefined && e.provider === tracking));
  const events = new Set(history.filter((e) => counts(e) && e.received !== undefined).map((e) => e.type));
  return { delivered: events.has('DELIVERED'), engagement: { opened: events.has('OPENED'), clicked: events.has('CLICKED') } };
}
