import type { TestStack } from './stack';

/** The DynamoDB requests `run` made through the stack's functions (its command log, SQS left out) and the read capacity they consumed. */
export async function dynamoCalls<T>(s: TestStack, run: () => Promise<T>): Promise<{ value: T; calls: string[]; rcu: number }> {
  const { usageSnapshot } = require('../../lambdas/shared/usage') as typeof import('../../lambdas/shared/usage');
  const from = s.commands().length;
  const rcu = usageSnapshot().dynamodb.rcu;
  const value = await run();
  return {
    value,
    calls: s
      .commands()
      .slice(from)
      .filter((c) => !c.startsWith('SQS.')),
    rcu: usageSnapshot().dynamodb.rcu - rcu,
  };
}
