/**
 * Synthesizes the CDK app (the same one `cdk deploy` uses) into a local cloud assembly. The
 * assembly is reused while nothing it is built from changed (infra/, functions/, the lockfile,
 * the context), which takes a restart from ~8 s to ~2 s.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
  for (const file of ['package-lock.json', 'cdk.json']) hash.update(readFileSync(path.join(repoRoot, file)));
  return hash.digest('hex');
}

export async function synthesize(
  outdir: string,
  context: Record<string, unknown>,
): Promise<SynthesizedStack> {
  const stamp = path.join(outdir, '.inputs-hash');
  const templateFile = path.join(outdir, `${stackName}.template.json`);
  const hash = inputsHash(context);
  if (existsSync(stamp) && existsSync(templateFile) && readFileSync(stamp, 'utf8') === hash) {
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate;
    return { template, assemblyDir: outdir, stackName, synthesized: false };
  }
  // Loaded only when needed: aws-cdk-lib alone takes seconds to import.
  const { buildFactoryApp } = await import('../../infra/app.ts');
  const { app } = buildFactoryApp({ outdir, context });
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stackName);
  const template = JSON.parse(
    readFileSync(path.join(assembly.directory, artifact.templateFile), 'utf8'),
  ) as CfnTemplate;
  writeFileSync(stamp, hash);
  return { template, assemblyDir: assembly.directory, stackName, synthesized: true };
}
