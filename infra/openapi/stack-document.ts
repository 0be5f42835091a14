/**
 * The OpenAPI document as the stack's contract function serves it, made in memory: the app is
 * built with bundling skipped (a few seconds), its HTTP API's routes are read with each
 * function's environment, and the handlers' contracts are loaded as the contract's build loads
 * them (generate.ts). For what needs the document without a deployment or a local cloud: the
 * client's generated types (client-types.ts) and the unit tests.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { buildFactoryApp } from '../app.ts';
import { type FactoryApi, roleOf } from '../constructs/factory-api.ts';
import { loadContracts, type RouteWithEnvironment } from './contracts.ts';
import { openApiDocument } from './document.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

export type OpenApiDocument = ReturnType<typeof openApiDocument>;

/** The stack's routes, each with the environment its function starts with. */
export function stackRoutes(): RouteWithEnvironment[] {
  const { stack } = buildFactoryApp({ context: { 'aws:cdk:bundling-stacks': [] } });
  const api = stack.node.findChild('Api') as FactoryApi;
  return api.routes.map((route) => {
    const fn = api.handlers.get(`${route.method} ${route.path}`);
    const resolved = stack.resolve((fn?.node.defaultChild as CfnFunction | undefined)?.environment) as
      | { variables?: Record<string, unknown> }
      | undefined;
    return {
      method: route.method,
      path: route.path,
      entry: route.entry,
      role: roleOf(route),
      public: route.public ?? false,
      // A value CloudFormation resolves at deploy time (a Ref, a Join) is what the contract's
      // build puts in its place (contracts.ts): '{}', a name that parses as JSON.
      environment: Object.fromEntries(
        Object.entries(resolved?.variables ?? {}).map(([name, value]) => [
          name,
          typeof value === 'string' ? value : '{}',
        ]),
      ),
    };
  });
}

/**
 * The document. Handler modules read their environment when loaded: it is set for them and put
 * back afterwards.
 */
export async function stackDocument(): Promise<OpenApiDocument> {
  const routes = stackRoutes();
  const saved = { ...process.env };
  try {
    const contractOf = await loadContracts(routes);
    const { version } = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    return openApiDocument(routes, contractOf, version);
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}
