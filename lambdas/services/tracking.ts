import type { Channel } from '../domain/routing';
import type { EngagementKind } from '../domain/status';
import type { Tracker } from '../domain/tracking';
import { now } from '../shared/clock';
import { config } from '../shared/config';
import { logger } from '../shared/logger';
import { trackingKey } from '../shared/tokens';
import { applyProviderEvent, type Applied } from './engagement';

/** The provider our own tracking's events name in a message's history. */
export const TRACKING_PROVIDER = 'courier';

/**
 * Where and how a channel's links are tracked (docs/decisions.md D22), or undefined when they are
 * not: tracking is on for email and inbox by default (TRACKING_EMAIL, TRACKING_INBOX) and needs the
 * API's public URL (API_URL). Makes the signing secret when none exists yet.
 */
export async function trackerFor(channel: Channel): Promise<Tracker | undefined> {
  const on = channel === 'email' ? config.TRACKING_EMAIL : channel === 'inbox' ? config.TRACKING_INBOX : false;
  if (!on || config.API_URL === undefined) return undefined;
  return { base: config.API_URL, key: (await trackingKey(true))! };
}

/**
 * Applies an open or click of our own tracking to its message through the status machine, trying
 * once (a lost race is not tried again: a recipient waits on it). Never throws: a failure is logged
 * and the recipient is answered all the same.
 */
export async function recordEngagement(messageId: string, kind: Extract<EngagementKind, 'OPENED' | 'CLICKED'>): Promise<Applied | 'failed'> {
  try {
    const applied = await applyProviderEvent(messageId, { kind, at: now(), provider: TRACKING_PROVIDER }, { attempts: 1 });
    if (applied === 'early') logger.info('tracked event for a message not sent yet: ignored', { messageId, kind });
    return applied;
  } catch (error) {
    logger.warn('tracked event not applied', { messageId, kind, error: error as Error });
    return 'failed';
  }
}
