/**
 * Runs the template's Lambda functions on this machine. An execution environment is a worker
 * thread: its own process.env (the function's resolved environment), its own module instance
 * (cold start, warm reuse) and a hard timeout (the thread is terminated, as Lambda would).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BufferedRequest, ServiceResponse } from './edge.ts';

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
  /** Set once the environment holds one of the runtime's initialisation slots. */
  worker?: Worker;
  /** Starting (initialising), idle (warm, free) or busy (serving an invocation). */
  state: 'starting' | 'idle' | 'busy';
  /** Discarded before its worker started: the slot it waits for starts nothing. */
  gone?: boolean;
  lastUsed: number;
  current?: { resolve: (result: InvocationResult) => void; timer: NodeJS.Timeout; event: unknown };
}

/** An invocation waiting for an environment: the first that is free, warm or newly started. */
interface Waiter {
  readonly resolve: (env: Environment) => void;
  readonly reject: (error: Error) => void;
}

export interface LambdaRuntimeOptions {
  /** Where function output goes (each line prefixed with the function name). */
  readonly log: (line: string) => void;
  /** Environments idle longer than this are shut down. @default 5 minutes */
  readonly idleTimeoutMs?: number;
  /** Longest an environment may take to initialise (Lambda: 10 s, or the function timeout). */
  readonly initTimeoutMs?: (fn: LocalFunction) => number;
  /**
   * Environments initialising at once, over all functions. On Lambda each environment has CPU of
   * its own; here they share the machine's cores, and thirty cold starts at once took each over
   * Lambda's 10 s init limit under load, failing every one of them (and their retries).
   * @default the machine's available parallelism
   */
  readonly concurrentInitialisations?: number;
}

/** An AWS call a function made, posted by its environment (lambda-environment.mjs). */
interface AwsCallMessage {
  readonly id: number;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array | string;
}

/** Each environment's young generation (V8 semi-spaces), in MB. */
const youngGenerationMb = 8;

/**
 * Node's flags for an environment: the local cloud's own, without the TypeScript loader it may run
 * under (`npm start` is `tsx …`, which puts tsx's `--require` and `--import` in execArgv, and a
 * worker inherits them). A bundle is plain JavaScript, as on Lambda; with the loader every
 * environment ran tsx's hooks on each module it loaded at its cold start.
 */
export function environmentExecArgv(execArgv: readonly string[]): string[] {
  const loaderFlags = new Set(['--require', '-r', '--import', '--loader', '--experimental-loader']);
  const isTsx = (value = '') => /[/\\]tsx[/\\]|^tsx(\/|$)/.test(value);
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i] ?? '';
    const [name, inline] = flag.split(/=(.*)/s);
    if (name && loaderFlags.has(name)) {
      const value = inline ?? execArgv[i + 1];
      if (inline === undefined) i++;
      if (isTsx(value)) continue;
      kept.push(flag, ...(inline === undefined && value !== undefined ? [value] : []));
      continue;
    }
    kept.push(flag);
  }
  return kept;
}

/**
 * How far an environment's thread yields on Linux: added to the local cloud's own nice value
 * (lambda-environment.mjs). Every environment yields to the main thread,
 * which serves every AWS call (on AWS the services run elsewhere and a busy function does not
 * slow them). Those working in the background (queue and stream consumers, schedules) yield
 * as well to those a caller waits on: on AWS each environment has a CPU of its own, and a drain
 * does not slow the API's answers or its intake; here they share two cores.
 */
export function environmentNice(answersCaller: boolean, env: NodeJS.ProcessEnv): number {
  const callers = Number(env.LOCAL_LAMBDA_NICE ?? 5);
  return answersCaller ? callers : Number(env.LOCAL_BACKGROUND_NICE ?? Math.min(19, callers + 5));
}

export class LambdaRuntime {
  private readonly functions = new Map<string, LocalFunction>();
  private readonly answeringCallers = new Set<string>();
  private readonly environments = new Map<string, Environment[]>();
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly initialisationSlots: number;
  private initialising = 0;
  private stopped = false;
  private readonly slotQueue: (() => void)[] = [];
  private readonly reaper: NodeJS.Timeout;
  /** Invocations by function, for the operator's view and the bench. */
  readonly invocations = new Map<string, number>();
  /** Chaos: invocations of matching functions lose their environment mid-run at this rate. */
  private crashRate?: { pattern: RegExp; rate: number; until?: number };
  chaosCrashes = 0;
  /** The AWS endpoint the functions call (AWS_ENDPOINT_URL), served by the edge's dispatch. */
  private edge?: {
    readonly url: string;
    readonly dispatch: (request: BufferedRequest) => Promise<ServiceResponse>;
  };

  constructor(private readonly options: LambdaRuntimeOptions) {
    const idle = options.idleTimeoutMs ?? 300_000;
    this.reaper = setInterval(() => this.reapIdle(idle), Math.min(idle, 30_000));
    this.reaper.unref();
    this.initialisationSlots = Math.max(1, options.concurrentInitialisations ?? availableParallelism());
  }

  /**
   * Hands the functions' AWS calls to the edge over the environment's message port instead of a
   * loopback socket (lambda-environment.mjs swaps the SDK's HTTP handler for calls to this URL).
   * The edge sees the same signed request and counts, authorises and injects faults as before;
   * what goes is a TCP round on the main thread per call, which a drain's profile showed as a
   * fifth of that thread in `writev`.
   */
  connectEdge(url: string, dispatch: (request: BufferedRequest) => Promise<ServiceResponse>): void {
    this.edge = { url, dispatch };
  }

  private async serveAwsCall(worker: Worker, message: AwsCallMessage): Promise<void> {
    let answer: ServiceResponse;
    try {
      if (!this.edge) throw new Error('the local cloud has no AWS endpoint yet');
      answer = await this.edge.dispatch({
        method: message.method,
        url: message.url,
        headers: message.headers,
        body: Buffer.from(message.body),
      });
    } catch (error) {
      answer = {
        status: 500,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ __type: 'InternalFailure', message: (error as Error).message }),
      };
    }
    // postMessage clones a Buffer with its whole backing store: a pooled or sliced buffer can be
    // thousands of times its length (measured: ~0.4 ms a message for a view on 1 MB, most of the
    // main thread's time in a drain). A string is cloned as it is; bytes travel as an exact copy,
    // transferred rather than cloned again.
    const body =
      typeof answer.body === 'string' || answer.body.byteLength === answer.body.buffer.byteLength
        ? answer.body
        : new Uint8Array(answer.body);
    worker.postMessage(
      { type: 'aws-response', id: message.id, status: answer.status, headers: answer.headers, body },
      typeof body === 'string' || body.buffer instanceof SharedArrayBuffer ? [] : [body.buffer],
    );
  }

  /**
   * `answersCaller`: the function answers a waiting caller (an HTTP or WebSocket route, an
   * authorizer). Its environments run at a higher priority than those working in the background.
   */
  register(fn: LocalFunction, options: { answersCaller?: boolean } = {}): void {
    this.functions.set(fn.name, fn);
    if (options.answersCaller) this.answeringCallers.add(fn.name);
    this.environments.set(fn.name, []);
    this.waiters.set(fn.name, []);
  }

  get(nameOrArn: string): LocalFunction | undefined {
    return this.functions.get(nameOrArn) ?? [...this.functions.values()].find((f) => f.arn === nameOrArn);
  }

  list(): LocalFunction[] {
    return [...this.functions.values()];
  }

  /** Live execution environments of a function (the local "workers"). */
  environmentCount(name: string): number {
    // Not those still waiting for an initialisation slot: they may never start.
    return this.environments.get(name)?.filter((env) => env.worker).length ?? 0;
  }

  async invoke(nameOrArn: string, event: unknown): Promise<InvocationResult> {
    const fn = this.get(nameOrArn);
    if (!fn)
      return {
        ok: false,
        error: { errorType: 'ResourceNotFoundException', errorMessage: `Function not found: ${nameOrArn}` },
      };
    this.invocations.set(fn.name, (this.invocations.get(fn.name) ?? 0) + 1);
    let environment: Environment;
    try {
      environment = await this.acquire(fn);
    } catch (error) {
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
      environment.worker?.postMessage({ id, event, deadline: Date.now() + fn.timeoutSeconds * 1000 });
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
    // The invocation that claimed the job dies mid-attempt, not the next one the environment took
    // meanwhile (a short job can end within those milliseconds): killing that one before it hid
    // its batch stranded ten wake-ups for the queue's visibility timeout (16 minutes) in a CI run.
    const attempt = env.current;
    setTimeout(() => {
      if (!attempt || env.current !== attempt) return;
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
    this.stopped = true;
    for (const waiting of this.waiters.values())
      for (const waiter of waiting.splice(0)) waiter.reject(new Error('The local Lambda runtime stopped'));
    const all = [...this.environments.entries()].flatMap(([name, envs]) =>
      envs.map((env) => [name, env] as const),
    );
    await Promise.all(all.map(([name, env]) => this.discard(name, env)));
  }

  /**
   * A warm environment if one is free; otherwise the invocation waits for the first environment
   * that frees up or finishes starting. New environments start only while more invocations wait
   * than environments are starting (up to the function's concurrency), so a burst on a cold
   * function is served by the first environments as they warm instead of one cold start each.
   */
  private acquire(fn: LocalFunction): Promise<Environment> {
    const envs = this.environments.get(fn.name) as Environment[];
    const idle = envs.find((env) => env.state === 'idle');
    if (idle) {
      idle.state = 'busy';
      return Promise.resolve(idle);
    }
    return new Promise<Environment>((resolve, reject) => {
      (this.waiters.get(fn.name) as Waiter[]).push({ resolve, reject });
      this.scale(fn);
    });
  }

  /** Starts environments for waiting invocations that no starting environment will serve. */
  private scale(fn: LocalFunction): void {
    if (this.stopped) return;
    const envs = this.environments.get(fn.name) as Environment[];
    const waiting = (this.waiters.get(fn.name) as Waiter[]).length;
    let starting = envs.filter((env) => env.state === 'starting').length;
    while (waiting > starting && envs.length < fn.concurrencyLimit) {
      envs.push(this.create(fn));
      starting++;
    }
  }

  /** A free environment serves the longest-waiting invocation, or waits idle. */
  private handOver(name: string, env: Environment): void {
    const next = this.waiters.get(name)?.shift();
    env.lastUsed = Date.now();
    if (next) {
      env.state = 'busy';
      next.resolve(env);
    } else env.state = 'idle';
  }

  private release(name: string, env: Environment): void {
    if (this.environments.get(name)?.includes(env)) this.handOver(name, env);
  }

  private async initialisationSlot(): Promise<void> {
    if (this.initialising < this.initialisationSlots) {
      this.initialising++;
      return;
    }
    // The slot passes straight from the environment that frees it (the count stays).
    await new Promise<void>((resolve) => this.slotQueue.push(resolve));
  }

  private freeInitialisationSlot(): void {
    const next = this.slotQueue.shift();
    if (next) next();
    else this.initialising--;
  }

  private create(fn: LocalFunction): Environment {
    const env: Environment = { id: randomBytes(8).toString('hex'), state: 'starting', lastUsed: Date.now() };
    void this.initialisationSlot().then(() => {
      if (!env.gone && this.stillNeeded(fn, env)) return this.start(fn, env);
      // Warm environments served the burst while this one waited for its slot: it never starts.
      this.freeInitialisationSlot();
      this.remove(fn.name, env);
    });
    return env;
  }

  /** More invocations wait than environments are already initialising for them. */
  private stillNeeded(fn: LocalFunction, env: Environment): boolean {
    const envs = this.environments.get(fn.name) ?? [];
    const initialising = envs.filter((other) => other !== env && other.state === 'starting' && other.worker);
    return (this.waiters.get(fn.name)?.length ?? 0) > initialising.length;
  }

  private start(fn: LocalFunction, env: Environment): void {
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    const logStreamName = `${day}/[$LATEST]${env.id}`;
    const execArgv = environmentExecArgv(process.execArgv);
    const worker = new Worker(bootstrap, {
      // Inherited as before unless there was a loader to leave out.
      ...(execArgv.length < process.execArgv.length ? { execArgv } : {}),
      env: { ...fn.environment, AWS_LAMBDA_LOG_STREAM_NAME: logStreamName },
      workerData: {
        codePath: fn.codePath,
        handlerExport: fn.handlerExport,
        functionName: fn.name,
        functionArn: fn.arn,
        memorySize: fn.memorySize,
        logStreamName,
        edgeUrl: this.edge?.url,
        nice: environmentNice(this.answeringCallers.has(fn.name), process.env),
      },
      stdout: true,
      stderr: true,
      // The function's memory is its heap's ceiling, as on Lambda (beyond it the environment
      // dies). A small young generation keeps each idle environment's footprint small: V8's
      // default lets every thread's nursery grow to 48 MB, most of the local cloud's RSS.
      resourceLimits: { maxOldGenerationSizeMb: fn.memorySize, maxYoungGenerationSizeMb: youngGenerationMb },
    });
    env.worker = worker;
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
    // Settles the start once: ready (the environment serves the queue) or failed (it fails the
    // invocation that has waited longest, as the invocation that caused a cold start fails on
    // Lambda, and the rest wait for other environments).
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(initTimer);
      this.freeInitialisationSlot();
      if (!error) return this.handOver(fn.name, env);
      this.waiters.get(fn.name)?.shift()?.reject(error);
      void this.discard(fn.name, env);
    };
    worker.on('message', (message: { type: string; result?: unknown; error?: InvocationError }) => {
      if (message.type === 'ready') return settle();
      if (message.type === 'aws') return void this.serveAwsCall(worker, message as unknown as AwsCallMessage);
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
      settle(error);
      failInFlight(error.message);
      void this.discard(fn.name, env);
    });
    worker.on('exit', () => {
      settle(new Error('The execution environment stopped during its initialisation'));
      failInFlight('The execution environment stopped');
      this.remove(fn.name, env);
    });
    // Lambda gives initialisation at most 10 s (or the function's timeout, if longer), counted
    // from when the environment starts (not while it waits for a slot).
    const initTimer = setTimeout(
      () => settle(new Error('The execution environment did not initialise in time')),
      this.options.initTimeoutMs?.(fn) ?? Math.max(10, fn.timeoutSeconds) * 1000,
    );
    initTimer.unref();
  }

  private remove(name: string, env: Environment): void {
    const envs = this.environments.get(name);
    const index = envs?.indexOf(env) ?? -1;
    if (!envs || index < 0) return;
    envs.splice(index, 1);
    env.gone = true;
    // Its place may go to an invocation still waiting.
    const fn = this.functions.get(name);
    if (fn) this.scale(fn);
  }

  private async discard(name: string, env: Environment): Promise<void> {
    this.remove(name, env);
    await env.worker?.terminate();
  }

  private reapIdle(idleMs: number): void {
    const now = Date.now();
    for (const [name, envs] of this.environments) {
      for (const env of [...envs])
        if (env.state === 'idle' && now - env.lastUsed > idleMs) void this.discard(name, env);
    }
  }
}
