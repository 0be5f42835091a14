import { writeFile } from 'node:fs/promises';
import type { TestProject } from 'vitest/node';
import '../../localstack/cloud/quiet-sdk.ts';
import { type LocalCloud, startLocalCloud } from '../../localstack/cloud/local-cloud.ts';
import { iamProbeAgent } from './iam-probe.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    apiUrl: string;
    edgeUrl: string;
    backend: string;
    /** Keys of the three roles ({admin, developer, viewer}), as npm start issues them. */
    keys: Record<string, string>;
    /** Every route key of the HTTP API (`METHOD /path`), as the template declares them. */
    routeKeys: string[];
  }
}

let cloud: LocalCloud | undefined;

export async function setup(project: TestProject) {
  // An already-running factory (e.g. deployed to LocalStack): drive it instead of starting one.
  const externalApi = process.env.FACTORY_API_URL;
  if (externalApi) {
    project.provide('apiUrl', externalApi.replace(/\/$/, ''));
    project.provide('edgeUrl', process.env.FACTORY_AWS_ENDPOINT ?? 'http://localhost:4566');
    project.provide('backend', 'external');
    // An external factory's admin key; the role tests skip what it does not provide.
    project.provide('keys', process.env.FACTORY_ADMIN_KEY ? { admin: process.env.FACTORY_ADMIN_KEY } : {});
    project.provide('routeKeys', []);
    return;
  }
  const backend = process.env.LOCAL_CLOUD_BACKEND === 'moto' ? 'moto' : 'embedded';
  cloud = await startLocalCloud({
    apiPort: 0,
    edgePort: 0,
    backend,
    workDir: `.local/test-${backend}`,
    // Each run starts empty; what it leaves is kept for a look afterwards.
    fresh: true,
    log: (line) => {
      if (process.env.LOCAL_CLOUD_VERBOSE) console.log(`[local-cloud] ${line}`);
    },
  });
  // The autoscaler's minute timer would change queue concurrency under the other tests' feet
  // (e.g. an idle line scaled to 2 workers); its test invokes it explicitly instead.
  cloud.schedules.disable(/^AutoscalerSchedule/);
  project.provide('apiUrl', cloud.apiUrl);
  project.provide('edgeUrl', cloud.edgeUrl);
  project.provide('backend', backend);
  project.provide('keys', cloud.keys.credentials as Record<string, string>);
  project.provide(
    'routeKeys',
    cloud.stack.routes.filter((r) => r.path !== '$default').map((r) => `${r.method} ${r.path}`),
  );
}

export async function teardown() {
  // A call a function's policies do not allow fails that call (and usually its test); one whose
  // error a handler swallowed (e.g. a metric) fails the run here. iam.test.ts's probes are meant.
  const denials = (cloud?.iam.denials ?? []).filter((d) => !d.userAgent.includes(iamProbeAgent));
  await cloud?.stop();
  if (denials.length > 0) {
    // vitest 4.1 only logs a teardown's error: the exit code is what fails the run.
    process.exitCode = 1;
    const message =
      `The local cloud refused ${denials.length} call(s) that the functions' IAM policies do not allow:\n` +
      denials
        .slice(0, 20)
        .map((d) => `  ${d.functionName}: ${d.action} on ${d.resource}`)
        .join('\n');
    // .ci/run prints it in its summary: the passing test counts alone would hide it.
    await writeFile(
      `.local/ci-teardown-${process.env.LOCAL_CLOUD_BACKEND ?? 'embedded'}.txt`,
      `${message}\n`,
    );
    throw new Error(message);
  }
}
