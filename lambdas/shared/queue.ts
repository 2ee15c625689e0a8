import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { sqs } from './aws';

/** SQS's per-message ceiling of delay; longer waits re-enqueue (see the delivery worker). */
export const MAX_DELAY_SECONDS = 900;

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

/**
 * Sends messages in SendMessageBatch calls of ten, re-sending the entries SQS reports in `Failed`
 * (a batch call can succeed while some entries fail), and throws if any still fail: the caller's
 * record is then retried instead of silently losing work.
 */
export async function enqueue(queueUrl: string, messages: OutgoingMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    let entries = messages.slice(i, i + 10).map((m) => ({
      Id: randomUUID(),
      MessageBody: sqsSafeJson(m.body),
      DelaySeconds: m.delaySeconds ? Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(m.delaySeconds))) : undefined,
    }));
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
