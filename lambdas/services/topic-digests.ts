import type { TopicDigest } from '../domain/automations';
import { requestIdFor, type SendMessage } from '../domain/send';
import { RunTooLarge, startRun } from './automation-runs';

/**
 * A topic's digest (README "Batches and digests", docs/decisions.md D27): a message of the topic
 * to a user becomes an event of the user's digest. Each message starts a run of two steps, a batch
 * with the topic's window and an internal `send-message`: the first run of a batch waits and then
 * sends its message once more, with `data.batch`; the others end in the batch. The run is named
 * after the message, so a redelivered job starts it once. Returns the run's id; undefined when
 * the run would be larger than a run may be (the message is then delivered as it is).
 */
export async function startDigestRun(input: {
  topicId: string;
  digest: TopicDigest;
  message: SendMessage;
  messageId: string;
  userId: string;
  data: Record<string, unknown>;
  /** When the message's request was accepted: the same on every delivery. */
  created: number;
}): Promise<string | undefined> {
  const runId = requestIdFor(input.created, `topic-digest:${input.messageId}`);
  try {
    await startRun(runId, {
      steps: [
        { action: 'batch', ...input.digest },
        { action: 'send-message', message: input.message as Record<string, unknown> },
      ],
      context: { recipient: input.userId, data: input.data },
      // The digest's key: the topic (every message of it to the user shares the batch).
      source: { template: `topic-digest:${input.topicId}`, revision: 1 },
      created: input.created,
      outcomes: [],
    });
  } catch (e) {
    if (e instanceof RunTooLarge) return undefined;
    throw e;
  }
  return runId;
}
