import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

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

/** Provided by the Lambda Node.js runtime, so never bundled. */
const runtimeProvided = ['@aws-sdk/*'];
const imageCodecs = ['jimp', '@jsquash/webp'];

/**
 * Every Lambda of the factory: Node 22 on arm64, ESM bundled locally by esbuild (no Docker),
 * the stack's function log group (two weeks' retention), X-Ray tracing. One place to change runtime decisions.
 */
export class FactoryFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: FactoryFunctionProps) {
    const logGroup = functionLogsOf(scope);
    super(scope, id, {
      entry: path.join(repoRoot, 'functions', props.entry),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      description: props.description,
      tracing: Tracing.ACTIVE,
      logGroup,
      depsLockFilePath: path.join(repoRoot, 'package-lock.json'),
      projectRoot: repoRoot,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // Some SDK dependencies still call require(); give the ESM bundle one.
        banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
        mainFields: ['module', 'main'],
        externalModules: props.bundleImageCodecs ? runtimeProvided : [...runtimeProvided, ...imageCodecs],
        ...(props.bundledFiles?.length || props.bundledBuild
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (inputDir: string, outputDir: string) => [
                  ...(props.bundledFiles ?? []).map(
                    (file) => `cp "${path.join(inputDir, file)}" "${outputDir}/"`,
                  ),
                  ...(props.bundledBuild ? [buildCommand(props.bundledBuild, inputDir, outputDir)] : []),
                ],
              },
            }
          : {}),
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
