/**
 * The contracts of the routes' handlers (functions/shared/http.ts attaches them), read by
 * loading each handler module as Lambda would: with its function's environment, at a cold start.
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RouteContract } from '../../functions/shared/http.ts';
import type { DeclaredRoute } from './document.ts';

export interface RouteWithEnvironment extends DeclaredRoute {
  readonly environment: Record<string, string>;
}

type Handler = { contract?: RouteContract; contracts?: Record<string, RouteContract> };

const functionsDir = path.resolve(import.meta.dirname, '..', '..', 'functions');

/** Loads every route's handler module; answers each route's contract. */
export async function loadContracts(
  routes: readonly RouteWithEnvironment[],
): Promise<(route: DeclaredRoute) => RouteContract | undefined> {
  const modules = new Map<string, Handler>();
  for (const route of routes) {
    if (modules.has(route.entry)) continue;
    // Each module reads its configuration when loaded, as at a cold start.
    // (Values CloudFormation resolves at deploy time are unresolved tokens here: '{}' stands in,
    // which reads as a name and parses as JSON.)
    for (const [name, value] of Object.entries(route.environment))
      process.env[name] = value.includes('${Token[') ? '{}' : value;
    const module = (await import(pathToFileURL(path.join(functionsDir, route.entry)).href)) as {
      handler: Handler;
    };
    modules.set(route.entry, module.handler);
  }
  return (route) => {
    const handler = modules.get(route.entry);
    const key = `${route.method} ${route.path}`;
    return (
      handler?.contracts?.[key] ?? handler?.contracts?.[key.replace(' /api/v1/', ' /')] ?? handler?.contract
    );
  };
}
