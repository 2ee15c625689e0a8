import type { TestStack } from './stack';
import { idle } from './send';
import { eventually, uid } from './wait';

export { idle };

/** A run as `GET /automations/runs/:id` shows it. */
export interface RunView {
  runId: string;
  status: string;
  canceledAt?: string;
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

/** Runs the sweeper at the stack's clock and waits until the jobs it started are done. */
export async function sweep(s: TestStack): Promise<void> {
  await s.runScheduled();
  await idle(s);
}

/** A published notification template with one email channel and `content` (title and body). */
export async function emailTemplate(s: TestStack, content: { title: string; body: string }, brand: { id: string } | null = null): Promise<string> {
  const t = await s.client.notifications.create({
    notification: { name: uid('t'), tags: [], brand, subscription: null, routing: { method: 'single', channels: ['email'] }, content },
    state: 'PUBLISHED',
  } as never);
  return t.id;
}
