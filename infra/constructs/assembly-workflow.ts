import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import {
  DefinitionBody,
  Fail,
  type IChainable,
  type INextable,
  IntegrationPattern,
  JitterType,
  JsonPath,
  Parallel,
  Pass,
  QueryLanguage,
  Result,
  type State,
  StateMachine,
  StateMachineType,
  TaskInput,
  Timeout,
} from 'aws-cdk-lib/aws-stepfunctions';
import { DynamoAttributeValue, DynamoUpdateItem, SqsSendMessage } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { planStages } from '../../functions/domain/assembly-plan.ts';
import { type AssemblyStep, attemptsAllowed, type RobotType } from '../../functions/domain/catalog.ts';
import { lineForJobType } from '../../functions/domain/production-lines.ts';

export interface AssemblyWorkflowProps {
  readonly robotType: RobotType;
  /** The work queue of each production line, by line name. */
  readonly lineQueues: Readonly<Record<string, IQueue>>;
  readonly ordersTable: ITable;
  readonly jobsTable: ITable;
  /** SendTaskHeartbeat is expected at least this often from a running step. @default 60 seconds */
  readonly stepHeartbeat?: Duration;
}

const str = (value: string) => DynamoAttributeValue.fromString(value);
const at = () => str(JsonPath.stringAt('$$.State.EnteredTime'));

/**
 * The assembly workflow of one robot type, built from its catalog entry. Each step is one Task
 * state that sends the step to its line's queue and waits for the worker's task token callback;
 * retries with backoff live on that state, so a retry costs one state transition. Stages of
 * independent steps run in a Parallel state. Bookkeeping states run only at the end, or on the
 * failure path.
 */
export class AssemblyWorkflow extends Construct {
  public readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: AssemblyWorkflowProps) {
    super(scope, id);
    const { robotType } = props;
    const heartbeat = props.stepHeartbeat ?? Duration.seconds(60);

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
    }).next(
      new Fail(this, 'Order failed', {
        error: 'OrderFailed',
        cause: `A ${robotType.name} step exhausted its retries`,
      }),
    );

    const stepState = (step: AssemblyStep, inParallel: boolean): State & INextable => {
      const line = lineForJobType(step.jobType);
      const queue = line && props.lineQueues[line];
      if (!queue) throw new Error(`${robotType.name}.${step.name}: no queue for job type ${step.jobType}`);
      const dispatch = new SqsSendMessage(this, `Run ${step.name}`, {
        queue,
        integrationPattern: IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        messageBody: TaskInput.fromObject({
          taskToken: JsonPath.taskToken,
          // With the token, identifies the attempt: some engines reuse the token across retries.
          retryCount: JsonPath.numberAt('$$.State.RetryCount'),
          orderId: JsonPath.stringAt('$.orderId'),
          robotType: JsonPath.stringAt('$.robotType'),
          stepName: step.name,
          jobType: step.jobType,
          priority: JsonPath.numberAt('$.priority'),
          simulate: JsonPath.objectAt('$.simulate'),
        }),
        // The step's report is in the jobs table; the workflow payload stays the order input.
        resultPath: JsonPath.DISCARD,
        taskTimeout: Timeout.duration(Duration.seconds(step.timeoutSeconds)),
        heartbeatTimeout: Timeout.duration(heartbeat),
      });
      dispatch.addRetry({
        errors: ['StepFailed', 'States.Timeout', 'States.HeartbeatTimeout'],
        maxAttempts: step.retry.maxRetries,
        interval: Duration.seconds(step.retry.intervalSeconds),
        backoffRate: step.retry.backoffRate,
        maxDelay: Duration.seconds(step.retry.maxDelaySeconds),
        jitterStrategy: step.retry.jitter === 'FULL' ? JitterType.FULL : JitterType.NONE,
      });

      const cause = `Step ${step.name} failed all ${attemptsAllowed(step)} attempts`;
      const markDead = new DynamoUpdateItem(this, `Record ${step.name} dead`, {
        table: props.jobsTable,
        key: { jobId: str(JsonPath.format(`{}.${step.name}`, JsonPath.stringAt('$.orderId'))) },
        updateExpression:
          'SET #status = :dead, queueStatus = :queueDead, deadAt = :at, updatedAt = :at, failureKind = :kind, orderId = :orderId, stepName = :step, ' +
          'robotType = :robotType, #type = :type, queue = :queue, kind = :stepKind, maxAttempts = :max, ' +
          'attempts = if_not_exists(attempts, :zero), createdAt = if_not_exists(createdAt, :at), ' +
          'lastError = if_not_exists(lastError, :cause) REMOVE leaseExpiresAt, leaseShard',
        conditionExpression: 'attribute_not_exists(#status) OR #status <> :completed',
        expressionAttributeNames: { '#status': 'status', '#type': 'type' },
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
          ':queueDead': str(`${line}#DEAD`),
          ':stepKind': str('step'),
          ':max': DynamoAttributeValue.fromNumber(attemptsAllowed(step)),
          ':zero': DynamoAttributeValue.fromNumber(0),
          ':cause': str(cause),
        },
        resultPath: JsonPath.DISCARD,
      });
      const afterDead: IChainable = inParallel
        ? new Fail(this, `${step.name} gave up`, { error: 'StepDead', cause })
        : new Pass(this, `Explain ${step.name} failure`, {
            result: Result.fromObject({ Error: 'StepDead', Cause: cause }),
            resultPath: '$.failure',
          }).next(recordOrderFailed);
      // A job that completed after all (a late report) is not marked dead; the order still fails.
      markDead.addCatch(afterDead, { resultPath: JsonPath.DISCARD });
      markDead.next(afterDead);
      dispatch.addCatch(markDead, { errors: ['States.ALL'], resultPath: '$.failure' });
      return dispatch;
    };

    const stages = planStages(robotType).map((stage, index): State & INextable => {
      if (stage.length === 1) return stepState(stage[0] as AssemblyStep, false);
      const parallel = new Parallel(this, `Stage ${index + 1} in parallel`, { resultPath: JsonPath.DISCARD });
      for (const step of stage) parallel.branch(stepState(step, true));
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

    const [first, ...rest] = stages;
    if (!first) throw new Error(`${robotType.name} has no steps`);
    let chain = first;
    for (const stage of rest) {
      chain.next(stage);
      chain = stage;
    }
    chain.next(recordOrderCompleted);

    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineType: StateMachineType.STANDARD,
      queryLanguage: QueryLanguage.JSON_PATH,
      definitionBody: DefinitionBody.fromChainable(first),
      comment: `Assembly of a ${robotType.name} robot: ${robotType.description}`,
      timeout: Duration.hours(24),
    });
  }
}
