import { Duration, NestedStack, type Stack, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  jobMetricDimensions,
  jobMetricNames,
  jobMetricsNamespace,
} from '../../functions/domain/job-outcome-metrics.ts';

export interface FactoryMonitoringProps {
  /** The queues jobs and robot steps wait in, each with the dead-letter queue it feeds. */
  readonly queues: readonly { readonly name: string; readonly queue: IQueue; readonly deadLetters: IQueue }[];
  readonly functions: readonly { readonly name: string; readonly fn: IFunction }[];
  readonly stateMachines: readonly { readonly name: string; readonly machine: IStateMachine }[];
  /** An alarm when a queue's oldest message waited this long. @default 15 minutes */
  readonly oldestMessageAge?: Duration;
  /** Subscribed to the alarm topic when given (`-c robot-factory:alarmEmail=ops@example.com`). */
  readonly alarmEmail?: string;
}

/**
 * Where operators already look: a CloudWatch dashboard of the factory (with the outcomes of jobs
 * and robot steps the workers and lease recovery emit in the embedded metric format) and alarms
 * on an SNS topic — a dead-letter
 * queue not empty, a queue's oldest message too old, a function throttled, an assembly workflow
 * failed. A nested stack: its ~100 alarms count against its own 500
 * resources, not the factory's, and `cdk deploy` still deploys one stack. The local cloud has no
 * CloudWatch; it skips this stack (its resource types) as it would on an account without alarms.
 */
export class FactoryMonitoring extends NestedStack {
  public readonly topic: Topic;
  public readonly dashboard: Dashboard;
  public readonly alarms: readonly Alarm[];

  constructor(scope: Construct, id: string, props: FactoryMonitoringProps) {
    super(scope, id, { description: 'Robot Factory monitoring: dashboard, alarms, alarm topic' });
    // TLS only (the policy denies plain HTTP); CloudWatch cannot publish to a topic under the
    // AWS-managed SNS key, so it keeps SNS's default encryption at rest.
    this.topic = new Topic(this, 'Alarms', { displayName: 'Robot Factory alarms', enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed key; alarm notices carry no job data',
    });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const notify = new SnsAction(this.topic);
    const alarms: Alarm[] = [];
    const alarm = (id: string, metric: IMetric, threshold: number, description: string) => {
      const created = new Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(notify);
      created.addOkAction(notify);
      alarms.push(created);
    };
    const maxAge = props.oldestMessageAge ?? Duration.minutes(15);
    for (const { name, queue, deadLetters } of props.queues) {
      alarm(
        `${name}DeadLetters`,
        deadLetters.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: Stats.MAXIMUM,
        }),
        0,
        `Dead letters in ${name}: messages its workers could not take (see docs/operations.md)`,
      );
      alarm(
        `${name}OldestMessage`,
        queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: Stats.MAXIMUM }),
        maxAge.toSeconds(),
        `A message waited more than ${maxAge.toMinutes()} minutes in ${name}: too few workers, a pause, or a stuck queue`,
      );
    }
    for (const { name, fn } of props.functions)
      alarm(
        `${name}Throttles`,
        fn.metricThrottles({ period: Duration.minutes(5), statistic: Stats.SUM }),
        0,
        `${name} was throttled (reserved or account concurrency)`,
      );
    for (const { name, machine } of props.stateMachines)
      alarm(
        `${name}FailedExecutions`,
        machine.metricFailed({ period: Duration.minutes(5), statistic: Stats.SUM }),
        0,
        `An assembly workflow of ${name} failed`,
      );
    this.alarms = alarms;

    const sum = (metrics: IMetric[], label: string) =>
      // A math expression takes at most ten metrics: sum them ten by ten.
      chunks(metrics, 10).map(
        (group, i) =>
          new MathExpression({
            expression: group.map((_m, j) => `${label}${i}_${j}`).join(' + '),
            usingMetrics: Object.fromEntries(group.map((m, j) => [`${label}${i}_${j}`, m])),
            label: `${label} ${i + 1}`,
            period: Duration.minutes(1),
          }),
      );
    // The outcome metrics (functions/shared/metrics.ts) — of the job workers, the step workers (a
    // line is the queue) and the dispatcher's lease recovery — have one dimension set, service ×
    // queue × type, whose values are known only at run time: SEARCH finds every queue and type.
    const schema = `{${jobMetricsNamespace},${['service', ...jobMetricDimensions].join(',')}}`;
    const search = (metricName: string, statistic: string, label: string, total: boolean) => {
      const found = `SEARCH('${schema} MetricName="${metricName}"', '${statistic}', 300)`;
      return new MathExpression({
        expression: total ? `SUM(${found})` : found,
        usingMetrics: {},
        label,
        period: Duration.minutes(5),
      });
    };
    // A dynamic label: one line per queue and type the search finds.
    const perQueueAndType = (what: string) => `${what} \${PROP('Dim.queue')} \${PROP('Dim.type')}`;
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Queue depth (waiting)',
        width: 12,
        left: props.queues.map(({ name, queue }) =>
          queue.metricApproximateNumberOfMessagesVisible({ label: name, period: Duration.minutes(1) }),
        ),
      }),
      new GraphWidget({
        title: 'Age of oldest message (s)',
        width: 12,
        left: props.queues.map(({ name, queue }) =>
          queue.metricApproximateAgeOfOldestMessage({ label: name, period: Duration.minutes(1) }),
        ),
      }),
      new GraphWidget({
        title: 'Dead letters',
        width: 12,
        left: props.queues.map(({ name, deadLetters }) =>
          deadLetters.metricApproximateNumberOfMessagesVisible({ label: name, period: Duration.minutes(1) }),
        ),
      }),
      new GraphWidget({
        title: 'Assembly workflows',
        width: 12,
        left: props.stateMachines.flatMap(({ name, machine }) => [
          machine.metricSucceeded({ label: `${name} succeeded`, period: Duration.minutes(5) }),
          machine.metricFailed({ label: `${name} failed`, period: Duration.minutes(5) }),
        ]),
      }),
      new GraphWidget({
        title: 'Job and step outcomes (all queues and lines)',
        width: 12,
        left: [
          search(jobMetricNames.completed, 'Sum', 'completed', true),
          search(jobMetricNames.failed, 'Sum', 'failed attempts', true),
          search(jobMetricNames.dead, 'Sum', 'dead', true),
        ],
      }),
      new GraphWidget({
        title: 'Job and step run and wait time p95 (ms, by queue or line and type)',
        width: 12,
        left: [search(jobMetricNames.runTime, 'p95', perQueueAndType('run'), false)],
        right: [search(jobMetricNames.waitTime, 'p95', perQueueAndType('wait'), false)],
      }),
      new GraphWidget({
        title: 'Lambda errors and throttles (all factory functions)',
        width: 24,
        left: sum(
          props.functions.map(({ fn }) => fn.metricErrors({ period: Duration.minutes(1) })),
          'errors',
        ),
        right: sum(
          props.functions.map(({ fn }) => fn.metricThrottles({ period: Duration.minutes(1) })),
          'throttles',
        ),
      }),
    );
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The names CloudWatch shows: a construct path without the stack's name. */
export const displayNameOf = (stack: Stack, path: string): string =>
  path
    .replace(`${stack.stackName}/`, '')
    .split('/')
    .filter((part) => part !== 'Resource' && part !== 'Default')
    .join('')
    .replace(/[^A-Za-z0-9]/g, '');
