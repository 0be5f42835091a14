/**
 * Data planes behind the edge. "embedded" (default): dynalite's DynamoDB API on our in-memory store, our SQS, our Step
 * Functions facade and an S3 subset, all in this process and durable across restarts. "moto": one moto server serves DynamoDB, SQS and
 * Step Functions (LocalStack's interpreter), as an independent second implementation.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { observeDynaliteWrites } from './dynalite-writes.ts';
import { importLevelTables } from './dynamo-level-import.ts';
import { LocalStreams } from './dynamo-streams.ts';
import { DynamoTables } from './dynamo-tables.ts';
import type { Backend } from './edge.ts';
import { ObjectStore } from './object-store.ts';
import { QueueService } from './sqs/queue-service.ts';
import { WriteUnitMeter } from './write-units.ts';

export type BackendKind = 'embedded' | 'moto';

export interface DataPlane {
  readonly kind: BackendKind;
  readonly dynamodb: Backend;
  /** DynamoDB Streams (the API the stream event source mappings read). */
  readonly streams: Backend;
  /** Calls back on each new stream record, when the backend can tell (an idle poller wakes). */
  readonly onStreamRecord?: (listener: (streamArn: string) => void) => void;
  readonly sqs: Backend;
  readonly s3: Backend;
  /** Undefined when the local cloud serves Step Functions itself. */
  readonly states?: Backend;
  /** Whether UpdateTimeToLive is implemented. */
  readonly supportsTtl: boolean;
  /** Whether its state outlives the process. */
  readonly durable: boolean;
  /** DynamoDB write units as AWS would bill them, where the data plane can measure them. */
  readonly writeUnits?: WriteUnitMeter;
  readonly describe: string;
  stop(): Promise<void>;
}

/**
 * @param dataDir where the data plane keeps its state across restarts (DynamoDB in LevelDB, SQS
 *   and Step Functions in journals, S3 objects as files); in memory only without one
 */
export async function startEmbedded(
  edgeUrl: () => string,
  identity: { region: string; accountId: string },
  dataDir?: string,
): Promise<DataPlane> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const journal = dataDir && path.join(dataDir, 'dynamodb.jsonl');
  const tables = new DynamoTables({ ...identity, ...(journal ? { file: journal } : {}) });
  if (dataDir && journal) {
    const imported = await importLevelTables(path.join(dataDir, 'dynamodb'), tables);
    if (imported)
      console.log(
        `DynamoDB: moved ${imported.items} items of ${imported.tables} tables from the old LevelDB store to ${journal}`,
      );
  }
  const writeUnits = WriteUnitMeter.attach(tables.store);
  const streams = new LocalStreams({
    ...identity,
    ...(dataDir ? { file: path.join(dataDir, 'dynamodb-streams.jsonl') } : {}),
  });
  observeDynaliteWrites(tables.store, (table, before, after) => streams.capture(table, before, after));
  tables.flushWith(() => streams.flush());
  const queues = new QueueService(edgeUrl, identity, dataDir && path.join(dataDir, 'sqs.jsonl'));
  const objects = new ObjectStore(dataDir && path.join(dataDir, 's3'));
  return {
    kind: 'embedded',
    dynamodb: streams.tables(tables.handle),
    streams: streams.handle,
    onStreamRecord: (listener) => streams.onRecord(listener),
    sqs: queues.handle,
    s3: objects.handle,
    supportsTtl: false,
    durable: dataDir !== undefined,
    writeUnits,
    describe: `DynamoDB (dynalite's API on an in-memory store), SQS, Step Functions and S3 in process${dataDir ? `; state kept in ${dataDir}` : ''}`,
    // Each journal is closed even if another's last write fails (a full disk): the first failure
    // is told once all are stopped.
    stop: async () => {
      const failures = [() => queues.stop(), () => tables.stop(), () => streams.stop()].flatMap((stop) => {
        try {
          stop();
          return [];
        } catch (error) {
          return [error];
        }
      });
      if (failures.length > 0) throw failures[0];
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startMoto(logFile: string, accountId: string): Promise<DataPlane> {
  const port = await freePort();
  const launcher = fileURLToPath(new URL('../moto/moto_server.py', import.meta.url));
  const python = process.env.PYTHON ?? 'python3';
  const child: ChildProcess = spawn(python, [launcher, String(port)], {
    // moto files resources under the account this names (else under 123456789012): the local
    // account, which the synthesized template's ARNs and IAM policies name.
    env: { ...process.env, MOTO_PORT: String(port), MOTO_ACCOUNT_ID: accountId },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const capture = (c: Buffer) => {
    output = (output + c.toString()).slice(-20_000);
    appendFileSync(logFile, c);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`moto server exited (${child.exitCode}):\n${output.slice(-2000)}`);
    try {
      const response = await fetch(`${url}/moto-api/config`, {
        method: 'POST',
        body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
      });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`moto server did not start within 30 s:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    kind: 'moto',
    dynamodb: url,
    streams: url,
    sqs: url,
    s3: url,
    states: url,
    supportsTtl: true,
    durable: false,
    describe: `moto server ${url} (DynamoDB, SQS, S3, Step Functions); its log: ${logFile}`,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Whether moto can run here (`python3 -c "import moto"`). */
export async function motoAvailable(): Promise<boolean> {
  const python = process.env.PYTHON ?? 'python3';
  return new Promise((resolve) => {
    const child = spawn(python, ['-c', 'import moto.server, flask'], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
}
