/**
 * X-Ray tracing (Powertools Tracer) where a function is traced: the stack turns active tracing on
 * for every function (infra/constructs/factory-function.ts); the AWS SDK clients are captured
 * (adapters/aws-clients.ts) and a job type's run gets a subsegment of its own (the job worker).
 *
 * The Tracer is loaded only where it would trace: on Lambda (AWS_EXECUTION_ENV set) unless
 * POWERTOOLS_TRACE_ENABLED=false or under SAM local — the same test the Tracer makes. Elsewhere
 * (the local cloud sets no AWS_EXECUTION_ENV and has no X-Ray daemon, unit tests) it would be a
 * no-op anyway, but importing it starts the X-Ray SDK's context tracking (async hooks on every
 * promise of the environment), which is then spared. In a function's bundle the dynamic import is
 * a chunk of its own beside index.mjs (infra/constructs/bundle-function.mjs splits the bundle at
 * dynamic imports): where nothing is traced its ~95 KB are not even read; where traced, Lambda
 * loads them at init as part of the cold start, as before.
 */
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { serviceName } from './logger.ts';

export const tracingWanted = (env: NodeJS.ProcessEnv = process.env): boolean =>
  Boolean(env.AWS_EXECUTION_ENV) &&
  env.AWS_EXECUTION_ENV !== 'AWS_Lambda_amplify-mock' &&
  !env.AWS_SAM_LOCAL &&
  env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() !== 'false';

/** The environment's Tracer, or undefined where nothing is traced. */
export const tracer: Tracer | undefined = tracingWanted()
  ? new (await import('@aws-lambda-powertools/tracer')).Tracer({ serviceName })
  : undefined;

/** An AWS SDK v3 client whose calls are subsegments of the invocation's trace (where traced). */
export const captured = <Client>(client: Client, by: Tracer | undefined = tracer): Client =>
  by ? by.captureAWSv3Client(client) : client;

type Subsegment = NonNullable<Parameters<Parameters<Tracer['provider']['captureAsyncFunc']>[1]>[0]>;

/**
 * Runs `work` in a subsegment named `name` with the given annotations (searchable in X-Ray); its
 * AWS calls are that subsegment's children, also while other work of the invocation runs
 * concurrently (the X-Ray SDK gives each captured function its own context).
 */
export async function inSubsegment<T>(
  name: string,
  annotations: Record<string, string | number | boolean>,
  work: () => Promise<T>,
  by: Tracer | undefined = tracer,
): Promise<T> {
  if (!by?.isTracingEnabled() || !by.getSegment()) return work();
  return (await by.provider.captureAsyncFunc(name, async (subsegment?: Subsegment) => {
    for (const [key, value] of Object.entries(annotations)) subsegment?.addAnnotation(key, value);
    try {
      return await work();
    } catch (error) {
      subsegment?.addError(error as Error);
      throw error;
    } finally {
      subsegment?.close();
    }
  })) as T;
}
