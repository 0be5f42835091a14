/**
 * IAM, locally: every function calls the edge with credentials of its own, and the edge allows a
 * call only when the function's role policies in the template allow its action on its resource,
 * as AWS would. A grant the stack forgets fails the local run (AccessDeniedException in the
 * function's log and its caller's 5xx), not the first deployment. The local cloud's own clients
 * (pollers, Step Functions integrations, provisioning) act as the services themselves and are not
 * checked; neither are Deny statements, conditions or resource policies, which the stack does not
 * use for its functions (docs/security.md says so).
 */
import { type BufferedRequest, jsonBody, type ServiceResponse } from './edge.ts';
import { type TemplateResolver, UnresolvedReference } from './template.ts';

interface Statement {
  readonly actions: readonly RegExp[];
  /** undefined: every resource ("*"). */
  readonly resources: readonly RegExp[] | undefined;
}

export interface LocalPrincipal {
  /** The function (its name is its access key id's suffix). */
  readonly functionName: string;
  readonly roleArn: string;
  readonly statements: readonly Statement[];
  /**
   * What the statements said of each action and resource asked so far: a function asks the same
   * few thousands of times, and matching every statement's patterns each time was most of local
   * IAM's cost. Bounded (object keys make resources many).
   */
  readonly decisions?: Map<string, boolean>;
}

export interface Denial {
  readonly at: string;
  readonly functionName: string;
  readonly action: string;
  readonly resource: string;
  /** The SDK's user agent: tells a test's deliberate probe from a function's own call. */
  readonly userAgent: string;
}

/** What one call asks for, in IAM's terms: each action on its resource ("*" when none is named). */
export interface IamRequest {
  readonly asks: readonly { readonly action: string; readonly resource: string }[];
  /** The call speaks JSON (its refusal is JSON too); SQS's query protocol and S3 answer XML. */
  readonly xml?: boolean;
}

/** The access key id a function signs with locally; the edge reads it back from the signature. */
export const accessKeyIdOf = (functionName: string) => `LOCALFN${functionName}`;

/** An IAM pattern (`*`, `?`); actions compare case-insensitively, ARNs exactly, as IAM does. */
const wildcard = (pattern: string, flags = '') =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    flags,
  );

export class LocalIam {
  private readonly principals = new Map<string, LocalPrincipal>();
  readonly denials: Denial[] = [];
  readonly warnings: string[] = [];

  /** Reads each function's role and the policies attached to it from the (provisioned) template. */
  constructor(
    resolver: TemplateResolver,
    private readonly identity: { region: string; accountId: string } = resolver.identity,
  ) {
    const statementsByRole = new Map<string, Statement[]>();
    for (const [policyId, policy] of [
      ...resolver.resourcesOfType('AWS::IAM::Policy'),
      ...resolver.resourcesOfType('AWS::IAM::ManagedPolicy'),
    ]) {
      const roles = ((policy.Properties?.Roles ?? []) as { Ref?: string }[]).flatMap((r) =>
        r.Ref ? [r.Ref] : [],
      );
      const document = policy.Properties?.PolicyDocument as { Statement?: unknown[] } | undefined;
      for (const raw of document?.Statement ?? []) {
        const statement = this.statementOf(resolver, policyId, raw as Record<string, unknown>);
        if (!statement) continue;
        for (const role of roles)
          statementsByRole.set(role, [...(statementsByRole.get(role) ?? []), statement]);
      }
    }
    for (const [logicalId, fn] of resolver.resourcesOfType('AWS::Lambda::Function')) {
      const role = (fn.Properties?.Role as { 'Fn::GetAtt'?: string[] } | undefined)?.['Fn::GetAtt']?.[0];
      const name = resolver.physicalOf(logicalId)?.ref;
      if (!role || !name) continue;
      this.principals.set(accessKeyIdOf(name), {
        functionName: name,
        roleArn: `arn:aws:sts::${identity.accountId}:assumed-role/${role}/${name}`,
        statements: statementsByRole.get(role) ?? [],
        decisions: new Map(),
      });
    }
  }

  private statementOf(
    resolver: TemplateResolver,
    policyId: string,
    raw: Record<string, unknown>,
  ): Statement | undefined {
    // The stack writes Allow statements with Action and Resource only; anything else would be
    // misread here, so say so rather than evaluate it wrongly.
    if (raw.Effect !== 'Allow' || 'NotAction' in raw || 'NotResource' in raw || 'Condition' in raw) {
      this.warnings.push(
        `${policyId}: a statement with Deny, NotAction, NotResource or Condition is not evaluated locally`,
      );
      return undefined;
    }
    const actions = [raw.Action].flat().filter((a): a is string => typeof a === 'string');
    let resources: string[];
    try {
      resources = [resolver.resolve(raw.Resource)].flat().map(String);
    } catch (error) {
      if (!(error instanceof UnresolvedReference)) throw error;
      // A resource the local cloud does not create (e.g. X-Ray): nothing local to allow.
      this.warnings.push(`${policyId}: ${error.message}; statement not applied locally`);
      return undefined;
    }
    return {
      actions: actions.map((a) => wildcard(a, 'i')),
      resources: resources.includes('*') ? undefined : resources.map((r) => wildcard(r)),
    };
  }

  /** The function signing a request, if it is one of the stack's functions. */
  principalOf(request: BufferedRequest): LocalPrincipal | undefined {
    const credential = /Credential=([^/,\s]+)\//.exec(String(request.headers.authorization ?? ''))?.[1];
    return credential ? this.principals.get(credential) : undefined;
  }

  /** undefined when allowed; else the refusal AWS would answer with. */
  check(
    principal: LocalPrincipal,
    service: string,
    asked: IamRequest,
    userAgent = '',
  ): ServiceResponse | undefined {
    const denied = asked.asks.find(({ action, resource }) => !this.allows(principal, action, resource));
    if (denied === undefined) return undefined;
    this.denials.push({
      at: new Date().toISOString(),
      functionName: principal.functionName,
      ...denied,
      userAgent,
    });
    if (this.denials.length > 1000) this.denials.splice(0, this.denials.length - 1000);
    const message = `User: ${principal.roleArn} is not authorized to perform: ${denied.action} on resource: ${denied.resource} because no identity-based policy allows the ${denied.action} action`;
    if (service === 's3')
      return {
        status: 403,
        headers: { 'content-type': 'application/xml' },
        body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${message}</Message></Error>`,
      };
    if (asked.xml)
      return {
        status: 403,
        headers: { 'content-type': 'text/xml' },
        body: `<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${message}</Message></Error></ErrorResponse>`,
      };
    return {
      status: service === 'lambda' || service === 'execute-api' ? 403 : 400,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'AccessDeniedException' },
      body: JSON.stringify({ __type: 'AccessDeniedException', message, Message: message }),
    };
  }

  private allows(principal: LocalPrincipal, action: string, resource: string): boolean {
    const key = `${action} ${resource}`;
    const known = principal.decisions?.get(key);
    if (known !== undefined) return known;
    const allowed = principal.statements.some(
      (s) =>
        s.actions.some((a) => a.test(action)) &&
        (s.resources === undefined || resource === '*' || s.resources.some((r) => r.test(resource))),
    );
    if (principal.decisions) {
      if (principal.decisions.size >= 2_000) principal.decisions.clear();
      principal.decisions.set(key, allowed);
    }
    return allowed;
  }

  /** The action and resources of one call, in IAM's names (see the services' authorization references). */
  requestOf(service: string, action: string, request: BufferedRequest): IamRequest {
    const { region, accountId } = this.identity;
    const body = () => {
      try {
        return (request.body.length > 0 ? jsonBody(request) : {}) as Record<string, unknown>;
      } catch {
        return {};
      }
    };
    switch (service) {
      case 'dynamodb': {
        const table = (name: unknown, index?: unknown) =>
          `arn:aws:dynamodb:${region}:${accountId}:table/${String(name)}${index ? `/index/${String(index)}` : ''}`;
        const b = body();
        if (action === 'BatchWriteItem' || action === 'BatchGetItem')
          return {
            asks: Object.keys(b.RequestItems ?? {}).map((t) => ({
              action: `dynamodb:${action}`,
              resource: table(t),
            })),
          };
        if (action === 'TransactWriteItems' || action === 'TransactGetItems') {
          // Each item needs the action it performs (PutItem, UpdateItem, …) on its table.
          const kinds: Record<string, string> = {
            Put: 'PutItem',
            Update: 'UpdateItem',
            Delete: 'DeleteItem',
            ConditionCheck: 'ConditionCheckItem',
            Get: 'GetItem',
          };
          const items = (b.TransactItems ?? []) as Record<string, { TableName?: string }>[];
          return {
            asks: items
              .flatMap((item) => Object.entries(item))
              .map(([kind, i]) => ({
                action: `dynamodb:${kinds[kind] ?? kind}`,
                resource: table(i?.TableName),
              })),
          };
        }
        return {
          asks: [
            { action: `dynamodb:${action}`, resource: b.TableName ? table(b.TableName, b.IndexName) : '*' },
          ],
        };
      }
      case 'streams': {
        // DynamoDB Streams actions are IAM's dynamodb:*, on the stream's ARN (GetRecords names
        // only its iterator, ListStreams nothing: *).
        const arn = body().StreamArn;
        return { asks: [{ action: `dynamodb:${action}`, resource: typeof arn === 'string' ? arn : '*' }] };
      }
      case 'sqs': {
        const json = request.headers['x-amz-target'] !== undefined;
        const url = json
          ? body().QueueUrl
          : (new URLSearchParams(request.body.toString()).get('QueueUrl') ?? undefined);
        // …/<account>/<name>: the account the queue lives in (moto's own, with the moto backend).
        const [account, name] = typeof url === 'string' ? new URL(url).pathname.split('/').slice(-2) : [];
        return {
          asks: [
            {
              action: `sqs:${action.replace(/Batch$/, '')}`,
              resource: name ? `arn:aws:sqs:${region}:${account || accountId}:${name}` : '*',
            },
          ],
          xml: !json,
        };
      }
      case 'states': {
        const b = body();
        const resource = (b.stateMachineArn ?? b.executionArn) as string | undefined;
        // Task tokens name no resource IAM can check (the grant is on the state machine).
        return { asks: [{ action: `states:${action}`, resource: resource ?? '*' }] };
      }
      case 'lambda': {
        const [method, collection] = action.split(' ');
        const id = /\/event-source-mappings\/([^/?]+)/.exec(request.url)?.[1];
        if (collection?.startsWith('event-source-mappings'))
          return {
            asks: [
              {
                action: !id
                  ? 'lambda:ListEventSourceMappings'
                  : method === 'GET'
                    ? 'lambda:GetEventSourceMapping'
                    : 'lambda:UpdateEventSourceMapping',
                resource: id
                  ? `arn:aws:lambda:${region}:${accountId}:event-source-mapping:${decodeURIComponent(id)}`
                  : '*',
              },
            ],
          };
        const fn = /\/functions\/([^/?]+)/.exec(request.url)?.[1];
        return {
          asks: [
            {
              action: 'lambda:InvokeFunction',
              resource: fn ? `arn:aws:lambda:${region}:${accountId}:function:${decodeURIComponent(fn)}` : '*',
            },
          ],
        };
      }
      case 'events': {
        // PutEvents is checked on each entry's bus (the default bus when it names none).
        const entries = (body().Entries as { EventBusName?: string }[] | undefined) ?? [];
        const arnOf = (bus = 'default') =>
          bus.startsWith('arn:') ? bus : `arn:aws:events:${region}:${accountId}:event-bus/${bus}`;
        return {
          asks: (entries.length > 0 ? entries : [{}]).map((e) => ({
            action: `events:${action}`,
            resource: arnOf(e.EventBusName),
          })),
        };
      }
      case 'sns': {
        // Publish, Subscribe, …: on the topic the form names (CreateTopic and ListTopics name none: *).
        const topic = new URLSearchParams(request.body.toString()).get('TopicArn');
        return { asks: [{ action: `sns:${action}`, resource: topic ?? '*' }], xml: true };
      }
      case 'execute-api': {
        // …/realtime/<api id>/<stage>/@connections/<id>: the connection IAM names.
        const [, , apiId, stage, , id] = (request.url.split('?')[0] ?? '').split('/');
        return {
          asks: [
            {
              action: 'execute-api:ManageConnections',
              resource: `arn:aws:execute-api:${region}:${accountId}:${apiId}/${stage}/${request.method}/@connections/${id}`,
            },
          ],
        };
      }
      case 's3': {
        const [pathname] = request.url.split('?');
        const [bucket, ...key] = (pathname ?? '').split('/').filter(Boolean);
        const object = key.length > 0;
        const method = request.method.toUpperCase();
        const actionOf = object
          ? method === 'PUT'
            ? 's3:PutObject'
            : method === 'DELETE'
              ? 's3:DeleteObject'
              : 's3:GetObject'
          : 's3:ListBucket';
        return {
          asks: [
            {
              action: actionOf,
              resource: `arn:aws:s3:::${bucket ?? ''}${object ? `/${decodeURIComponent(key.join('/'))}` : ''}`,
            },
          ],
          xml: true,
        };
      }
      default:
        return { asks: [{ action: `${service}:${action}`, resource: '*' }] };
    }
  }
}
