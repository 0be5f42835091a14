/**
 * Synthesizes the CDK app into `outdir` with the given context, in a process of its own
 * (synth.ts spawns it): aws-cdk-lib and the bundler's modules stay loaded in whatever process
 * imports them, ~370 MB that `npm start` would otherwise hold for as long as it serves.
 *
 * Usage: node --import tsx localstack/cloud/synth-app.ts <outdir> <context as JSON>
 */
import { buildFactoryApp } from '../../infra/app.ts';

const [outdir, context] = process.argv.slice(2);
if (!outdir || context === undefined) {
  console.error('usage: synth-app.ts <outdir> <context as JSON>');
  process.exit(2);
}
const { app } = buildFactoryApp({ outdir, context: JSON.parse(context) as Record<string, unknown> });
app.synth();
