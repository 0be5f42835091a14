import { execFileSync, execSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Architecture, Code, Function as LambdaFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bundler = path.join('infra', 'constructs', 'bundle-function.mjs');

export interface FactoryFunctionProps {
  /** Handler module, relative to functions/ (e.g. `api/create-order.ts`). */
  readonly entry: string;
  readonly environment?: Record<string, string>;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  readonly description?: string;
  /** Files copied next to the bundle (runtime assets such as .wasm), relative to the repository. */
  readonly bundledFiles?: readonly string[];
  /**
   * A Node script (relative to the repository) run after bundling with a folder of the asset as
   * its argument: it builds files the handler serves (the console). @default none
   */
  readonly bundledBuild?: {
    readonly script: string;
    readonly into: string;
    /** Passed to the script as a second argument, base64 JSON (e.g. the API's routes). */
    readonly input?: unknown;
  };
  /**
   * Bundle the image codecs (jimp, WebP). Every function that knows the job types reaches them
   * through a lazy import, but only the media worker runs them; the others leave them out.
   * @default false
   */
  readonly bundleImageCodecs?: boolean;
}

/**
 * The one log group every function of a stack writes to. Lambda names each stream
 * `YYYY/MM/DD/<function>[<version>]<environment>` in a custom group, so a function's lines stay
 * apart; one group instead of one per function keeps 50-odd resources out of CloudFormation's
 * 500 per stack and gives Logs Insights one place to query a job across functions.
 */
export function functionLogsOf(scope: Construct): LogGroup {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild('FunctionLogs');
  if (existing) return existing as LogGroup;
  return new LogGroup(stack, 'FunctionLogs', {
    retention: RetentionDays.TWO_WEEKS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/** The shell command of a bundled build: TypeScript scripts run with tsx, from the repository. */
function buildCommand(
  build: NonNullable<FactoryFunctionProps['bundledBuild']>,
  inputDir: string,
  outputDir: string,
): string {
  const runner = build.script.endsWith('.ts') ? 'node --import tsx' : 'node';
  const input =
    build.input === undefined ? '' : ` "${Buffer.from(JSON.stringify(build.input)).toString('base64')}"`;
  return `cd "${inputDir}" && ${runner} "${path.join(inputDir, build.script)}" "${path.join(outputDir, build.into)}"${input}`;
}

/** Provided by the Lambda Node.js runtime, so never bundled (and loaded with require()). */
const runtimeProvided = ['@aws-sdk/*'];
const imageCodecs = ['jimp', '@jsquash/webp'];

/** What bundle-function.mjs builds for one function. */
interface BundleSpec {
  readonly entry: string;
  readonly external: readonly string[];
  readonly runtimeProvided: readonly string[];
  readonly splitting: boolean;
}

/**
 * Every Lambda of the factory: Node 22 on arm64, ESM bundled locally by esbuild (no Docker),
 * the stack's function log group (two weeks' retention), X-Ray tracing. One place to change runtime decisions.
 *
 * The bundle (infra/constructs/bundle-function.mjs) is index.mjs, what every cold start loads, and
 * chunks beside it for what the code imports dynamically, loaded when imported: the Tracer with the
 * X-Ray SDK (only where the function is traced, functions/shared/tracer.ts), the image codecs' glue.
 * The AWS SDK stays out (the runtime provides it) and is loaded with require(), half the time of an
 * ESM import of the same CommonJS packages.
 */
export class FactoryFunction extends LambdaFunction {
  constructor(scope: Construct, id: string, props: FactoryFunctionProps) {
    const logGroup = functionLogsOf(scope);
    const spec: BundleSpec = {
      entry: path.join('functions', props.entry),
      external: props.bundleImageCodecs ? [] : imageCodecs,
      runtimeProvided,
      // The media worker keeps one file: split, its codecs (1.9 MB) would be parsed at its first
      // image job instead of at its cold start.
      splitting: !props.bundleImageCodecs,
    };
    const bundle = (outputDir: string): boolean => {
      execFileSync(process.execPath, [path.join(repoRoot, bundler), JSON.stringify(spec), outputDir], {
        cwd: repoRoot,
        stdio: ['ignore', process.stderr, 'inherit'],
      });
      for (const file of props.bundledFiles ?? [])
        copyFileSync(path.join(repoRoot, file), path.join(outputDir, path.basename(file)));
      if (props.bundledBuild)
        execSync(buildCommand(props.bundledBuild, repoRoot, outputDir), {
          stdio: ['ignore', process.stderr, 'inherit'],
        });
      return true;
    };
    super(scope, id, {
      code: Code.fromAsset(repoRoot, {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Docker is never used: the bundle is always built locally (tryBundle). The command only
          // names the build and its inputs, which keeps each function's bundle apart in CDK's cache
          // of bundled assets (keyed by these options; tryBundle, a function, does not count).
          image: Runtime.NODEJS_22_X.bundlingImage,
          command: [
            'node',
            bundler,
            JSON.stringify({ ...spec, bundledFiles: props.bundledFiles, bundledBuild: props.bundledBuild }),
          ],
          local: { tryBundle: bundle },
        },
      }),
      handler: 'index.handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description,
      tracing: Tracing.ACTIVE,
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
    });
    // Reviewed findings of cdk-nag (test/infra/nag.test.ts), true of every function of the factory.
    for (const [id, reason] of [
      [
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'AWSLambdaBasicExecutionRole only lets the function write its own logs; a copy of it as an inline policy would say the same',
      ],
      [
        'AwsSolutions-IAM5[Resource::*]',
        'X-Ray (PutTraceSegments, PutTelemetryRecords) accepts no other resource',
      ],
      [
        'AwsSolutions-L1',
        'nodejs22.x is the runtime the product targets (the local tooling runs Node 20/22); moving to 24 is a decision of its own',
      ],
      ['Serverless-LambdaLatestVersion', 'same finding as AwsSolutions-L1'],
      [
        'Serverless-LambdaDLQ',
        'no function is invoked asynchronously except by the minute schedules, whose next tick redoes the work; SQS-fed functions have DLQs on their queues, API ones answer their caller',
      ],
      [
        'Serverless-LambdaEventSourceMappingDestination',
        'every event source queue has its own dead-letter queue (maxReceiveCount), asserted in the infra tests; a second failure destination would split the dead letters',
      ],
    ] as const)
      Validations.of(this).acknowledge({ id, reason });
  }
}
