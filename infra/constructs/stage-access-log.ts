import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { type IAccessLogSettings, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** What every API stage logs of each request: who, which route, what answer. */
const common = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  route: '$context.routeKey',
  status: '$context.status',
  integrationError: '$context.integrationErrorMessage',
};

/**
 * An API stage's access log: a JSON line per request (the common fields and the API's own), in
 * a log group kept a month.
 */
export function stageAccessLog(
  scope: Construct,
  id: string,
  fields: Record<string, string>,
): IAccessLogSettings {
  const group = new LogGroup(scope, id, {
    retention: RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return {
    destination: new LogGroupLogDestination(group),
    format: AccessLogFormat.custom(JSON.stringify({ ...common, ...fields })),
  };
}
