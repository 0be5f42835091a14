/** Synthesizes the CDK app (the same one `cdk deploy` uses) into a local cloud assembly. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildFactoryApp, stackName } from '../../infra/app.ts';
import type { CfnTemplate } from './template.ts';

export interface SynthesizedStack {
  readonly template: CfnTemplate;
  readonly assemblyDir: string;
  readonly stackName: string;
}

export function synthesize(outdir: string, context: Record<string, unknown>): SynthesizedStack {
  const { app } = buildFactoryApp({ outdir, context });
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stackName);
  const template = JSON.parse(
    readFileSync(path.join(assembly.directory, artifact.templateFile), 'utf8'),
  ) as CfnTemplate;
  return { template, assemblyDir: assembly.directory, stackName };
}
