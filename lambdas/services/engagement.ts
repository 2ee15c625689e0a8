import { applyEngagement, type EngagementEvent, type Outcome } from '../domain/status';
import { parseMessageId } from '../domain/send';
import { now as clockNow } from '../shared/clock';
import { logger } from '../shared/logger';
import { changed, retryOnConflict } from '../store/conditional';
import { findMessage, writeMessage, type MessageRecord } from '../store/messages';
import { announceMessages } from './webhook-events';
import { suppressAddress } from './suppress';

/** Attempts at applying one event to a message a worker keeps changing. */
const ATTEMPTS = 5;

/** What became of a provider's event: the status machine's outcome, or `unknown` (no such message here). */
export type Applied = Outcome | 'unknown';

/**
 * Applies a provider's delivery or engagement event to the message it names (by our message id,
 * which the adapters hand the provider): read wherever the message is stored (its own record, its
 * slot in a delivery job's record, a single send's request: the path a cancel takes), moved by the
 * status machine, written conditional on the version read, with a history event. A message whose
 * worker writes it meanwhile is read again. Times in the future (a provider's clock ahead of ours)
 * count as now. `attempts`: how many times a lost race is tried again (our own tracking answers a
 * recipient after one: http/tracking.ts).
 */
export async function applyProviderEvent(messageId: string, event: EngagementEvent, { attempts = ATTEMPTS }: { attempts?: number } = {}): Promise<Applied> {
  const id = parseMessageId(messageId);
  const received = clockNow();
  const at = Math.min(event.at, received);
  let saved: MessageRecord | undefined;
  let sentTo: MessageRecord['channels'] = {};
  const applied = await retryOnConflict(
    async () => {
      const stored = id && (await findMessage(id.requestId, id.suffix));
      if (!stored) {
        logger.info('provider event for an unknown message: ignored', { messageId, provider: event.provider, kind: event.kind });
        return 'unknown';
      }
      const { state, outcome } = applyEngagement(stored.record, { ...event, at });
      sentTo = stored.record.channels;
      if (outcome !== 'moved') return outcome;
      const record: MessageRecord = {
        ...state,
        history: [
          ...state.history,
          {
            ts: at,
            type: event.kind,
            provider: event.provider,
            received,
            ...(event.reason ? { reason: event.reason } : {}),
            ...(event.detail ? { error: event.detail } : {}),
          },
        ],
      };
      if (!(await writeMessage(record, stored.expected))) throw changed(`Message ${messageId}`);
      saved = record;
      return outcome;
    },
    { attempts },
  );
  // Outbound webhooks (D23): a saved move (its status or a time changed) is a `message:updated`, after the save.
  if (saved) await announceMessages([saved]);
  // A hard bounce or a complaint about a message that was sent (a repeat included: the list may have been emptied since) suppresses its address (D21).
  if (applied === 'moved' || applied === 'unchanged') await suppressAddress(messageId, event, sentTo);
  return applied;
}
