/**
 * A Step Functions API (AWS JSON 1.0 protocol) over the aws-local-stepfunctions interpreter.
 * The interpreter runs the ASL (Retry with backoff and jitter, Catch, Parallel, Map, intrinsics);
 * this facade adds what it lacks: executions addressable by ARN, `$$.Task.Token` with
 * SendTaskSuccess/Failure/Heartbeat and HeartbeatSeconds, the sqs/dynamodb integrations, and a
 * count of billed state transitions per execution.
 */
import './polyfills.ts';
import { randomBytes } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { BufferedRequest, ServiceResponse } from '../edge.ts';
import { Journal } from '../journal.ts';
import { dynamodbCall, type IntegrationClients, sendMessage, TaskError } from './integrations.ts';

const TOKEN_PLACEHOLDER = '__LOCAL_CLOUD_TASK_TOKEN__';
const RETRY_COUNT_PLACEHOLDER = '__LOCAL_CLOUD_RETRY_COUNT__';

type Json = Record<string, unknown>;

interface StateMachineRecord {
  readonly arn: string;
  readonly name: string;
  readonly definition: string;
  readonly roleArn: string;
  readonly type: string;
  readonly creationDate: number;
  readonly machine: StateMachine;
  readonly taskStates: Map<string, Json>;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';

export interface ExecutionRecord {
  readonly arn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  readonly startDate: number;
  status: ExecutionStatus;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  /** Billed state transitions: every state entered, plus every retry. */
  transitions: number;
  /** Runs of each Task state so far: its `$$.State.RetryCount` (the workflows never re-enter a state). */
  readonly taskRuns: Map<string, number>;
  /** When this run of the execution began: its start, or its replay after a restart. */
  runStartedAt: number;
  abort?: () => void;
}

/** What the journal keeps of executions: enough to list them and to run the unfinished ones again. */
type ExecutionEntry =
  | { e: 'start'; arn: string; machine: string; name: string; input: string; at: number }
  | {
      e: 'end';
      arn: string;
      status: ExecutionStatus;
      at: number;
      output?: string;
      error?: string;
      cause?: string;
    };

interface PendingTask {
  readonly executionArn: string;
  readonly resolve: (output: unknown) => void;
  readonly reject: (error: Error) => void;
  heartbeatTimer?: NodeJS.Timeout;
  readonly heartbeatSeconds?: number;
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/**
 * What the facade keeps in memory. AWS keeps finished executions 90 days; the factory never
 * reads them (an order's state lives in DynamoDB), so the local cloud keeps the most recent ones
 * and forgets older ones (their names may then be reused here, not on AWS). Answered task tokens
 * are remembered so that a late report gets TaskTimedOut; a forgotten one gets TaskDoesNotExist,
 * which the workers treat alike. Both used to grow with every order for the life of the process.
 */
export interface FacadeRetention {
  readonly finishedExecutions: number;
  readonly settledTokens: number;
}
export const defaultRetention: FacadeRetention = { finishedExecutions: 10_000, settledTokens: 100_000 };

export class StepFunctionsFacade {
  private readonly machines = new Map<string, StateMachineRecord>();
  private readonly executions = new Map<string, ExecutionRecord>();
  /** Finished executions in the order they finished: the oldest are forgotten first. */
  private readonly finishedArns = new Set<string>();
  private readonly pendingTasks = new Map<string, PendingTask>();
  /** Tokens already answered or timed out: late reports get TaskTimedOut, as on AWS. */
  private readonly settledTokens = new Set<string>();
  private stopped = false;

  private readonly journal: Journal<ExecutionEntry>;

  /** @param journalFile keeps executions across restarts (in memory only without one) */
  constructor(
    private readonly clients: IntegrationClients,
    private readonly identity: { region: string; accountId: string },
    journalFile?: string,
    private readonly log: (line: string) => void = () => undefined,
    private readonly retention: FacadeRetention = defaultRetention,
  ) {
    this.journal = new Journal(journalFile);
  }

  /**
   * After a restart, once the state machines exist again: executions that were running run again
   * from the start, under the same name and input. Their task tokens are new; steps that already
   * completed answer from their job rows (the same path as a resumed order), and a dispatch of
   * the new run supersedes the old one's messages (a later $$.Execution.StartTime).
   */
  resumeFromJournal(): number {
    const started = new Map<string, Extract<ExecutionEntry, { e: 'start' }>>();
    const ended = new Map<string, Extract<ExecutionEntry, { e: 'end' }>>();
    for (const entry of this.journal.load()) {
      if (entry.e === 'start') started.set(entry.arn, entry);
      else ended.set(entry.arn, entry);
    }
    let resumed = 0;
    for (const [arn, start] of started) {
      const end = ended.get(arn);
      const machine = this.machines.get(start.machine);
      const execution: ExecutionRecord = {
        arn,
        stateMachineArn: start.machine,
        name: start.name,
        input: start.input,
        startDate: start.at,
        status: end?.status ?? 'RUNNING',
        transitions: 0,
        taskRuns: new Map(),
        runStartedAt: Date.now(),
        ...(end ? { stopDate: end.at, output: end.output, error: end.error, cause: end.cause } : {}),
      };
      this.executions.set(arn, execution);
      if (end) {
        this.retire(arn);
        continue;
      }
      if (!machine) {
        this.finish(execution, 'FAILED', {
          error: 'States.Runtime',
          cause: 'Its state machine no longer exists',
        });
        continue;
      }
      this.run(machine, execution, JSON.parse(start.input));
      resumed++;
    }
    // Only what is needed goes forward: the finished executions once, the running ones.
    this.journal.rewrite(
      [...this.executions.values()].flatMap((e): ExecutionEntry[] => [
        { e: 'start', arn: e.arn, machine: e.stateMachineArn, name: e.name, input: e.input, at: e.startDate },
        ...(e.status === 'RUNNING'
          ? []
          : [
              {
                e: 'end' as const,
                arn: e.arn,
                status: e.status,
                at: e.stopDate ?? e.startDate,
                ...(e.output !== undefined ? { output: e.output } : {}),
                ...(e.error !== undefined ? { error: e.error } : {}),
                ...(e.cause !== undefined ? { cause: e.cause } : {}),
              },
            ]),
      ]),
    );
    return resumed;
  }

  private finish(
    execution: ExecutionRecord,
    status: Exclude<ExecutionStatus, 'RUNNING'>,
    detail: { output?: string; error?: string; cause?: string } = {},
  ): void {
    execution.status = status;
    execution.stopDate = Date.now();
    Object.assign(execution, detail);
    this.journal.append({ e: 'end', arn: execution.arn, status, at: execution.stopDate, ...detail });
    this.retire(execution.arn);
  }

  /** A finished execution joins the kept ones; the oldest beyond the retention are forgotten. */
  private retire(arn: string): void {
    this.finishedArns.add(arn);
    for (const oldest of this.finishedArns) {
      if (this.finishedArns.size <= this.retention.finishedExecutions) break;
      this.finishedArns.delete(oldest);
      this.executions.delete(oldest);
    }
  }

  readonly handle = async (request: BufferedRequest): Promise<ServiceResponse> => {
    const action = String(request.headers['x-amz-target']).split('.')[1] ?? '';
    const body = request.body.length ? (JSON.parse(request.body.toString()) as Json) : {};
    try {
      const result = await this.dispatch(action, body);
      return {
        status: 200,
        headers: { 'content-type': 'application/x-amz-json-1.0' },
        body: JSON.stringify(result),
      };
    } catch (error) {
      const apiError =
        error instanceof ApiError ? error : new ApiError('InternalFailure', (error as Error).message, 500);
      return {
        status: apiError.status,
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': apiError.type },
        body: JSON.stringify({ __type: apiError.type, message: apiError.message }),
      };
    }
  };

  /**
   * Ends what is still running: waiting tasks fail (which clears their interpreter timers, days
   * long for a step that waits for a worker) and executions are aborted.
   */
  stop(): void {
    // What was running at the stop runs again at the next start (resumeFromJournal).
    this.stopped = true;
    for (const [token, task] of this.pendingTasks) {
      this.dropTask(token);
      task.reject(new TaskError('States.Runtime', 'The local cloud stopped'));
    }
    for (const execution of this.executions.values()) if (execution.status === 'RUNNING') execution.abort?.();
    this.journal.close();
  }

  /** All executions, for the bench's transition counts. */
  listExecutionRecords(): ExecutionRecord[] {
    return [...this.executions.values()];
  }

  private dispatch(action: string, body: Json): Promise<unknown> | unknown {
    switch (action) {
      case 'CreateStateMachine':
        return this.createStateMachine(body);
      case 'DescribeStateMachine':
        return this.describeStateMachine(this.machine(String(body.stateMachineArn)));
      case 'ListStateMachines':
        return {
          stateMachines: [...this.machines.values()].map((m) => ({
            stateMachineArn: m.arn,
            name: m.name,
            type: m.type,
            creationDate: m.creationDate / 1000,
          })),
        };
      case 'StartExecution':
        return this.startExecution(body);
      case 'DescribeExecution':
        return this.describeExecution(this.execution(String(body.executionArn)));
      case 'ListExecutions':
        return {
          executions: [...this.executions.values()]
            .filter((e) => e.stateMachineArn === body.stateMachineArn)
            .filter((e) => !body.statusFilter || e.status === body.statusFilter)
            .map((e) => ({
              executionArn: e.arn,
              stateMachineArn: e.stateMachineArn,
              name: e.name,
              status: e.status,
              startDate: e.startDate / 1000,
              ...(e.stopDate ? { stopDate: e.stopDate / 1000 } : {}),
            })),
        };
      case 'StopExecution': {
        const execution = this.execution(String(body.executionArn));
        if (execution.status === 'RUNNING') {
          this.finish(execution, 'ABORTED', {
            ...(body.error !== undefined ? { error: String(body.error) } : {}),
            ...(body.cause !== undefined ? { cause: String(body.cause) } : {}),
          });
          execution.abort?.();
          this.settleTasksOf(execution.arn);
        }
        return { stopDate: (execution.stopDate ?? Date.now()) / 1000 };
      }
      case 'SendTaskSuccess':
        return this.settleTask(String(body.taskToken), (task) =>
          task.resolve(JSON.parse(String(body.output ?? '{}'))),
        );
      case 'SendTaskFailure':
        return this.settleTask(String(body.taskToken), (task) =>
          task.reject(new TaskError(String(body.error ?? 'States.TaskFailed'), String(body.cause ?? ''))),
        );
      case 'SendTaskHeartbeat': {
        const token = String(body.taskToken);
        const task = this.pendingTasks.get(token);
        if (!task) throw this.unknownToken(token);
        this.armHeartbeat(token, task);
        return {};
      }
      default:
        throw new ApiError(
          'UnknownOperationException',
          `The local Step Functions does not implement ${action}`,
        );
    }
  }

  private createStateMachine(body: Json) {
    const name = String(body.name);
    const arn = `arn:aws:states:${this.identity.region}:${this.identity.accountId}:stateMachine:${name}`;
    const existing = this.machines.get(arn);
    if (existing) {
      if (existing.definition === body.definition)
        return { stateMachineArn: arn, creationDate: existing.creationDate / 1000 };
      throw new ApiError('StateMachineAlreadyExists', `State machine ${name} already exists`);
    }
    const definition = JSON.parse(String(body.definition)) as Json;
    if ('QueryLanguage' in definition && definition.QueryLanguage !== 'JSONPath') {
      throw new ApiError(
        'InvalidDefinition',
        'The local cloud runs JSONPath state machines only (JSONata is ignored by its interpreter)',
      );
    }
    const machine = new StateMachine(definition as never, {
      validationOptions: { checkArn: false, checkPaths: true },
    });
    const taskStates = new Map<string, Json>();
    collectTaskStates(definition, taskStates);
    const record: StateMachineRecord = {
      arn,
      name,
      definition: String(body.definition),
      roleArn: String(body.roleArn ?? ''),
      type: String(body.type ?? 'STANDARD'),
      creationDate: Date.now(),
      machine,
      taskStates,
    };
    this.machines.set(arn, record);
    return { stateMachineArn: arn, creationDate: record.creationDate / 1000 };
  }

  private describeStateMachine(m: StateMachineRecord) {
    return {
      stateMachineArn: m.arn,
      name: m.name,
      status: 'ACTIVE',
      definition: m.definition,
      roleArn: m.roleArn,
      type: m.type,
      creationDate: m.creationDate / 1000,
    };
  }

  private startExecution(body: Json) {
    const machine = this.machine(String(body.stateMachineArn));
    const name = String(body.name ?? randomBytes(16).toString('hex'));
    const input = String(body.input ?? '{}');
    const arn = `arn:aws:states:${this.identity.region}:${this.identity.accountId}:execution:${machine.name}:${name}`;
    const existing = this.executions.get(arn);
    if (existing) {
      // AWS: same name and input while running is idempotent; anything else is a conflict.
      if (existing.status === 'RUNNING' && existing.input === input) {
        return { executionArn: arn, startDate: existing.startDate / 1000 };
      }
      throw new ApiError('ExecutionAlreadyExists', `Execution ${name} already exists`);
    }
    let parsedInput: unknown;
    try {
      parsedInput = JSON.parse(input);
    } catch {
      throw new ApiError('InvalidExecutionInput', 'The execution input is not valid JSON');
    }
    const execution: ExecutionRecord = {
      arn,
      stateMachineArn: machine.arn,
      name,
      input,
      startDate: Date.now(),
      status: 'RUNNING',
      transitions: 0,
      taskRuns: new Map(),
      runStartedAt: Date.now(),
    };
    this.executions.set(arn, execution);
    this.journal.append({ e: 'start', arn, machine: machine.arn, name, input, at: execution.startDate });
    this.run(machine, execution, parsedInput);
    return { executionArn: arn, startDate: execution.startDate / 1000 };
  }

  private run(machine: StateMachineRecord, execution: ExecutionRecord, input: unknown): void {
    const overrides: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [stateName, state] of machine.taskStates) {
      overrides[stateName] = (taskInput) => {
        const retryCount = execution.taskRuns.get(stateName) ?? 0;
        execution.taskRuns.set(stateName, retryCount + 1);
        return this.runTask(
          execution,
          state,
          replacePlaceholder(taskInput, RETRY_COUNT_PLACEHOLDER, retryCount),
        );
      };
    }
    const run = machine.machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: overrides as never },
      noThrowOnAbort: true,
      context: {
        Execution: {
          Id: execution.arn,
          Name: execution.name,
          RoleArn: machine.roleArn,
          StartTime: new Date(execution.runStartedAt).toISOString(),
        },
        StateMachine: { Id: machine.arn, Name: machine.name },
        // Evaluated when a state reads it, so it is the time that state was entered.
        State: {
          get EnteredTime() {
            return new Date().toISOString();
          },
          // The interpreter has no retry counter; the task override fills it in.
          RetryCount: RETRY_COUNT_PLACEHOLDER,
        },
        Task: { Token: TOKEN_PLACEHOLDER },
      } as never,
    });
    execution.abort = run.abort;
    void (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === 'StateEntered' || event.type === 'StateRetried') execution.transitions++;
      }
    })().catch(() => undefined);
    run.result.then(
      (output) => {
        if (execution.status !== 'RUNNING' || this.stopped) return;
        this.finish(execution, 'SUCCEEDED', { output: JSON.stringify(output ?? null) });
      },
      (error: Error) => {
        if (execution.status !== 'RUNNING' || this.stopped) return;
        const cause = (error.cause as Error | undefined) ?? error;
        this.log(`[states] execution ${execution.name} failed: ${cause.name}: ${cause.message}`);
        this.finish(
          execution,
          cause.name === 'States.Timeout' && error.name === 'ExecutionTimeoutError' ? 'TIMED_OUT' : 'FAILED',
          { error: cause.name, cause: cause.message },
        );
        this.settleTasksOf(execution.arn);
      },
    );
  }

  private async runTask(execution: ExecutionRecord, state: Json, input: unknown): Promise<unknown> {
    const resource = String(state.Resource);
    const match = resource.match(/^arn:aws[\w-]*:states:::([\w-]+):(\w+)(\.waitForTaskToken|\.sync)?$/);
    if (!match) throw new TaskError('States.Runtime', `The local cloud cannot run task resource ${resource}`);
    const [, service, action, pattern] = match as unknown as [string, string, string, string | undefined];
    if (pattern === '.sync')
      throw new TaskError('States.Runtime', `${resource}: .sync integrations are not supported locally`);

    let token: string | undefined;
    let parameters = input as Json;
    if (pattern === '.waitForTaskToken') {
      token = `${randomBytes(24).toString('base64url')}`;
      parameters = replacePlaceholder(parameters, TOKEN_PLACEHOLDER, token) as Json;
    }
    const waiting = token
      ? this.waitForToken(execution.arn, token, state.HeartbeatSeconds as number | undefined)
      : undefined;
    try {
      let result: unknown;
      if (service === 'sqs' && action === 'sendMessage') result = await sendMessage(this.clients, parameters);
      else if (service === 'dynamodb') result = await dynamodbCall(this.clients, action, parameters);
      else
        throw new TaskError('States.Runtime', `The local cloud does not integrate with ${service}:${action}`);
      return waiting ? await waiting : result;
    } catch (error) {
      if (token) this.dropTask(token);
      throw error;
    }
  }

  private waitForToken(executionArn: string, token: string, heartbeatSeconds?: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const task: PendingTask = { executionArn, resolve, reject, heartbeatSeconds };
      this.pendingTasks.set(token, task);
      this.armHeartbeat(token, task);
    });
  }

  private armHeartbeat(token: string, task: PendingTask): void {
    if (!task.heartbeatSeconds) return;
    clearTimeout(task.heartbeatTimer);
    task.heartbeatTimer = setTimeout(() => {
      this.dropTask(token);
      task.reject(new TaskError('States.HeartbeatTimeout', `No heartbeat for ${task.heartbeatSeconds} s`));
    }, task.heartbeatSeconds * 1000);
    task.heartbeatTimer.unref();
  }

  private settleTask(token: string, settle: (task: PendingTask) => void) {
    const task = this.pendingTasks.get(token);
    if (!task) throw this.unknownToken(token);
    this.dropTask(token);
    settle(task);
    return {};
  }

  private dropTask(token: string): void {
    const task = this.pendingTasks.get(token);
    if (task) clearTimeout(task.heartbeatTimer);
    this.pendingTasks.delete(token);
    this.settledTokens.add(token);
    for (const oldest of this.settledTokens) {
      if (this.settledTokens.size <= this.retention.settledTokens) break;
      this.settledTokens.delete(oldest);
    }
  }

  private settleTasksOf(executionArn: string): void {
    for (const [token, task] of this.pendingTasks)
      if (task.executionArn === executionArn) this.dropTask(token);
  }

  private unknownToken(token: string): ApiError {
    return this.settledTokens.has(token)
      ? new ApiError('TaskTimedOut', 'The task is no longer waiting for a report')
      : new ApiError('TaskDoesNotExist', 'No task has this token');
  }

  private machine(arn: string): StateMachineRecord {
    const machine = this.machines.get(arn);
    if (!machine) throw new ApiError('StateMachineDoesNotExist', `State machine does not exist: ${arn}`);
    return machine;
  }

  private execution(arn: string): ExecutionRecord {
    const execution = this.executions.get(arn);
    if (!execution) throw new ApiError('ExecutionDoesNotExist', `Execution does not exist: ${arn}`);
    return execution;
  }

  private describeExecution(e: ExecutionRecord) {
    return {
      executionArn: e.arn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate / 1000,
      input: e.input,
      ...(e.stopDate ? { stopDate: e.stopDate / 1000 } : {}),
      ...(e.output !== undefined ? { output: e.output } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
      ...(e.cause !== undefined ? { cause: e.cause } : {}),
    };
  }
}

function collectTaskStates(definition: Json, into: Map<string, Json>): void {
  for (const [name, state] of Object.entries((definition.States ?? {}) as Record<string, Json>)) {
    if (state.Type === 'Task') into.set(name, state);
    for (const branch of (state.Branches ?? []) as Json[]) collectTaskStates(branch, into);
    const iterator = (state.ItemProcessor ?? state.Iterator) as Json | undefined;
    if (iterator) collectTaskStates(iterator, into);
  }
}

function replacePlaceholder(value: unknown, placeholder: string, replacement: unknown): unknown {
  if (value === placeholder) return replacement;
  if (Array.isArray(value)) return value.map((v) => replacePlaceholder(v, placeholder, replacement));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, replacePlaceholder(v, placeholder, replacement)]),
    );
  }
  return value;
}
