// Builds the operator console into one folder: index.html naming app-<hash>.js/.css.
// Run by the console function's bundling (infra/constructs/factory-function.ts) with the
// folder to write as its argument, so the console ships inside that function's asset, on AWS
// and in the local cloud alike. `node console/build.mjs .local/console` builds it by hand.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(process.argv[2] ?? path.join(here, '..', '.local', 'console'));

await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
const result = await build({
  entryPoints: [path.join(here, 'src', 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: 'app-[hash]',
  outdir: outDir,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
const script = outputs.find((file) => file.endsWith('.js'));
const style = outputs.find((file) => file.endsWith('.css'));
if (!script || !style) throw new Error(`console build: expected a .js and a .css, got ${outputs.join(', ')}`);
const page = (await readFile(path.join(here, 'index.html'), 'utf8'))
  .replace('%SCRIPT%', script)
  .replace('%STYLE%', style);
await writeFile(path.join(outDir, 'index.html'), page);
