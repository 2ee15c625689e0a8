import { pushInboxEvent } from '../services/inbox-push';
import { now } from '../shared/clock';
import { putInboxMessage } from '../store/inbox';
import { inboxSettings } from './catalog';
import type { ProviderAdapter, ProviderResult, ProviderSend } from './port';
import { invalidAddress, parseSettings } from './transport';

/**
 * The built-in inbox: the message is delivered once it is stored. A retried delivery finds the item
 * already there and reports DELIVERED again without a second copy.
 */
export class InboxAdapter implements ProviderAdapter<'inbox'> {
  async send(message: ProviderSend<'inbox'>): Promise<ProviderResult> {
    parseSettings(inboxSettings, message.settings, 'inbox');
    const { userId, tenantId } = message.recipient;
    if (!userId) throw invalidAddress('inbox', 'the recipient has no user id');
    const { title, body, blocks } = message.content;
    const created = now();
    // A new message is pushed to the user's sockets (README "The realtime inbox socket"); a retried delivery finds it stored and pushes nothing.
    if (await putInboxMessage(userId, { messageId: message.messageId, tenantId, title, body, blocks }))
      await pushInboxEvent(userId, {
        event: 'message',
        message: { messageId: message.messageId, title, body, blocks, created, read: false, archived: false, opened: false },
        tenantId,
      });
    // The inbox item is keyed by the message id: there is no separate provider id to record.
    return { status: 'DELIVERED' };
  }
}
