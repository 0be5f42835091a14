/**
 * The HTTP API's Lambda authorizer (simple responses). It decides every request — no key, an
 * unknown or revoked key, a role the route does not allow — and hands its verdict to the route in
 * the authorizer context. It always answers isAuthorized: true: an HTTP API cannot shape the
 * body of its own 401/403 (it has no gateway responses), so the route's first middleware
 * (functions/shared/http.ts) answers the refusal in the factory's error envelope, before any of
 * the route's code runs, and refuses any request that carries no verdict at all.
 *
 * Key lookups are remembered for KEY_CACHE_SECONDS (30) per environment: a revocation takes
 * effect within that time. lastUsedAt is written at most every 5 minutes per key.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type {
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { ApiKeyStore } from '#adapters/api-key-store';
import { type ApiKeyRecord, bearerToken, decideAccess, hashApiKey, type RouteAccess } from '#domain/access';
import { envInt, requireEnv, requireJsonEnv } from '#shared/env';
import { logger } from '#shared/logger';

const store = new ApiKeyStore(requireEnv('API_KEYS_TABLE'));
const access = requireJsonEnv<RouteAccess>('ROUTE_ACCESS');
const cacheMs = envInt('KEY_CACHE_SECONDS', 30) * 1000;
const touchEveryMs = 5 * 60_000;

const lookups = new Map<string, { record: ApiKeyRecord | undefined; until: number }>();
const touched = new Map<string, number>();

async function findKey(keyHash: string): Promise<ApiKeyRecord | undefined> {
  const now = Date.now();
  const cached = lookups.get(keyHash);
  if (cached && cached.until > now) return cached.record;
  const record = await store.findByHash(keyHash);
  // Bounded: an attacker's stream of unknown keys must not grow the environment's memory.
  if (lookups.size > 10_000) lookups.clear();
  lookups.set(keyHash, { record, until: now + cacheMs });
  return record;
}

/** Notes the use of a key, at most every 5 minutes per key and environment; never fails a request. */
async function noteUse(keyHash: string): Promise<void> {
  const now = Date.now();
  if ((touched.get(keyHash) ?? 0) > now - touchEveryMs) return;
  touched.set(keyHash, now);
  await store.touch(keyHash, new Date(now)).catch((error: Error) => {
    logger.warn('Could not record the use of a key', { error: error.message });
  });
}

export const handler = middy<
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult<Record<string, string>>
>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event) => {
    logger.appendKeys({ requestId: event.requestContext?.requestId });
    const authorization = event.headers?.authorization;
    const verdict = await decideAccess({ authorization, routeKey: event.routeKey }, access, { findKey });
    if (verdict.verdict === 'allow') await noteUse(hashApiKey(bearerToken(authorization) as string));
    else logger.info('Request refused', { routeKey: event.routeKey, ...verdict });
    return { isAuthorized: true, context: { ...verdict } };
  });
