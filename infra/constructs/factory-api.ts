import { CfnOutput, type Duration } from 'aws-cdk-lib';
import {
  CorsHttpMethod,
  HttpApi,
  type HttpMethod,
  HttpNoneAuthorizer,
  HttpStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Construct } from 'constructs';
import type { Role } from '../../functions/domain/access.ts';
import type { ApiAccess } from './api-access.ts';
import { FactoryFunction, type FactoryFunctionProps } from './factory-function.ts';
import type { FactoryTables, TableAccess } from './factory-tables.ts';
import { stageAccessLog } from './stage-access-log.ts';

export interface FactoryRoute {
  readonly method: HttpMethod;
  readonly path: string;
  /** Handler module under functions/. */
  readonly entry: string;
  readonly environment: Record<string, string>;
  /**
   * The factory tables the handler reads and writes: the function gets their names in its
   * environment and the matching grants, nothing else. @default none
   */
  readonly tables?: TableAccess;
  /** The handler sends jobs to the job queues. */
  readonly sendsJobs?: boolean;
  /** The handler changes worker concurrency or pauses queues (Lambda API write access). */
  readonly operates?: boolean;
  /** The handler reads queue depth and event source mappings. */
  readonly reads?: boolean;
  /** @default 10 seconds (API Gateway waits 30 s at most) */
  readonly timeout?: Duration;
  /**
   * The least role that may use the route. @default 'viewer' for GET, 'admin' for anything else
   * (a write route must say that developers may use it).
   */
  readonly role?: Role;
  /** Open without a key (GET /health and the console's files only). @default false */
  readonly public?: boolean;
  /** Files built into the handler's asset, which it serves (the console). @default none */
  readonly bundledBuild?: FactoryFunctionProps['bundledBuild'];
  /**
   * The handler serves the API's contract: its asset gets openapi.json (every route of this
   * API, from its handler's zod schemas) and the /docs page, built by infra/openapi/.
   * @default false
   */
  readonly servesContract?: boolean;
}

export interface FactoryApiProps {
  readonly routes: readonly FactoryRoute[];
  /** Requests per second (steady, burst) of the stage. @default 500 / 1,000 */
  readonly throttle?: { readonly rateLimit?: number; readonly burstLimit?: number };
  /** Keys and the authorizer every non-public route goes through. */
  readonly access: ApiAccess;
  /** The tables routes declare (see {@link FactoryRoute.tables}). */
  readonly tables: FactoryTables;
}

/** The HTTP API: one Lambda per route, so each has only the permissions its route needs. */
export class FactoryApi extends Construct {
  public readonly httpApi: HttpApi;
  /** Route handler functions by `METHOD /path`. */
  public readonly handlers: ReadonlyMap<string, FactoryFunction>;
  public readonly routes: readonly FactoryRoute[];

  constructor(scope: Construct, id: string, props: FactoryApiProps) {
    super(scope, id);
    // Requests no route takes get the factory's error envelope, not API Gateway's bare 404.
    const noRoute = new FactoryFunction(this, 'NoRoute', {
      entry: 'api/no-route.ts',
      description: 'Answers requests no route takes (404, or 405 with the allowed methods)',
      environment: {
        ROUTE_KEYS: JSON.stringify(props.routes.map((r) => `${r.method} ${r.path}`)),
      },
    });
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Robot Factory API',
      defaultIntegration: new HttpLambdaIntegration('NoRouteIntegration', noRoute, {
        scopePermissionToRoute: false,
      }),
      corsPreflight: {
        allowOrigins: ['*'],
        allowMethods: [CorsHttpMethod.ANY],
        allowHeaders: ['authorization', 'content-type', 'idempotency-key'],
      },
      // Every route, $default included, unless it says it is public.
      defaultAuthorizer: props.access.authorizer,
      createDefaultStage: false,
    });
    // The one stage: an access log line per request (who, which route, what answer) and a
    // deliberate throttle instead of the account's 10,000 rps shared by every API.
    new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttle?.rateLimit ?? 500,
        burstLimit: props.throttle?.burstLimit ?? 1000,
      },
      accessLogSettings: stageAccessLog(this, 'AccessLog', {
        bytes: '$context.responseLength',
        latencyMs: '$context.responseLatency',
        verdict: '$context.authorizer.verdict',
        keyId: '$context.authorizer.keyId',
        authorizerError: '$context.authorizer.error',
      }),
    });
    props.access.setRouteAccess(
      Object.fromEntries(
        props.routes.filter((r) => !r.public).map((r) => [`${r.method} ${r.path}`, roleOf(r)]),
      ),
    );
    const environmentOf = (route: FactoryRoute) => {
      const tables = tableAccessOf(props.routes.filter((r) => r.entry === route.entry));
      return { ...(tables ? props.tables.environmentFor(tables) : {}), ...route.environment };
    };
    // What the contract's build needs of every route: its handler, who may call it, and the
    // environment its module loads with.
    const declaredRoutes = props.routes.map((r) => ({
      method: r.method,
      path: r.path,
      entry: r.entry,
      role: roleOf(r),
      public: r.public ?? false,
      environment: environmentOf(r),
    }));
    const handlers = new Map<string, FactoryFunction>();
    // Routes naming the same entry share one function (a module serving a family of routes).
    const byEntry = new Map<string, { fn: FactoryFunction; integration: HttpLambdaIntegration }>();
    for (const route of props.routes) {
      const key = `${route.method} ${route.path}`;
      const name = route.entry.replace(/^api\//, '').replace(/\.ts$/, '');
      let shared = byEntry.get(route.entry);
      if (!shared) {
        const family = props.routes.filter((r) => r.entry === route.entry);
        const tables = tableAccessOf(family);
        const fn = new FactoryFunction(this, pascal(name), {
          entry: route.entry,
          description: family
            .map((r) => `${r.method} ${r.path}`)
            .join(', ')
            .slice(0, 256),
          environment: environmentOf(route),
          timeout: route.timeout,
          bundledBuild: route.servesContract
            ? { script: 'infra/openapi/generate.ts', into: 'contract', input: declaredRoutes }
            : route.bundledBuild,
        });
        if (tables) props.tables.grant(fn, tables);
        // One invoke permission per function for this API, not one per route (the stack's
        // resource count is bounded at 500).
        shared = {
          fn,
          integration: new HttpLambdaIntegration(`${pascal(name)}Integration`, fn, {
            scopePermissionToRoute: false,
          }),
        };
        byEntry.set(route.entry, shared);
      }
      this.httpApi.addRoutes({
        path: route.path,
        methods: [route.method],
        integration: shared.integration,
        ...(route.public ? { authorizer: new HttpNoneAuthorizer() } : {}),
      });
      handlers.set(key, shared.fn);
    }
    this.handlers = handlers;
    this.routes = props.routes;
    new CfnOutput(scope, 'ApiUrl', {
      value: this.httpApi.apiEndpoint,
      description: 'Robot Factory HTTP API',
    });
  }
}

/** The tables of a family of routes served by one function: every route's, together. */
function tableAccessOf(family: readonly FactoryRoute[]): TableAccess | undefined {
  const declared = family.flatMap((r) => (r.tables ? [r.tables] : []));
  if (declared.length === 0) return undefined;
  return {
    read: [...new Set(declared.flatMap((t) => t.read ?? []))],
    write: [...new Set(declared.flatMap((t) => t.write ?? []))],
  };
}

/** A route's least role: as declared, else reads for every key and writes for admins. */
export const roleOf = (route: FactoryRoute): Role =>
  route.role ?? (route.method === 'GET' ? 'viewer' : 'admin');

const pascal = (name: string) =>
  name
    .split(/[-_/]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
