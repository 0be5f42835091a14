/**
 * Runs the template's Lambda functions on this machine. An execution environment is a worker
 * thread: its own process.env (the function's resolved environment), its own module instance
 * (cold start, warm reuse) and a hard timeout (the thread is terminated, as Lambda would).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const bootstrap = fileURLToPath(new URL('./lambda-environment.mjs', import.meta.url));

export interface LocalFunction {
  readonly name: string;
  readonly arn: string;
  readonly codePath: string;
  readonly handlerExport: string;
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** Upper bound of concurrent environments (reserved concurrency, or the account default). */
  readonly concurrencyLimit: number;
  readonly description?: string;
}

export interface InvocationError {
  readonly errorType: string;
  readonly errorMessage: string;
}

export type InvocationResult = { ok: true; result: unknown } | { ok: false; error: InvocationError };

interface Environment {
  readonly id: string;
  readonly worker: Worker;
  readonly ready: Promise<void>;
  busy: boolean;
  lastUsed: number;
  current?: { resolve: (result: InvocationResult) => void; timer: NodeJS.Timeout; event: unknown };
}

export interface LambdaRuntimeOptions {
  /** Where function output goes (each line prefixed with the function name). */
  readonly log: (line: string) => void;
  /** Environments idle longer than this are shut down. @default 5 minutes */
  readonly idleTimeoutMs?: number;
  /** Longest an environment may take to initialise (Lambda: 10 s, or the function timeout). */
  readonly initTimeoutMs?: (fn: LocalFunction) => number;
}

export class LambdaRuntime {
  private readonly functions = new Map<string, LocalFunction>();
  private readonly environments = new Map<string, Environment[]>();
  private readonly waiters = new Map<string, (() => void)[]>();
  private readonly reaper: NodeJS.Timeout;
  /** Invocations by function, for the operator's view and the bench. */
  readonly invocations = new Map<string, number>();
  /** Chaos: invocations of matching functions lose their environment mid-run at this rate. */
  private crashRate?: { pattern: RegExp; rate: number; until?: number };
  chaosCrashes = 0;

  constructor(private readonly options: LambdaRuntimeOptions) {
    const idle = options.idleTimeoutMs ?? 300_000;
    this.reaper = setInterval(() => this.reapIdle(idle), Math.min(idle, 30_000));
    this.reaper.unref();
  }

  register(fn: LocalFunction): void {
    this.functions.set(fn.name, fn);
    this.environments.set(fn.name, []);
  }

  get(nameOrArn: string): LocalFunction | undefined {
    return this.functions.get(nameOrArn) ?? [...this.functions.values()].find((f) => f.arn === nameOrArn);
  }

  list(): LocalFunction[] {
    return [...this.functions.values()];
  }

  /** Live execution environments of a function (the local "workers"). */
  environmentCount(name: string): number {
    return this.environments.get(name)?.length ?? 0;
  }

  async invoke(nameOrArn: string, event: unknown): Promise<InvocationResult> {
    const fn = this.get(nameOrArn);
    if (!fn)
      return {
        ok: false,
        error: { errorType: 'ResourceNotFoundException', errorMessage: `Function not found: ${nameOrArn}` },
      };
    this.invocations.set(fn.name, (this.invocations.get(fn.name) ?? 0) + 1);
    const environment = await this.acquire(fn);
    try {
      await environment.ready;
    } catch (error) {
      this.discard(fn.name, environment);
      return { ok: false, error: { errorType: 'Runtime.InitError', errorMessage: (error as Error).message } };
    }
    return new Promise<InvocationResult>((resolve) => {
      const id = randomUUID();
      const timer = setTimeout(() => {
        this.discard(fn.name, environment);
        resolve({
          ok: false,
          error: {
            errorType: 'Sandbox.Timedout',
            errorMessage: `Task timed out after ${fn.timeoutSeconds} seconds`,
          },
        });
      }, fn.timeoutSeconds * 1000);
      environment.current = { resolve, timer, event };
      environment.worker.postMessage({ id, event, deadline: Date.now() + fn.timeoutSeconds * 1000 });
    }).finally(() => this.release(fn.name, environment));
  }

  /** From now (for `forMs`), each invocation of a matching function crashes with probability `rate`. */
  setCrashRate(pattern: RegExp, rate: number, forMs?: number): void {
    this.crashRate = { pattern, rate, ...(forMs !== undefined ? { until: Date.now() + forMs } : {}) };
  }

  /**
   * Chaos strikes mid-run: when an environment of a matching function says it is working on a
   * job (the workers log it right after their claim), it dies a few milliseconds later at the
   * set rate.
   */
  private maybeCrash(fn: LocalFunction, env: Environment, line: string): void {
    const chaos = this.crashRate;
    if (!chaos || (chaos.until !== undefined && Date.now() > chaos.until) || !chaos.pattern.test(fn.name))
      return;
    if (!line.includes('"message":"Working on job"') || Math.random() >= chaos.rate) return;
    setTimeout(() => {
      if (!env.current) return;
      this.chaosCrashes++;
      void this.discard(fn.name, env);
    }, Math.random() * 10).unref();
  }

  /**
   * Stops environments of a function now, mid-invocation or not (a crash, as tests need): all of
   * them, or only those whose invocation under way carries `eventContains` (one job's worker).
   */
  async crash(name: string, eventContains?: string): Promise<number> {
    const envs = [...(this.environments.get(name) ?? [])].filter(
      (env) =>
        eventContains === undefined || JSON.stringify(env.current?.event ?? null).includes(eventContains),
    );
    for (const env of envs) this.discard(name, env);
    return envs.length;
  }

  async stop(): Promise<void> {
    clearInterval(this.reaper);
    const all = [...this.environments.entries()].flatMap(([name, envs]) =>
      envs.map((env) => [name, env] as const),
    );
    await Promise.all(all.map(([name, env]) => this.discard(name, env)));
  }

  private async acquire(fn: LocalFunction): Promise<Environment> {
    for (;;) {
      const envs = this.environments.get(fn.name) as Environment[];
      const idle = envs.find((env) => !env.busy);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (envs.length < fn.concurrencyLimit) {
        const env = this.create(fn);
        env.busy = true;
        envs.push(env);
        return env;
      }
      await new Promise<void>((resolve) =>
        this.waiters.set(fn.name, [...(this.waiters.get(fn.name) ?? []), resolve]),
      );
    }
  }

  private release(name: string, env: Environment): void {
    env.busy = false;
    env.lastUsed = Date.now();
    const [next, ...rest] = this.waiters.get(name) ?? [];
    this.waiters.set(name, rest);
    next?.();
  }

  private create(fn: LocalFunction): Environment {
    const id = randomBytes(8).toString('hex');
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    const logStreamName = `${day}/[$LATEST]${id}`;
    const worker = new Worker(bootstrap, {
      env: { ...fn.environment, AWS_LAMBDA_LOG_STREAM_NAME: logStreamName },
      workerData: {
        codePath: fn.codePath,
        handlerExport: fn.handlerExport,
        functionName: fn.name,
        functionArn: fn.arn,
        memorySize: fn.memorySize,
        logStreamName,
      },
      stdout: true,
      stderr: true,
    });
    const prefix = `[${fn.name}]`;
    for (const stream of [worker.stdout, worker.stderr]) {
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          if (!line) continue;
          this.options.log(`${prefix} ${line}`);
          this.maybeCrash(fn, env, line);
        }
      });
    }
    let markReady: () => void = () => undefined;
    let failReady: (error: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    ready.catch(() => undefined);
    const env: Environment = { id, worker, ready, busy: false, lastUsed: Date.now() };
    worker.on('message', (message: { type: string; result?: unknown; error?: InvocationError }) => {
      if (message.type === 'ready') return markReady();
      const current = env.current;
      if (!current) return;
      env.current = undefined;
      clearTimeout(current.timer);
      current.resolve(
        message.type === 'result'
          ? { ok: true, result: message.result }
          : { ok: false, error: message.error as InvocationError },
      );
    });
    // The environment died under an invocation: that invocation fails, as on Lambda.
    const failInFlight = (errorMessage: string) => {
      const current = env.current;
      env.current = undefined;
      if (!current) return;
      clearTimeout(current.timer);
      current.resolve({ ok: false, error: { errorType: 'Runtime.ExitError', errorMessage } });
    };
    worker.on('error', (error) => {
      failReady(error);
      failInFlight(error.message);
      this.discard(fn.name, env);
    });
    worker.on('exit', () => {
      // An environment that dies while it starts fails the invocation waiting for it.
      failReady(new Error('The execution environment stopped during its initialisation'));
      failInFlight('The execution environment stopped');
      this.remove(fn.name, env);
    });
    // Lambda gives initialisation at most 10 s (or the function's timeout, if longer).
    const initTimer = setTimeout(
      () => {
        failReady(new Error('The execution environment did not initialise in time'));
        void this.discard(fn.name, env);
      },
      this.options.initTimeoutMs?.(fn) ?? Math.max(10, fn.timeoutSeconds) * 1000,
    );
    initTimer.unref();
    void ready.then(
      () => clearTimeout(initTimer),
      () => clearTimeout(initTimer),
    );
    return env;
  }

  private remove(name: string, env: Environment): void {
    const envs = this.environments.get(name);
    if (!envs) return;
    const index = envs.indexOf(env);
    if (index >= 0) {
      envs.splice(index, 1);
      const [next, ...rest] = this.waiters.get(name) ?? [];
      this.waiters.set(name, rest);
      next?.();
    }
  }

  private async discard(name: string, env: Environment): Promise<void> {
    this.remove(name, env);
    await env.worker.terminate();
  }

  private reapIdle(idleMs: number): void {
    const now = Date.now();
    for (const [name, envs] of this.environments) {
      for (const env of [...envs]) if (!env.busy && now - env.lastUsed > idleMs) void this.discard(name, env);
    }
  }
}
