import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  BillingMode,
  type ITable,
  ProjectionType,
  StreamViewType,
  Table,
  type TableProps,
} from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { type JobIndex, jobIndexes, jobsTableKey } from '../../functions/adapters/jobs-table.ts';

const attributeType = { S: AttributeType.STRING, N: AttributeType.NUMBER } as const;

/** How long rows are kept (days); every table has a TTL, written with each row. */
export interface Retention {
  /** Finished jobs (COMPLETED, CANCELLED). @default 7 */
  readonly jobDays?: number;
  /** DEAD jobs (the dead-letter queue) and job batches. @default 30 */
  readonly deadJobDays?: number;
  /** Orders and their step jobs, from the order's creation (renewed on resume). @default 90 */
  readonly orderDays?: number;
  /** Scaling events and finished maintenance windows. @default 90 */
  readonly operationsDays?: number;
}

/** A factory table by its name in {@link FactoryTables}. */
export type FactoryTableName =
  | 'orders'
  | 'jobs'
  | 'jobLogs'
  | 'workers'
  | 'outbox'
  | 'jobBatches'
  | 'operations'
  | 'metrics'
  | 'events'
  | 'realtime';

/**
 * The tables one function uses: it reads `read`, reads and writes `write`. The function is given
 * exactly these tables' names in its environment and the matching grants, so that a table its
 * code needs but its declaration lacks fails the function's first call, not a deployed stack.
 */
export interface TableAccess {
  readonly read?: readonly FactoryTableName[];
  readonly write?: readonly FactoryTableName[];
}

/** The variable a function reads a table's name from (see functions/shared/env.ts callers). */
const tableEnvironmentVariables: Readonly<Record<FactoryTableName, string>> = {
  orders: 'ORDERS_TABLE',
  jobs: 'JOBS_TABLE',
  jobLogs: 'JOB_LOGS_TABLE',
  workers: 'WORKERS_TABLE',
  outbox: 'OUTBOX_TABLE',
  jobBatches: 'JOB_BATCHES_TABLE',
  operations: 'OPERATIONS_TABLE',
  metrics: 'METRICS_TABLE',
  events: 'EVENTS_TABLE',
  realtime: 'REALTIME_TABLE',
};

export interface FactoryTablesProps {
  /** @default RemovalPolicy.RETAIN — orders are customer data */
  readonly removalPolicy?: RemovalPolicy;
  readonly retention?: Retention;
}

/**
 * The factory's state. On-demand billing (traffic is bursty), point-in-time recovery on every
 * table, TTL where rows are disposable (logs, worker heartbeats, finished jobs).
 */
export class FactoryTables extends Construct {
  public readonly orders: ITable;
  public readonly jobs: ITable;
  public readonly jobLogs: ITable;
  public readonly workers: ITable;
  public readonly outbox: ITable;
  public readonly jobBatches: ITable;
  public readonly operations: ITable;
  public readonly metrics: ITable;
  public readonly events: ITable;
  public readonly realtime: ITable;
  public readonly retention: Required<Retention>;

  constructor(scope: Construct, id: string, props: FactoryTablesProps = {}) {
    super(scope, id);
    const common: Partial<TableProps> = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    };
    const orders = new Table(this, 'Orders', {
      ...common,
      partitionKey: { name: 'orderId', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
      // The orders' events (order.created, .completed, …) are made of their changes.
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
    });
    // Listings: by state, and a customer's orders, newest first.
    for (const [indexName, partition] of [
      ['byStatus', 'status'],
      ['byCustomer', 'customerId'],
    ] as const) {
      orders.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: partition, type: AttributeType.STRING },
        sortKey: { name: 'createdAt', type: AttributeType.STRING },
      });
    }
    // Sparse: only orders whose workflow start is unconfirmed carry the key.
    orders.addGlobalSecondaryIndex({
      indexName: 'awaitingStart',
      partitionKey: { name: 'awaitingStartShard', type: AttributeType.STRING },
      sortKey: { name: 'awaitingStart', type: AttributeType.STRING },
    });

    const jobs = new Table(this, 'Jobs', {
      ...common,
      partitionKey: { name: jobsTableKey, type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
      // Each row's change, before and after: what the analytics and the events are made of.
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
    });
    // The jobs table's indexes are declared once, beside the key builders that fill them.
    for (const [indexName, index] of Object.entries(jobIndexes) as [string, JobIndex][]) {
      jobs.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: index.partitionKey.name, type: attributeType[index.partitionKey.type] },
        sortKey: { name: index.sortKey.name, type: attributeType[index.sortKey.type] },
        ...(index.projection === 'KEYS_ONLY'
          ? { projectionType: ProjectionType.KEYS_ONLY }
          : index.projection
            ? { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.projection] }
            : {}),
      });
    }

    const jobLogs = new Table(this, 'JobLogs', {
      ...common,
      partitionKey: { name: 'jobId', type: AttributeType.STRING },
      sortKey: { name: 'logId', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });

    const workers = new Table(this, 'Workers', {
      ...common,
      partitionKey: { name: 'workerId', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
      // A worker's first row and its loss are events (worker.started, worker.lost).
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
    });
    workers.addGlobalSecondaryIndex({
      indexName: 'byLine',
      partitionKey: { name: 'line', type: AttributeType.STRING },
      sortKey: { name: 'lastHeartbeatAt', type: AttributeType.STRING },
    });

    // send_email's outbox: one partition per day.
    const outbox = new Table(this, 'Outbox', {
      ...common,
      partitionKey: { name: 'day', type: AttributeType.STRING },
      sortKey: { name: 'mailId', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });
    const jobBatches = new Table(this, 'JobBatches', {
      ...common,
      partitionKey: { name: 'batchId', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });

    // Operator data: scaling events, maintenance windows, cron schedules, rate limits (pk/sk kinds).
    // Schedules, rate limits and scaling modes have no TTL: operators delete them.
    const operations = new Table(this, 'Operations', {
      ...common,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
      // Pauses and scaling decisions are events too (queue.paused, scaling.changed).
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
    });
    // Pre-aggregated analytics buckets (minute/hour), expiring by TTL.
    const metrics = new Table(this, 'Metrics', {
      ...common,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });

    // Recent events for GET /events (the bus's archive keeps the audit trail): one item per
    // publication (a stream batch's events), in a partition per minute of publication.
    const events = new Table(this, 'Events', {
      ...common,
      partitionKey: { name: 'minute', type: AttributeType.STRING },
      sortKey: { name: 'publication', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });

    // Real-time push: WebSocket tickets and connections with their filters (pk/sk kinds).
    const realtime = new Table(this, 'Realtime', {
      ...common,
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });

    this.retention = {
      jobDays: props.retention?.jobDays ?? 7,
      deadJobDays: props.retention?.deadJobDays ?? 30,
      orderDays: props.retention?.orderDays ?? 90,
      operationsDays: props.retention?.operationsDays ?? 90,
    };
    this.orders = orders;
    this.operations = operations;
    this.metrics = metrics;
    this.events = events;
    this.realtime = realtime;
    this.outbox = outbox;
    this.jobBatches = jobBatches;
    this.jobs = jobs;
    this.jobLogs = jobLogs;
    this.workers = workers;
  }

  private table(name: FactoryTableName): ITable {
    return this[name];
  }

  /**
   * The environment of a function with this access: the names of its tables, and how long rows
   * stay (every writer stamps its rows' TTL).
   */
  environmentFor(access: TableAccess): Record<string, string> {
    const names = [...new Set([...(access.read ?? []), ...(access.write ?? [])])].sort();
    return {
      JOB_RETENTION_DAYS: String(this.retention.jobDays),
      DEAD_JOB_RETENTION_DAYS: String(this.retention.deadJobDays),
      ORDER_RETENTION_DAYS: String(this.retention.orderDays),
      OPERATIONS_RETENTION_DAYS: String(this.retention.operationsDays),
      ...Object.fromEntries(
        names.map((name) => [tableEnvironmentVariables[name], this.table(name).tableName]),
      ),
    };
  }

  /** Read on `read`, read and write on `write` (CDK's grants: the table and its indexes). */
  grant(grantee: IGrantable, access: TableAccess): void {
    const writes = new Set(access.write ?? []);
    for (const name of new Set(access.read ?? []))
      if (!writes.has(name)) this.table(name).grantReadData(grantee);
    for (const name of writes) this.table(name).grantReadWriteData(grantee);
  }
}
