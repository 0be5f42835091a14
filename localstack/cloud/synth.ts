/**
 * Synthesizes the CDK app (the same one `cdk deploy` uses) into a local cloud assembly. The
 * assembly is reused while nothing it is built from changed (infra/, functions/, the lockfile,
 * the context), which takes a restart from ~22 s to ~1.3 s. Assemblies live in one folder per
 * inputs hash, shared by `npm start`, the tests and the bench, and built under a temporary name
 * then renamed, so concurrent runs never see half an assembly.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CfnTemplate } from './template.ts';

export interface SynthesizedStack {
  readonly template: CfnTemplate;
  readonly assemblyDir: string;
  readonly stackName: string;
  /** False when the previous assembly was reused. */
  readonly synthesized: boolean;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const stackName = 'RobotFactory';
const synthApp = fileURLToPath(new URL('./synth-app.ts', import.meta.url));

function inputsHash(context: Record<string, unknown>): string {
  const hash = createHash('sha256').update(JSON.stringify(context));
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else hash.update(full).update(readFileSync(full));
    }
  };
  walk(path.join(repoRoot, 'infra'));
  walk(path.join(repoRoot, 'functions'));
  // The console is built into its function's asset (console/build.mjs).
  walk(path.join(repoRoot, 'console'));
  // How the app is synthesized, too: a change there must not reuse an assembly built before it.
  for (const file of [
    'package-lock.json',
    'cdk.json',
    'localstack/cloud/synth.ts',
    'localstack/cloud/synth-app.ts',
  ])
    hash.update(readFileSync(path.join(repoRoot, file)));
  return hash.digest('hex');
}

/** @param assembliesDir where assemblies are kept, one sub-folder per inputs hash */
export async function synthesize(
  assembliesDir: string,
  context: Record<string, unknown>,
): Promise<SynthesizedStack> {
  const hash = inputsHash(context);
  const outdir = path.join(assembliesDir, hash.slice(0, 16));
  const templateFile = path.join(outdir, `${stackName}.template.json`);
  const read = () => JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate;
  if (existsSync(templateFile))
    return { template: read(), assemblyDir: outdir, stackName, synthesized: false };

  mkdirSync(assembliesDir, { recursive: true });
  const building = `${outdir}.building-${process.pid}`;
  try {
    await synthesizeApart(building, context);
  } catch (error) {
    // A half-built assembly (a failed or interrupted synthesis) is ~90 MB nobody will read.
    rmSync(building, { recursive: true, force: true });
    throw error;
  }
  try {
    renameSync(building, outdir);
  } catch {
    // Another run finished the same assembly first: use theirs.
    rmSync(building, { recursive: true, force: true });
  }
  prune(assembliesDir, outdir);
  return { template: read(), assemblyDir: outdir, stackName, synthesized: true };
}

/**
 * Runs the app's synthesis in a child process (synth-app.ts): aws-cdk-lib takes seconds to
 * import, and its modules, once imported, stay for the life of the process — measured, an
 * `npm start` that synthesized held 527 MB once ready against 160 MB for one that reused the
 * assembly, and went past 1.3 GB after a 10,000-job drain.
 */
async function synthesizeApart(outdir: string, context: Record<string, unknown>): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', synthApp, outdir, JSON.stringify(context)], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  if (code !== 0)
    throw new Error(
      `Synthesizing the CDK app failed (${signal ?? `exit code ${code}`}): see the output above`,
    );
}

/** Keeps the current assembly and the most recent other one (a run may still be using it). */
function prune(assembliesDir: string, current: string): void {
  const others = readdirSync(assembliesDir)
    .map((name) => path.join(assembliesDir, name))
    .filter((dir) => dir !== current && !dir.includes('.building-'))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const dir of others.slice(1)) rmSync(dir, { recursive: true, force: true });
}
