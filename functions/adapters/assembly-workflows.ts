import { stepFunctions, stepFunctionsSdk } from './aws-clients.ts';

/** A report for a task the workflow no longer waits for (timed out, already answered). */
const settledTaskErrors = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

const ignoreSettled = (error: unknown) => {
  if (error instanceof Error && settledTaskErrors.has(error.name)) return;
  throw error;
};

export class AssemblyWorkflows {
  /** @param stateMachines robot type → state machine ARN */
  constructor(private readonly stateMachines: Readonly<Record<string, string>>) {}

  /**
   * Starts the order's workflow. The execution is named after the order (or its resume), so a
   * repeated start (a retried request, the intake sweeper) finds the existing execution instead
   * of a second one.
   */
  async start(robotType: string, executionName: string, input: unknown): Promise<void> {
    const stateMachineArn = this.stateMachines[robotType];
    if (!stateMachineArn) throw new Error(`No assembly workflow is deployed for robot type ${robotType}`);
    try {
      await stepFunctions().send(
        new (stepFunctionsSdk().StartExecutionCommand)({
          stateMachineArn,
          name: executionName,
          input: JSON.stringify(input),
        }),
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'ExecutionAlreadyExists') return;
      throw error;
    }
  }

  async stepSucceeded(taskToken: string, output: Record<string, unknown>): Promise<void> {
    await stepFunctions()
      .send(new (stepFunctionsSdk().SendTaskSuccessCommand)({ taskToken, output: JSON.stringify(output) }))
      .catch(ignoreSettled);
  }

  async stepFailed(taskToken: string, error: string, cause: string): Promise<void> {
    await stepFunctions()
      .send(
        new (stepFunctionsSdk().SendTaskFailureCommand)({ taskToken, error, cause: cause.slice(0, 32_000) }),
      )
      .catch(ignoreSettled);
  }

  /** Stops the order's execution; one that already ended (or never started) is left as it is. */
  async stop(robotType: string, executionName: string, cause: string): Promise<void> {
    const stateMachineArn = this.stateMachines[robotType];
    if (!stateMachineArn) throw new Error(`No assembly workflow is deployed for robot type ${robotType}`);
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
    try {
      await stepFunctions().send(
        new (stepFunctionsSdk().StopExecutionCommand)({
          executionArn,
          error: 'OrderCancelled',
          cause: cause.slice(0, 32_000),
        }),
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return;
      throw error;
    }
  }
}
