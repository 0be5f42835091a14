import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { AttributeType, BillingMode, type ITable, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { apiKeysTable } from '../../functions/adapters/api-key-store.ts';
import type { Role } from '../../functions/domain/access.ts';
import { FactoryFunction } from './factory-function.ts';

export interface ApiAccessProps {
  /** @default RemovalPolicy.RETAIN — losing the keys locks every client out */
  readonly removalPolicy?: RemovalPolicy;
  /** How long the authorizer remembers a key it looked up; a revocation waits that long. @default 30 s */
  readonly keyCacheTtl?: Duration;
}

/**
 * Who may call the API: the API keys table (hashes only) and the Lambda authorizer every route
 * but GET /health goes through (functions/auth/authorizer.ts).
 *
 * The authorizer runs on every request (no identity source, no gateway cache): an HTTP API answers
 * a request without the identity source itself, with a bare {"message":"Unauthorized"}, and a
 * refusal with a bare 403 — it has no gateway responses to shape them. The authorizer's verdict
 * goes to the route instead, whose first middleware answers in the factory's error envelope. The
 * authorizer remembers key lookups for `keyCacheTtl` itself, so one read serves many requests.
 */
export class ApiAccess extends Construct {
  public readonly keys: ITable;
  public readonly authorizerFunction: FactoryFunction;
  public readonly authorizer: HttpLambdaAuthorizer;

  constructor(scope: Construct, id: string, props: ApiAccessProps = {}) {
    super(scope, id);
    const keys = new Table(this, 'ApiKeys', {
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      partitionKey: { name: apiKeysTable.partitionKey, type: AttributeType.STRING },
      // Revoked keys expire after 90 days; live keys carry no expiresAt.
      timeToLiveAttribute: 'expiresAt',
    });
    keys.addGlobalSecondaryIndex({
      indexName: apiKeysTable.byKeyId,
      partitionKey: { name: 'keyId', type: AttributeType.STRING },
      projectionType: ProjectionType.KEYS_ONLY,
    });
    this.keys = keys;
    // `npm run keys -- create --table <this>` makes the first admin key of a deployment.
    new CfnOutput(scope, 'ApiKeysTable', { value: keys.tableName, description: 'API keys (hashes only)' });
    this.authorizerFunction = new FactoryFunction(this, 'Authorizer', {
      entry: 'auth/authorizer.ts',
      description: 'Decides each API request: its key, its role, the route it asks for',
      timeout: Duration.seconds(5),
      memorySize: 128,
      environment: {
        API_KEYS_TABLE: keys.tableName,
        KEY_CACHE_SECONDS: String((props.keyCacheTtl ?? Duration.seconds(30)).toSeconds()),
      },
    });
    keys.grant(this.authorizerFunction, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    this.authorizer = new HttpLambdaAuthorizer('KeyAuthorizer', this.authorizerFunction, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: [],
      resultsCacheTtl: Duration.seconds(0),
    });
  }

  /** The least role of each route (`METHOD /path`), which the authorizer enforces. */
  setRouteAccess(access: Readonly<Record<string, Role>>): void {
    this.authorizerFunction.addEnvironment('ROUTE_ACCESS', JSON.stringify(access));
  }

  /** For the key management routes: read, issue and revoke keys. */
  grantManageKeys(grantee: IGrantable): void {
    this.keys.grantReadWriteData(grantee);
  }
}
