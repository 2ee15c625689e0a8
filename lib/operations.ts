import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { QueueName } from '../lambdas/shared/topology';
import type { WorkQueue } from './queues';

export interface OperationsProps {
  queues: Record<QueueName, WorkQueue>;
  /** The queue workers and the scheduled sweeper, by function id. */
  workers: Record<string, IFunction>;
  api: { serverErrors: IMetric; requests: IMetric };
  queueAgeAlarmSeconds: number;
  api5xxAlarmPercent: number;
  alarmEmail?: string;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * The alarms a deployed stack needs, each notifying one SNS topic (subscribe to it, or deploy with
 * `-c alarmEmail=you@example.com`): a message in any dead-letter queue, a work queue whose oldest
 * message is too old (a backlog or a stuck worker), errors of each worker, worker throttles, and
 * the API's 5xx rate. Missing data (an idle stack) is not a breach.
 */
export class Operations extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Alarms', { displayName: 'Notifications alarms', enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    for (const [name, q] of Object.entries(props.queues) as [QueueName, WorkQueue][]) {
      this.alarm(`${name}-dead-letters`, {
        metric: q.dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 1,
        description: `Messages in the ${name} dead-letter queue: jobs that failed every attempt. Inspect and re-drive with \`npm run dlq -- list|redrive\`.`,
      });
      this.alarm(`${name}-oldest-message`, {
        metric: q.queue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: 'Maximum' }),
        threshold: props.queueAgeAlarmSeconds,
        description: `The ${name} queue's oldest message waited ${props.queueAgeAlarmSeconds} s or more: a backlog (raise ${name}MaxConcurrency) or a worker that keeps failing.`,
      });
    }
    for (const [name, fn] of Object.entries(props.workers)) {
      this.alarm(`${name}-errors`, {
        metric: fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: 1,
        description: `${name} invocations failed (errors or timeouts); see its log group.`,
      });
    }
    const throttles = Object.fromEntries(
      Object.values(props.workers).map((fn, i) => [`t${i}`, fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' })]),
    );
    this.alarm('worker-throttles', {
      metric: new MathExpression({ expression: Object.keys(throttles).join(' + '), usingMetrics: throttles, period: FIVE_MINUTES, label: 'worker throttles' }),
      threshold: 1,
      description: "Lambda throttled the workers: the account's concurrency is exhausted (see the Lambda console's concurrency limits).",
    });
    this.alarm('api-5xx-rate', {
      metric: new MathExpression({
        expression: 'IF(requests >= 10, 100 * errors / requests, 0)',
        usingMetrics: { errors: props.api.serverErrors, requests: props.api.requests },
        period: FIVE_MINUTES,
        label: 'API 5xx %',
      }),
      threshold: props.api5xxAlarmPercent,
      description: `More than ${props.api5xxAlarmPercent}% of API requests answered 5xx in 5 minutes; see the API functions' log groups.`,
    });
  }

  private alarm(id: string, p: { metric: IMetric; threshold: number; description: string }): void {
    const alarm = new Alarm(this, id, {
      metric: p.metric,
      threshold: p.threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: p.description,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
