import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { FactoryStack } from '../../infra/factory-stack.ts';

describe('cdk-nag', () => {
  it('finds nothing in the stack that is neither fixed nor acknowledged with a reason (AwsSolutions, Serverless)', () => {
    // Arrange: bundling skipped, the template is what the rule packs read.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new FactoryStack(app, 'NagFactory');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
    // Act: a finding not acknowledged fails the synthesis with the report.
    let report = '';
    try {
      app.synth();
    } catch (error) {
      report = (error as Error).message;
    }
    // Assert
    expect(report).toBe('');
  }, 300_000); // the rule packs read ~500 resources: a minute or more on a loaded machine
});
