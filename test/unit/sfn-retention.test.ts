/** The local Step Functions facade forgets its oldest finished executions instead of growing forever. */
import { describe, expect, it } from 'vitest';
import { StepFunctionsFacade } from '../../localstack/cloud/step-functions/facade.ts';

const call = async (facade: StepFunctionsFacade, action: string, body: unknown) => {
  const response = await facade.handle({
    method: 'POST',
    url: '/',
    headers: { 'x-amz-target': `AWSStepFunctions.${action}` },
    body: Buffer.from(JSON.stringify(body)),
  });
  return { status: response.status, body: JSON.parse(String(response.body ?? '{}')) };
};

describe('Step Functions facade retention', () => {
  it('keeps the most recent finished executions and forgets the oldest', async () => {
    const facade = new StepFunctionsFacade(
      {} as never,
      { region: 'us-east-1', accountId: '000000000000' },
      undefined,
      () => undefined,
      { finishedExecutions: 3, settledTokens: 10 },
    );
    const machine = await call(facade, 'CreateStateMachine', {
      name: 'noop',
      roleArn: 'arn:aws:iam::000000000000:role/x',
      definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } }),
    });
    const arns: string[] = [];
    for (let i = 0; i < 5; i++) {
      const started = await call(facade, 'StartExecution', {
        stateMachineArn: machine.body.stateMachineArn,
        name: `order-${i}`,
      });
      arns.push(started.body.executionArn);
      // Each finishes before the next starts, so "oldest" is well defined.
      for (let t = 0; t < 100 && facade.listExecutionRecords().some((e) => e.status === 'RUNNING'); t++)
        await new Promise((r) => setTimeout(r, 5));
    }
    expect(facade.listExecutionRecords().map((e) => e.name)).toEqual(['order-2', 'order-3', 'order-4']);
    expect((await call(facade, 'DescribeExecution', { executionArn: arns[4] })).body.status).toBe(
      'SUCCEEDED',
    );
    expect((await call(facade, 'DescribeExecution', { executionArn: arns[0] })).status).toBe(400);
    facade.stop();
  });
});
