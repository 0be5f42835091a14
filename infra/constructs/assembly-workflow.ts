import { Aws, Duration, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import {
  CustomState,
  DefinitionBody,
  Fail,
  FieldUtils,
  type IChainable,
  type INextable,
  JitterType,
  JsonPath,
  Parallel,
  Pass,
  QueryLanguage,
  Result,
  type State,
  StateMachine,
  StateMachineType,
} from 'aws-cdk-lib/aws-stepfunctions';
import { DynamoAttributeValue, DynamoUpdateItem } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { queueStatusKey, stepDeadRecord, stepJobIdFormat } from '../../functions/adapters/jobs-table.ts';
import { planStages } from '../../functions/domain/assembly-plan.ts';
import { type AssemblyStep, attemptsAllowed, type RobotType } from '../../functions/domain/catalog.ts';
import { bandNames, type PriorityBand } from '../../functions/domain/job-queues.ts';
import { lineForJobType } from '../../functions/domain/production-lines.ts';
import { stepFailureErrors, transportErrors } from '../../functions/domain/step-attempt.ts';

export interface AssemblyWorkflowProps {
  readonly robotType: RobotType;
  /** The band queues of each production line, by line name. */
  readonly lineQueues: Readonly<Record<string, Readonly<Record<PriorityBand, IQueue>>>>;
  readonly ordersTable: ITable;
  readonly jobsTable: ITable;
  /**
   * How long a step may wait for a worker before the workflow gives up on it: a backstop only.
   * Waiting in a paused line or behind a backlog is not an attempt, so it must outlast the
   * longest maintenance window (7 days). Attempts are timed by the workers, lost workers
   * found by the job dispatcher's lease sweep.
   * @default 8 days
   */
  readonly stepWaitLimit?: Duration;
}

const str = (value: string) => DynamoAttributeValue.fromString(value);
const at = () => str(JsonPath.stringAt('$$.State.EnteredTime'));

/** Bookkeeping writes ride out DynamoDB's transient faults instead of failing the order. */
const retryTransport = (state: DynamoUpdateItem) =>
  state.addRetry({
    errors: transportErrors('DynamoDB'),
    maxAttempts: 6,
    interval: Duration.seconds(1),
    backoffRate: 2,
    maxDelay: Duration.seconds(30),
    jitterStrategy: JitterType.FULL,
  });

/**
 * The assembly workflow of one robot type, built from its catalog entry. Each step is one Task
 * state that sends the step to its line's queue for the order's priority band and waits for the
 * worker's task token callback; retries with backoff live on that state, so a retry costs one
 * state transition. The state has no heartbeat and only a backstop timeout: time spent waiting
 * for a worker (a paused line, a backlog) is not an attempt. Stages of independent steps run in a
 * Parallel state. Bookkeeping states run only at the end, or on the failure path.
 */
export class AssemblyWorkflow extends Construct {
  public readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: AssemblyWorkflowProps) {
    super(scope, id);
    const { robotType } = props;
    const waitLimit = props.stepWaitLimit ?? Duration.days(8);

    const orderKey = { orderId: str(JsonPath.stringAt('$.orderId')) };
    const recordOrderFailed = new DynamoUpdateItem(this, 'Record order failed', {
      table: props.ordersTable,
      key: orderKey,
      updateExpression: 'SET #status = :failed, failedAt = :at, #error = :error',
      conditionExpression: '#status IN (:pending, :inProgress)',
      expressionAttributeNames: { '#status': 'status', '#error': 'error' },
      expressionAttributeValues: {
        ':failed': str('FAILED'),
        ':pending': str('PENDING'),
        ':inProgress': str('IN_PROGRESS'),
        ':at': at(),
        ':error': str(JsonPath.stringAt('$.failure.Cause')),
      },
      resultPath: JsonPath.DISCARD,
    });
    retryTransport(recordOrderFailed).next(
      new Fail(this, 'Order failed', {
        error: 'OrderFailed',
        causePath: JsonPath.stringAt('$.failure.Cause'),
      }),
    );

    const bandQueues = new Set<IQueue>();
    /** Steps whose dead record found them completed after all: the workflow carries on from there. */
    const lateCompletions: { pass: Pass; stage: number }[] = [];

    const stepState = (step: AssemblyStep, stage: number, inParallel: boolean): State & INextable => {
      const line = lineForJobType(step.jobType);
      const queues = line && props.lineQueues[line];
      if (!queues) throw new Error(`${robotType.name}.${step.name}: no queue for job type ${step.jobType}`);
      const dispatch = new CustomState(this, `Run ${step.name}`, {
        stateJson: {
          Type: 'Task',
          Resource: `arn:${Aws.PARTITION}:states:::sqs:sendMessage.waitForTaskToken`,
          Parameters: FieldUtils.renderObject({
            // The order's priority band picks the band queue (0 urgent, 1 normal, 2 low).
            QueueUrl: JsonPath.arrayGetItem(
              JsonPath.array(...bandNames.map((band) => queues[band].queueUrl)),
              JsonPath.numberAt('$.band'),
            ),
            MessageBody: {
              taskToken: JsonPath.taskToken,
              // Token, execution start and retry count identify the dispatch: a newer one
              // supersedes an older one still in a queue (see domain/step-attempt.ts).
              retryCount: JsonPath.numberAt('$$.State.RetryCount'),
              executionStartedAt: JsonPath.stringAt('$$.Execution.StartTime'),
              orderId: JsonPath.stringAt('$.orderId'),
              robotType: JsonPath.stringAt('$.robotType'),
              stepName: step.name,
              jobType: step.jobType,
              priority: JsonPath.numberAt('$.priority'),
              simulate: JsonPath.objectAt('$.simulate'),
            },
          }),
          // The step's report is in the jobs table; the workflow payload stays the order input.
          ResultPath: null,
          TimeoutSeconds: waitLimit.toSeconds(),
          // No worker heartbeats the workflow (attempts are timed and leased by the factory), so
          // this never fires before the timeout. It is here because LocalStack's interpreter (the
          // moto backend) otherwise hands a stale callback outcome to a retry that reuses the
          // task token; with a heartbeat endpoint per attempt it waits for the new outcome.
          HeartbeatSeconds: waitLimit.toSeconds() - 3600,
        },
      });
      for (const band of bandNames) bandQueues.add(queues[band]);
      // A failed attempt (handler error, timeout, lost worker): the step's own retry policy.
      dispatch.addRetry({
        errors: [...stepFailureErrors],
        maxAttempts: step.retry.maxRetries,
        interval: Duration.seconds(step.retry.intervalSeconds),
        backoffRate: step.retry.backoffRate,
        maxDelay: Duration.seconds(step.retry.maxDelaySeconds),
        jitterStrategy: step.retry.jitter === 'FULL' ? JitterType.FULL : JitterType.NONE,
      });
      // A failed dispatch (SQS throttling or a 5xx) is no attempt: its own budget and backoff.
      dispatch.addRetry({
        errors: transportErrors('SQS'),
        maxAttempts: 10,
        interval: Duration.seconds(1),
        backoffRate: 2,
        maxDelay: Duration.seconds(60),
        jitterStrategy: JitterType.FULL,
      });

      const markDead = new DynamoUpdateItem(this, `Record ${step.name} dead`, {
        table: props.jobsTable,
        key: { jobId: str(JsonPath.format(stepJobIdFormat(step.name), JsonPath.stringAt('$.orderId'))) },
        updateExpression: stepDeadRecord.updateExpression,
        conditionExpression: stepDeadRecord.conditionExpression,
        expressionAttributeNames: { ...stepDeadRecord.expressionAttributeNames },
        expressionAttributeValues: {
          ':dead': str('DEAD'),
          ':completed': str('COMPLETED'),
          ':at': at(),
          ':kind': str(JsonPath.stringAt('$.failure.Error')),
          ':orderId': str(JsonPath.stringAt('$.orderId')),
          ':robotType': str(JsonPath.stringAt('$.robotType')),
          ':step': str(step.name),
          ':type': str(step.jobType),
          ':queue': str(line),
          ':queueDead': str(queueStatusKey(line, 'DEAD')),
          ':stepKind': str('step'),
          ':max': DynamoAttributeValue.fromNumber(attemptsAllowed(step)),
          ':zero': DynamoAttributeValue.fromNumber(0),
          // Only if no attempt recorded its error (the worker writes the real one).
          ':cause': str(`Step ${step.name} gave up`),
        },
        resultPath: JsonPath.DISCARD,
      });
      retryTransport(markDead);
      // The order names the step; its status view adds what the step's last attempt said (the job
      // row's error), so the workflow never depends on a failure's Cause being passed along.
      const explain = new Pass(this, `Explain ${step.name} failure`, {
        result: Result.fromObject({ Error: 'StepDead', Cause: `Step ${step.name} failed` }),
        resultPath: '$.failure',
      });
      explain.next(
        inParallel
          ? new Fail(this, `${step.name} gave up`, {
              errorPath: JsonPath.stringAt('$.failure.Error'),
              causePath: JsonPath.stringAt('$.failure.Cause'),
            })
          : recordOrderFailed,
      );
      // A job found COMPLETED (a late report of an attempt) was not dead after all: carry on.
      const completedAfterAll = new Pass(this, `${step.name} completed after all`, {
        resultPath: JsonPath.DISCARD,
      });
      if (!inParallel) lateCompletions.push({ pass: completedAfterAll, stage });
      markDead.addCatch(completedAfterAll, {
        errors: ['DynamoDB.ConditionalCheckFailedException'],
        resultPath: JsonPath.DISCARD,
      });
      markDead.addCatch(explain, { resultPath: JsonPath.DISCARD });
      markDead.next(explain);
      dispatch.addCatch(markDead, { errors: ['States.ALL'], resultPath: '$.failure' });
      return dispatch;
    };

    const stages = planStages(robotType).map((stage, index): State & INextable => {
      if (stage.length === 1) return stepState(stage[0] as AssemblyStep, index, false);
      const parallel = new Parallel(this, `Stage ${index + 1} in parallel`, { resultPath: JsonPath.DISCARD });
      for (const step of stage) parallel.branch(stepState(step, index, true));
      parallel.addCatch(recordOrderFailed, { errors: ['States.ALL'], resultPath: '$.failure' });
      return parallel;
    });

    const recordOrderCompleted = new DynamoUpdateItem(this, 'Record order completed', {
      table: props.ordersTable,
      key: orderKey,
      updateExpression: 'SET #status = :completed, completedAt = :at',
      conditionExpression: '#status IN (:pending, :inProgress)',
      expressionAttributeNames: { '#status': 'status' },
      expressionAttributeValues: {
        ':completed': str('COMPLETED'),
        ':pending': str('PENDING'),
        ':inProgress': str('IN_PROGRESS'),
        ':at': at(),
      },
      resultPath: JsonPath.DISCARD,
    });
    retryTransport(recordOrderCompleted);

    const [first, ...rest] = stages;
    if (!first) throw new Error(`${robotType.name} has no steps`);
    let chain = first;
    for (const stage of rest) {
      chain.next(stage);
      chain = stage;
    }
    chain.next(recordOrderCompleted);
    for (const { pass, stage } of lateCompletions) {
      pass.next((stages[stage + 1] as IChainable | undefined) ?? recordOrderCompleted);
    }

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      queryLanguage: QueryLanguage.JSON_PATH,
      definitionBody: DefinitionBody.fromChainable(first),
      comment: `Assembly of a ${robotType.name} robot: ${robotType.description}`,
      // Longer than any step may wait (a paused line), within what timers can hold locally.
      timeout: Duration.days(21),
      // X-Ray: an order's trace runs from the API through the workflow to each step's worker.
      tracingEnabled: true,
    });
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray (PutTraceSegments, PutTelemetryRecords, sampling rules) accepts no other resource',
    });
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-SF1',
      reason:
        "Step Functions keeps each execution's full history for 90 days and the order status lives in DynamoDB; CloudWatch logging of ALL events would bill every transition a second time",
    });
    for (const queue of bandQueues) queue.grantSendMessages(this.stateMachine);
  }
}
