import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { TestStack } from './stack';
import { eventually } from './wait';

/** A run as `GET /automations/runs/:id` shows it. */
export interface RunView {
  runId: string;
  status: string;
  steps: {
    index: number;
    action: string;
    ref?: string;
    status: string;
    startedAt?: string;
    finishedAt?: string;
    until?: string;
    messageId?: string;
    runId?: string;
    canceled?: number;
    error?: string;
    batchRunId?: string;
    count?: number;
    window?: { start: string; end: string };
    next?: number;
  }[];
}

export async function runOf(s: TestStack, runId: string): Promise<RunView> {
  const res = await s.http('GET', `/automations/runs/${runId}`);
  expect(res.status).toBe(200);
  return res.json as RunView;
}

/** The run once it ended (or, with `waiting`, once it stands waiting at a step). */
export const settled = (s: TestStack, runId: string, waiting = false) =>
  eventually(
    () => runOf(s, runId),
    (r) => r.status !== 'running' || (waiting && r.steps.some((x) => x.status === 'waiting')),
    30_000,
  );

/**
 * Waits until no batch is in flight and no work queue has a visible or in-flight message, twice in a
 * row: s.quiesce() less the delayed messages, which a delay's hops leave in the fan-out queue for up
 * to 15 real minutes (the tests move the clock past a delay's end instead of waiting for them).
 */
export async function idle(s: TestStack): Promise<void> {
  const read = async () => {
    const depths = await Promise.all(
      Object.values(s.queues).map(async (q) => {
        const { Attributes: a = {} } = await s.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: q.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
        );
        return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
      }),
    );
    return s.pollersIdle() && depths.every((n) => n === 0);
  };
  let quiet = 0;
  await eventually(
    async () => (quiet = (await read()) ? quiet + 1 : 0),
    (n) => n >= 2,
    60_000,
  );
}

/** Runs the sweeper at the stack's clock and waits until the jobs it started are done. */
export async function sweep(s: TestStack): Promise<void> {
  await s.runScheduled();
  await idle(s);
}
