import { eventAddress, suppressionFor } from '../domain/suppressions';
import type { EngagementEvent } from '../domain/status';
import { config } from '../shared/config';
import { logger } from '../shared/logger';
import type { ChannelState } from '../store/messages';
import { suppressForEvent } from '../store/suppressions';

/**
 * Suppresses the address a provider's hard bounce or complaint is about (docs/decisions.md D21),
 * when SUPPRESS_ON allows it: the address the message was sent to on that provider's channel, as
 * its record kept it. An address already on the list keeps its first entry. A failed write throws:
 * the webhook answers an error and the provider sends the event again (applying it again changes
 * nothing but this).
 */
export async function suppressAddress(messageId: string, event: EngagementEvent, channels: Record<string, ChannelState>): Promise<void> {
  const reason = suppressionFor(event, config.SUPPRESS_ON);
  if (!reason) return;
  const to = eventAddress(channels, event.provider);
  if (!to) {
    logger.info('suppressing event for a message that kept no address: nothing suppressed', { messageId, provider: event.provider });
    return;
  }
  const added = await suppressForEvent({ ...to, reason, provider: event.provider, message_id: messageId });
  if (added) logger.info('address suppressed', { messageId, provider: event.provider, channel: to.channel, reason });
}
