import { describe, expect, it } from 'vitest';
import { TemplateResolver, UnresolvedReference } from '../../localstack/cloud/template.ts';

const resolver = () => {
  const r = new TemplateResolver(
    { Resources: {} },
    { region: 'us-east-1', accountId: '000000000000', stackName: 'S' },
  );
  r.define('Queue', {
    ref: 'http://edge/000000000000/Queue',
    attributes: { Arn: 'arn:aws:sqs:us-east-1:000000000000:Queue' },
  });
  r.define('Table', { ref: 'TableName', attributes: {} });
  return r;
};

describe('TemplateResolver', () => {
  it('resolves the shapes CDK synthesizes: Join of strings, Refs, GetAtts and pseudo parameters', () => {
    const definition = {
      'Fn::Join': [
        '',
        [
          '{"Resource":"arn:',
          { Ref: 'AWS::Partition' },
          ':states:::sqs","QueueUrl":"',
          { Ref: 'Queue' },
          '"}',
        ],
      ],
    };
    expect(resolver().resolve(definition)).toBe(
      '{"Resource":"arn:aws:states:::sqs","QueueUrl":"http://edge/000000000000/Queue"}',
    );
    expect(
      resolver().resolve({ deadLetterTargetArn: { 'Fn::GetAtt': ['Queue', 'Arn'] }, maxReceiveCount: 5 }),
    ).toEqual({
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:Queue',
      maxReceiveCount: 5,
    });
  });

  it('resolves Fn::Sub, Fn::Select and Fn::Split', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's own ${} syntax
    expect(resolver().resolve({ 'Fn::Sub': '${Table}-${AWS::Region}-${Queue.Arn}' })).toBe(
      'TableName-us-east-1-arn:aws:sqs:us-east-1:000000000000:Queue',
    );
    expect(
      resolver().resolve({ 'Fn::Select': [1, { 'Fn::Split': [':', { 'Fn::GetAtt': ['Queue', 'Arn'] }] }] }),
    ).toBe('aws');
  });

  it('says which reference it could not resolve', () => {
    expect(() => resolver().resolve({ Ref: 'Missing' })).toThrow(UnresolvedReference);
    expect(() => resolver().resolve({ 'Fn::GetAtt': ['Table', 'StreamArn'] })).toThrow(/Table\.StreamArn/);
  });
});
