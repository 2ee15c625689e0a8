import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { MAX_DELAY_SECONDS } from '../domain/retry';
import { sqs } from './aws';

/**
 * The delay of a message that should arrive at `dueAtMs`: seconds from `nowMs`, rounded up, 0 when
 * due, and at most one SQS delay (15 minutes); a later due time re-enqueues from there (see the
 * delivery worker).
 */
export const delaySecondsUntil = (dueAtMs: number, nowMs: number): number => Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil((dueAtMs - nowMs) / 1000)));

export interface OutgoingMessage {
  body: unknown;
  delaySeconds?: number;
}

/**
 * JSON with every character past ASCII written as a `\uXXXX` escape. SQS refuses message bodies
 * holding characters outside its allowed set (controls, U+FFFE/U+FFFF, unpaired surrogates), which
 * user ids and message data may contain; escaped, any body is plain ASCII and parses back the same.
 */
export const sqsSafeJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** SQS's limits: bytes of one message, bytes of one SendMessageBatch call (its messages together), entries of one call. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
export const SQS_MAX_BATCH_BYTES = 1_048_576;
export const SQS_MAX_BATCH_ENTRIES = 10;

/** A message SQS would refuse for its size, whatever the retries: the caller has to make it smaller. */
export class MessageTooLargeError extends Error {}

/**
 * Splits `items`, in order, into runs of at most `maxCount` items whose sizes add up to at most
 * `maxBytes`; an item larger than `maxBytes` on its own makes a run of one.
 */
export function packBySize<T>(items: readonly T[], sizeOf: (item: T) => number, maxBytes: number, maxCount: number): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (run.length && (run.length >= maxCount || bytes + size > maxBytes)) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(item);
    bytes += size;
  }
  if (run.length) runs.push(run);
  return runs;
}

/**
 * Sends messages in SendMessageBatch calls sized by SQS's limits (ten messages, 1 MiB together),
 * re-sending the entries SQS reports in `Failed` (a batch call can succeed while some entries
 * fail), and throws if any still fail: the caller's record is then retried instead of silently
 * losing work. A message over 1 MiB on its own throws MessageTooLargeError before anything is sent.
 */
export async function enqueue(queueUrl: string, messages: OutgoingMessage[]): Promise<void> {
  const all = messages.map((m) => ({
    MessageBody: sqsSafeJson(m.body),
    DelaySeconds: m.delaySeconds ? delaySecondsUntil(m.delaySeconds * 1000, 0) : undefined,
  }));
  const size = (e: { MessageBody: string }) => Buffer.byteLength(e.MessageBody, 'utf8');
  const tooLarge = all.find((e) => size(e) > SQS_MAX_MESSAGE_BYTES);
  if (tooLarge) throw new MessageTooLargeError(`a ${size(tooLarge)}-byte message is over SQS's limit of ${SQS_MAX_MESSAGE_BYTES} bytes`);
  for (const batch of packBySize(all, size, SQS_MAX_BATCH_BYTES, SQS_MAX_BATCH_ENTRIES)) {
    let entries = batch.map((e) => ({ Id: randomUUID(), ...e }));
    for (let attempt = 0; entries.length; attempt++) {
      const out = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      if (!failed.size) break;
      const fatal = (out.Failed ?? []).find((f) => f.SenderFault);
      if (fatal || attempt >= 4) throw new Error(`SQS refused ${failed.size} message(s): ${fatal?.Code ?? out.Failed?.[0]?.Code}`);
      entries = entries.filter((e) => failed.has(e.Id));
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }
}
