/**
 * The bench's bundle section: what each Lambda function ships and what its cold start costs,
 * read from a synthesized cloud assembly (cdk.out, or the local cloud's .local/assemblies/<hash>/).
 *
 * - bundleSizes: per bundle (functions with the same code share one), the bytes of minified code
 *   a cold start loads: the handler module (index.mjs, as esbuild wrote it; source maps are not
 *   counted) and the chunks it imports statically. Apart from them: the lazy chunks, which only a
 *   dynamic import loads (the Tracer where a function is traced, i.e. on Lambda; the image codecs'
 *   glue at an image job), and the other files shipped beside it (the WebP codec's .wasm, the
 *   console's build). Goal: at most 250 KB each, except a bundle that ships a codec.
 * - initTimes: per bundle, a cold start as the local cloud makes one: a fresh worker thread (the
 *   local cloud's execution environment, with the function's environment and memory as heap
 *   ceiling) imports the handler module. `init` is spawn → module evaluated (thread start included),
 *   `import` the module's own evaluation: its top-level code, the AWS SDK it loads from
 *   node_modules (on Lambda the runtime provides it) and any AWS call made at init (a worker
 *   registering itself), answered at once by a stub endpoint with `{}`. `traced` is the same cold
 *   start with AWS_EXECUTION_ENV set, as on Lambda, where the function's Tracer (X-Ray SDK) loads
 *   too. Each bundle is started `rounds` times each way, one after the other; the medians are
 *   printed. Goal: init at most 150 ms. On Lambda add the runtime's own start, and read it from the
 *   REPORT line's Init Duration.
 *
 * `npx tsx localstack/bench/bundles.ts [assemblyDir]` prints both (default: the newest assembly in
 * .local/assemblies; BENCH_INIT_ROUNDS cold starts each, default 3).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

export const bundleBudgetBytes = 250 * 1024;
export const initBudgetMs = 150;

type Props = Record<string, unknown>;
interface Template {
  readonly Resources: Record<string, { readonly Type: string; readonly Properties?: Props }>;
}

export interface FunctionBundle {
  /** The asset folder (asset.<hash>) the functions' code comes from. */
  readonly asset: string;
  /** The functions that run it, by logical id without CDK's hash suffix. */
  readonly functions: readonly string[];
  readonly modulePath: string;
  readonly handlerExport: string;
  /** The handler module and the chunks it imports statically: what every cold start loads. */
  readonly moduleBytes: number;
  /** Chunks only a dynamic import loads (the Tracer, loaded where the function is traced). */
  readonly lazyBytes: number;
  /** Other files beside the module, source maps left out: a codec's .wasm, the console's build. */
  readonly otherBytes: number;
  readonly shipsCodec: boolean;
  /** The first function's environment (references replaced by placeholders) and memory. */
  readonly environment: Record<string, string>;
  readonly memorySize: number;
}

const readableName = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, '');

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    const stat = statSync(full);
    total += stat.isDirectory() ? folderBytes(full) : stat.size;
  }
  return total;
}

/** `import … from "./x.mjs"` or `import "./x.mjs"` (static) and `import("./x.mjs")` (dynamic) in esbuild's output. */
const staticChunk = /(?:\bfrom\s*|\bimport\s*)["']\.\/([^"']+\.mjs)["']/g;
const dynamicChunk = /\bimport\(\s*["']\.\/([^"']+\.mjs)["']\s*\)/g;

/**
 * The files a cold start loads (the module and its static imports, transitively) and the chunks
 * only dynamic imports reach (the rest of what the module reaches through either kind).
 */
function chunksOf(dir: string, moduleFile: string): { loaded: Set<string>; lazy: Set<string> } {
  const reach = (patterns: readonly RegExp[]) => {
    const seen = new Set<string>();
    for (const queue = [moduleFile]; queue.length > 0; ) {
      const file = queue.pop() as string;
      if (seen.has(file) || !existsSync(path.join(dir, file))) continue;
      seen.add(file);
      const source = readFileSync(path.join(dir, file), 'utf8');
      for (const pattern of patterns)
        for (const [, chunk] of source.matchAll(pattern)) queue.push(chunk as string);
    }
    return seen;
  };
  const loaded = reach([staticChunk]);
  const lazy = new Set([...reach([staticChunk, dynamicChunk])].filter((file) => !loaded.has(file)));
  return { loaded, lazy };
}

/**
 * What the template's intrinsics stand for, enough for a module's top-level code to read its
 * environment (names, ARNs, URLs): the bench calls nothing real.
 */
function placeholder(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const intrinsic = value as Record<string, unknown>;
  if ('Ref' in intrinsic) return `local-${String(intrinsic.Ref)}`;
  if ('Fn::GetAtt' in intrinsic) {
    const [id, attribute] = intrinsic['Fn::GetAtt'] as [string, string];
    return attribute.endsWith('Endpoint')
      ? `wss://${id.toLowerCase()}.local`
      : `arn:aws:local:us-east-1:000000000000:${id}`;
  }
  if ('Fn::Join' in intrinsic) {
    const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
    return parts.map(placeholder).join(separator);
  }
  if ('Fn::Sub' in intrinsic) return String(intrinsic['Fn::Sub']);
  return JSON.stringify(value);
}

/** The template's functions whose code is a bundled asset, one entry per asset. */
export function functionBundles(assemblyDir: string): FunctionBundle[] {
  const templateFile = readdirSync(assemblyDir).find(
    (name) => name.endsWith('.template.json') && !name.includes('.nested.'),
  );
  if (!templateFile) throw new Error(`${assemblyDir}: no stack template`);
  const template = JSON.parse(readFileSync(path.join(assemblyDir, templateFile), 'utf8')) as Template;
  const byAsset = new Map<string, FunctionBundle & { functions: string[] }>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const p = resource.Properties ?? {};
    const s3Key = (p.Code as Props | undefined)?.S3Key;
    if (typeof s3Key !== 'string') continue; // inline code: nothing bundled
    const asset = `asset.${s3Key.replace(/\.zip$/, '')}`;
    const known = byAsset.get(asset);
    if (known) {
      known.functions.push(readableName(logicalId));
      continue;
    }
    const handler = String(p.Handler ?? 'index.handler');
    const dot = handler.lastIndexOf('.');
    const dir = path.join(assemblyDir, asset);
    const modulePath = path.join(dir, `${handler.slice(0, dot)}.mjs`);
    const moduleFile = path.basename(modulePath);
    const { loaded, lazy } = chunksOf(dir, moduleFile);
    const bytesOf = (files: Iterable<string>) =>
      [...files].reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
    const others = readdirSync(dir).filter((f) => !loaded.has(f) && !lazy.has(f) && !f.endsWith('.map'));
    const variables = ((p.Environment as Props | undefined)?.Variables ?? {}) as Record<string, unknown>;
    byAsset.set(asset, {
      asset,
      functions: [readableName(logicalId)],
      modulePath,
      handlerExport: handler.slice(dot + 1),
      moduleBytes: bytesOf(loaded),
      lazyBytes: bytesOf(lazy),
      otherBytes: others.reduce((sum, f) => {
        const full = path.join(dir, f);
        return sum + (statSync(full).isDirectory() ? folderBytes(full) : statSync(full).size);
      }, 0),
      shipsCodec: others.some((f) => f.endsWith('.wasm')),
      environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, placeholder(v)])),
      memorySize: Number(p.MemorySize ?? 128),
    });
  }
  return [...byAsset.values()];
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const who = (functions: readonly string[]) =>
  functions.length <= 3
    ? functions.join(', ')
    : `${functions.slice(0, 2).join(', ')} and ${functions.length - 2} more`;
/** "none", the names when few, else how many of how many. */
const overBudget = (names: readonly string[], of: number) =>
  names.length === 0 ? 'none' : names.length <= 6 ? names.join(', ') : `${names.length} of ${of}`;
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** Printable lines: each bundle's minified size, largest first, and how many are over budget. */
export async function bundleSizes(assemblyDir: string): Promise<string[]> {
  const bundles = functionBundles(assemblyDir).sort((a, b) => b.moduleBytes - a.moduleBytes);
  const over = bundles.filter((b) => b.moduleBytes > bundleBudgetBytes && !b.shipsCodec);
  const functions = bundles.reduce((n, b) => n + b.functions.length, 0);
  return [
    `Bundles (minified code a cold start loads; budget ${kb(bundleBudgetBytes)}, codecs excepted): ${functions} functions, ${bundles.length} bundles`,
    ...bundles.map((b) => {
      const flag =
        b.moduleBytes <= bundleBudgetBytes ? '' : b.shipsCodec ? '  (ships a codec)' : '  OVER BUDGET';
      const lazy = b.lazyBytes > 0 ? ` + ${kb(b.lazyBytes)} lazy` : '';
      const besides = b.otherBytes > 0 ? ` + ${kb(b.otherBytes)} beside it` : '';
      return `  ${kb(b.moduleBytes).padStart(10)}${lazy}${besides}  ${who(b.functions)}${flag}`;
    }),
    `  median ${kb(median(bundles.map((b) => b.moduleBytes)))}; over budget: ${overBudget(
      over.map((b) => b.functions[0] ?? b.asset),
      bundles.length,
    )}`,
  ];
}

/** Imports one bundle in a fresh worker thread; what it reports, in ms. */
const importer = `
const { parentPort, workerData } = require('node:worker_threads');
const started = performance.now();
import(workerData.url).then(
  (module) => parentPort.postMessage({
    importMs: performance.now() - started,
    exported: typeof module[workerData.handlerExport] === 'function',
  }),
  (error) => parentPort.postMessage({ error: String(error && error.stack || error) }),
);`;

interface ColdStart {
  readonly initMs: number;
  readonly importMs: number;
}

/** On Lambda the runtime sets AWS_EXECUTION_ENV; the factory's Tracer loads where it is set. */
const asOnLambda = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR' };

function coldStart(bundle: FunctionBundle, endpoint: string, traced = false): Promise<ColdStart> {
  const spawned = performance.now();
  const worker = new Worker(importer, {
    eval: true,
    workerData: { url: pathToFileURL(bundle.modulePath).href, handlerExport: bundle.handlerExport },
    env: {
      ...bundle.environment,
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_ENDPOINT_URL: endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: bundle.functions[0] ?? 'bench',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(bundle.memorySize),
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/01/01/[$LATEST]bench',
      LOCAL_CLOUD: 'true',
      NODE_OPTIONS: '',
      ...(traced ? asOnLambda : {}),
    },
    // As the local cloud's environments: the function's memory as heap ceiling, a small nursery.
    resourceLimits: { maxOldGenerationSizeMb: bundle.memorySize, maxYoungGenerationSizeMb: 8 },
    stdout: true,
    stderr: true,
  });
  worker.stdout.resume();
  worker.stderr.resume();
  return new Promise<ColdStart>((resolve, reject) => {
    worker.once('message', (message: { importMs?: number; exported?: boolean; error?: string }) => {
      const initMs = performance.now() - spawned;
      void worker.terminate();
      if (message.error) reject(new Error(message.error.split('\n')[0]));
      else if (!message.exported) reject(new Error(`exports no function "${bundle.handlerExport}"`));
      else resolve({ initMs, importMs: message.importMs ?? Number.NaN });
    });
    worker.once('error', reject);
  });
}

export interface InitTimesOptions {
  /** Cold starts per bundle (the median is printed). @default 3 */
  readonly rounds?: number;
}

/** Printable lines: each bundle's cold start (median of `rounds`), slowest first. */
export async function initTimes(assemblyDir: string, options: InitTimesOptions = {}): Promise<string[]> {
  const rounds = Math.max(1, options.rounds ?? 3);
  const bundles = functionBundles(assemblyDir);
  // Every AWS call a module makes at init is answered at once, as a success with nothing in it.
  const stub = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  const measured: {
    bundle: FunctionBundle;
    initMs: number;
    importMs: number;
    tracedMs: number;
    error?: string;
  }[] = [];
  try {
    for (const bundle of bundles) {
      const starts: ColdStart[] = [];
      const traced: ColdStart[] = [];
      let error: string | undefined;
      const failed = (e: Error) => {
        error = e.message;
      };
      // Alternately local and as on Lambda, so that both see the same moments of a busy machine.
      for (let i = 0; i < rounds && !error; i++) {
        await coldStart(bundle, endpoint).then((start) => starts.push(start), failed);
        if (!error) await coldStart(bundle, endpoint, true).then((start) => traced.push(start), failed);
      }
      measured.push({
        bundle,
        initMs: median(starts.map((s) => s.initMs)),
        importMs: median(starts.map((s) => s.importMs)),
        tracedMs: median(traced.map((s) => s.initMs)),
        ...(error ? { error } : {}),
      });
    }
  } finally {
    stub.close();
  }
  measured.sort((a, b) => (b.initMs || 0) - (a.initMs || 0));
  const over = measured.filter((m) => m.initMs > initBudgetMs);
  const ms = (value: number) => `${Math.round(value)} ms`.padStart(7);
  return [
    `Cold start in a fresh worker thread (median of ${rounds}; budget ${initBudgetMs} ms): init = spawn → module evaluated, import = the module alone, traced = init as on Lambda (AWS_EXECUTION_ENV set: the Tracer loads)`,
    ...measured.map(({ bundle, initMs, importMs, tracedMs, error }) =>
      error
        ? `  ${'failed'.padStart(7)}  ${who(bundle.functions)}: ${error}`
        : `  ${ms(initMs)} init ${ms(importMs)} import ${ms(tracedMs)} traced  ${who(bundle.functions)}${initMs > initBudgetMs ? '  OVER BUDGET' : ''}`,
    ),
    `  median init ${Math.round(median(measured.map((m) => m.initMs)))} ms, traced ${Math.round(
      median(measured.map((m) => m.tracedMs)),
    )} ms; over budget: ${overBudget(
      over.map((m) => m.bundle.functions[0] ?? m.bundle.asset),
      measured.length,
    )}`,
  ];
}

/** The most recently built assembly of the local cloud. */
export function newestAssembly(assembliesDir = path.resolve('.local', 'assemblies')): string {
  const [newest] = readdirSync(assembliesDir)
    .filter((name) => !name.includes('.building-'))
    .map((name) => path.join(assembliesDir, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!newest) throw new Error(`${assembliesDir}: no assembly (npm start synthesizes one)`);
  return newest;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const assemblyDir = path.resolve(process.argv[2] ?? newestAssembly());
  console.log(`${assemblyDir}\n`);
  console.log((await bundleSizes(assemblyDir)).join('\n'));
  console.log('');
  console.log(
    (await initTimes(assemblyDir, { rounds: Number(process.env.BENCH_INIT_ROUNDS ?? 3) })).join('\n'),
  );
}
