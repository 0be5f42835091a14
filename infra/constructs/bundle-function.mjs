/**
 * Bundles one Lambda function of the factory: `node infra/constructs/bundle-function.mjs <spec> <outdir>`,
 * run by FactoryFunction (factory-function.ts) as the asset's local bundling step, once per function.
 * A script of its own because what it needs from esbuild is only in esbuild's JavaScript API, which
 * is asynchronous (CDK's bundling step is synchronous), not in the command line that
 * NodejsFunction drives:
 *
 * - The AWS SDK that Lambda's runtime provides is loaded with require(), not with an ESM import.
 *   Importing a CommonJS package from ESM makes Node scan its sources for export names
 *   (cjs-module-lexer) and route its requires through the ESM loader: the DynamoDB client and the
 *   document client took 155 ms that way and 79 ms by require() in a fresh thread on Node 22 (116
 *   and 54 on Node 20), the same packages, loaded at the same moment. The bundle's banner gives it
 *   a `require` (createRequire), which resolves from the runtime's node_modules on Lambda (NODE_PATH)
 *   and from the repository's here.
 * - Code splitting: a module imported dynamically becomes a chunk of its own beside index.mjs, read
 *   and parsed only when imported. The Powertools Tracer with the X-Ray SDK (functions/shared/tracer.ts
 *   imports it only where a function is traced: on Lambda) was ~117 KB of every bundle, parsed at
 *   every cold start even where it never ran.
 * - semver, which the X-Ray SDK needs only to patch the AWS SDK v2 (captureAWS, which the factory
 *   never calls), is left out (~26 KB of the Tracer's chunk).
 *
 * <spec> is JSON: { entry (relative to the repository), external: [...], runtimeProvided: [...],
 * splitting: boolean }.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const [specJson, outdir] = process.argv.slice(2);
if (!specJson || !outdir) throw new Error('usage: bundle-function.mjs <spec JSON> <outdir>');
/** @type {{ entry: string; external: string[]; runtimeProvided: string[]; splitting: boolean }} */
const spec = JSON.parse(specJson);

/** `@aws-sdk/*` → a test for `@aws-sdk/<anything>` (esbuild's own wildcard form). */
const patternTest = (pattern) => {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace('*', '.*');
  return new RegExp(`^${escaped}$`);
};
const runtimeProvided = spec.runtimeProvided.map(patternTest);

/**
 * Every import of a runtime-provided package becomes a one-line CommonJS module that requires it;
 * esbuild keeps that require() as it is (the package is external) and binds the named imports to
 * what it returns, as it does for any CommonJS module it bundles.
 * @type {esbuild.Plugin}
 */
const runtimeProvidedByRequire = {
  name: 'runtime-provided-by-require',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (!runtimeProvided.some((test) => test.test(args.path))) return undefined;
      return args.namespace === 'runtime-provided'
        ? { path: args.path, external: true }
        : { path: args.path, namespace: 'runtime-provided' };
    });
    build.onLoad({ filter: /.*/, namespace: 'runtime-provided' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

await esbuild.build({
  absWorkingDir: repoRoot,
  entryPoints: { index: spec.entry },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: spec.splitting,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  external: spec.external,
  alias: { semver: path.join(repoRoot, 'infra', 'constructs', 'semver-left-out.cjs') },
  // Some bundled packages still call require(); give every ESM file of the bundle one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  plugins: [runtimeProvidedByRequire],
  logLevel: 'warning',
});
