/**
 * Writes openapi.json and the /docs page (Scalar) into a folder of the contract function's asset.
 * Run by that function's bundling with the stack's routes (base64 JSON, each with the
 * environment its function gets, so handler modules load as they do in Lambda):
 *   tsx infra/openapi/generate.ts <outDir> <routes.base64>
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadContracts, type RouteWithEnvironment } from './contracts.ts';
import { openApiDocument } from './document.ts';

const [outDir, encoded] = process.argv.slice(2);
if (!outDir || !encoded) {
  console.error('usage: tsx infra/openapi/generate.ts <outDir> <routes.base64>');
  process.exit(2);
}
const routes = JSON.parse(Buffer.from(encoded, 'base64').toString()) as RouteWithEnvironment[];
const repoRoot = path.resolve(import.meta.dirname, '..', '..');

const contractOf = await loadContracts(routes);

const { version } = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
};
const document = openApiDocument(routes, contractOf, version);
await mkdir(outDir, { recursive: true });
await writeFile(path.join(outDir, 'openapi.json'), JSON.stringify(document));
// The package exports no path to its browser build: it sits at a fixed place in it.
const scalar = path.join(
  repoRoot,
  'node_modules',
  '@scalar',
  'api-reference',
  'dist',
  'browser',
  'standalone.js',
);
await writeFile(path.join(outDir, 'scalar.js.gz'), gzipSync(await readFile(scalar), { level: 9 }));
await writeFile(
  path.join(outDir, 'index.html'),
  `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Robot Factory API</title><meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<script id="api-reference" data-url="../openapi.json"></script>
<script src="scalar.js"></script>
</body>
</html>
`,
);
console.log(`openapi.json: ${Object.keys(document.paths).length} paths, ${routes.length} routes → ${outDir}`);
// Handler modules may hold SDK clients open: the document is written, so end here.
process.exit(0);
