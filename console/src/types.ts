/** The shapes of the factory API the console reads (README's routes table, docs/events.md). */
export type Role = 'viewer' | 'developer' | 'admin';

export interface FactoryEvent {
  readonly id: string;
  readonly type: string;
  readonly at: string;
  readonly queue?: string;
  readonly jobId?: string;
  readonly orderId?: string;
  readonly data: Record<string, unknown>;
}

export interface Job {
  readonly jobId: string;
  readonly kind: 'job' | 'step';
  readonly queue: string;
  readonly type: string;
  readonly payload?: unknown;
  readonly priority?: number;
  readonly status: string;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly createdAt: string;
  readonly updatedAt?: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
  readonly deadAt?: string;
  readonly cancelledAt?: string;
  readonly runAt?: string;
  readonly workerId?: string;
  readonly orderId?: string;
  readonly batchId?: string;
  readonly dependsOn?: readonly string[];
  readonly result?: Record<string, unknown> & { artifactKey?: string };
  readonly error?: string;
  readonly progress?: { percent: number; message?: string; at?: string };
}

export interface JobLog {
  readonly timestamp: string;
  readonly level: string;
  readonly message: string;
  readonly attempt?: number;
  readonly workerId?: string;
}

export interface QueueInfo {
  readonly name: string;
  readonly kind: 'job-queue' | 'production-line';
  readonly description?: string;
  readonly jobTypes: readonly string[];
  readonly concurrency: number;
  readonly paused: boolean;
  readonly rateLimit: { limit: number; windowMs: number } | null;
}

export interface QueueView {
  readonly queue: string;
  readonly kind: string;
  readonly paused: boolean;
  readonly waiting: number;
  readonly delayed: number;
  readonly blocked: number;
  readonly running: number;
  readonly dead: number;
  readonly oldestWaitingAgeMs: number | null;
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export interface ThroughputBucket {
  readonly bucket: string;
  readonly submitted: number;
  readonly completed: number;
  readonly failed: number;
  readonly dead: number;
  readonly successRate: number | null;
  readonly runTimeMs: Percentiles;
  readonly waitTimeMs: Percentiles;
}

export interface Worker {
  readonly workerId: string;
  readonly queue: string;
  readonly status: 'idle' | 'busy' | 'lost';
  readonly currentJobId: string | null;
  readonly startedAt: string;
  readonly lastHeartbeatAt: string;
  readonly jobsProcessed: number;
  readonly failures: number;
  readonly memoryUsedMb: number | null;
}

export interface QueueWorkers {
  readonly queue: string;
  readonly summary: {
    readonly activeWorkers: number;
    readonly busy: number;
    readonly idle: number;
    readonly lost: number;
    readonly configuredConcurrency: number;
    readonly paused: boolean;
    readonly scaling: { mode: string; bounds?: { min: number; max: number } };
  };
  readonly workers: readonly Worker[];
}

export interface OrderStep {
  readonly name: string;
  readonly jobId: string;
  readonly status: string;
  readonly attempts: number;
  readonly startedAt?: string;
  readonly completedAt?: string;
  readonly error?: string;
}

export interface OrderStatus {
  readonly orderId: string;
  readonly robotType: string;
  readonly status: string;
  readonly progress: number;
  readonly steps: readonly OrderStep[];
  readonly createdAt: string;
  readonly completedAt?: string;
}

export interface RobotType {
  readonly name: string;
  readonly steps: readonly { name: string; jobType: string; dependsOn: readonly string[] }[];
}
