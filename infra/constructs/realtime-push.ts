import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { FactoryFunction } from './factory-function.ts';
import { stageAccessLog } from './stage-access-log.ts';

export interface RealtimePushProps {
  /** The connections function's environment (its tables: the realtime table). */
  readonly environment: Record<string, string>;
  /** @default 'live' */
  readonly stageName?: string;
  /** Messages per second over every connection. @default 100, burst 200 */
  readonly throttle?: { readonly rateLimit?: number; readonly burstLimit?: number };
}

/**
 * The WebSocket API of real-time push (docs/events.md#real-time-push): `$connect` with a
 * single-use ticket, `subscribe` with filters, `$disconnect`, all served by one function; the
 * event publisher pushes matching events through the connections management API.
 */
export class RealtimePush extends Construct {
  public readonly api: WebSocketApi;
  public readonly stage: WebSocketStage;
  public readonly connections: FactoryFunction;
  /** Where clients connect (`wss://…/live`); the management API is the same address over HTTPS. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: RealtimePushProps) {
    super(scope, id);
    const stageName = props.stageName ?? 'live';
    this.api = new WebSocketApi(this, 'Api', {
      description: 'Robot Factory real-time events',
      routeSelectionExpression: '$request.body.action',
    });
    this.url = `${this.api.apiEndpoint}/${stageName}`;
    this.connections = new FactoryFunction(this, 'Connections', {
      entry: 'realtime/connections.ts',
      description: 'WebSocket connections: tickets at connect, subscriptions, disconnects',
      environment: { ...props.environment, REALTIME_URL: this.url },
    });
    const integration = new WebSocketLambdaIntegration('Connections', this.connections);
    this.api.addRoute('$connect', { integration });
    this.api.addRoute('$disconnect', { integration });
    this.api.addRoute('subscribe', { integration });
    // An access log line per connect, frame and disconnect; a deliberate throttle (messages/s).
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName,
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttle?.rateLimit ?? 100,
        burstLimit: props.throttle?.burstLimit ?? 200,
      },
      accessLogSettings: stageAccessLog(this, 'AccessLog', {
        event: '$context.eventType',
        connectionId: '$context.connectionId',
      }),
    });
    this.grantPush(this.connections);
  }

  /**
   * Lets a function send frames to the connections (and close them): any connection of this
   * stage, as connection ids are made at connect time.
   */
  grantPush(grantee: IGrantable): void {
    this.stage.grantManagementApiAccess(grantee);
    const stack = Stack.of(this);
    Validations.of(grantee instanceof Construct ? grantee : this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${stack.getLogicalId(this.api.node.defaultChild as CfnElement)}>/${this.stage.stageName}/*/@connections/*]`,
      reason:
        'Connection ids are made when a client connects: the grant names this stage and its @connections, nothing else',
    });
  }
}
