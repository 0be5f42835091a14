import { Stack } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Queue, QueuePolicy } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/**
 * One resource policy for every queue of the stack, refusing requests made without TLS: what
 * `enforceSSL` does, which costs one AWS::SQS::QueuePolicy per queue (44 of CloudFormation's 500
 * resources per stack). A queue has one policy: a queue that needs statements of its own (an
 * SNS or EventBridge target) must not get them from `addToResourcePolicy`; the synth refuses it.
 * Create it last in the stack: it covers the queues that exist then.
 */
export class TlsOnlyQueues extends Construct {
  public readonly policy: QueuePolicy;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const queues = Stack.of(this)
      .node.findAll()
      .filter((c): c is Queue => c instanceof Queue);
    const withOwnPolicy = queues.filter((q) => q.node.tryFindChild('Policy'));
    if (withOwnPolicy.length > 0)
      throw new Error(
        `Queues with a policy of their own would replace the TLS-only policy: ${withOwnPolicy.map((q) => q.node.path).join(', ')}`,
      );
    this.policy = new QueuePolicy(this, 'Policy', { queues });
    this.policy.document.addStatements(
      new PolicyStatement({
        sid: 'RefuseRequestsWithoutTls',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sqs:*'],
        resources: queues.map((q) => q.queueArn),
        conditions: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  }
}
