/**
 * `npm start` as a child process: started on given (or free) ports with its own data directory,
 * waited for until it serves, and killed the hard way (SIGKILL) when a test or the chaos suite
 * wants a crash of the whole local factory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface FactoryProcess {
  readonly apiUrl: string;
  readonly edgeUrl: string;
  readonly ports: { api: number; edge: number };
  /** The process's id: the bench reads its memory from /proc. */
  readonly pid: number;
  /** The keys npm start issued and wrote to `<dir>/credentials.json`. */
  readonly keys: Partial<Record<'admin' | 'developer' | 'viewer', string>>;
  /** SIGKILL, as a crash of the machine's process would. */
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startFactoryProcess(options: {
  readonly dir: string;
  readonly fresh?: boolean;
  readonly ports?: { api: number; edge: number };
  readonly env?: Record<string, string>;
  readonly readyTimeoutMs?: number;
}): Promise<FactoryProcess> {
  const ports = options.ports ?? { api: await freePort(), edge: await freePort() };
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'localstack/start.ts', '--dir', options.dir, ...(options.fresh ? ['--fresh'] : [])],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        PORT: String(ports.api),
        EDGE_PORT: String(ports.edge),
        LOCAL_CLOUD_BACKEND: 'embedded',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // The last lines only: a long run (the bench's) would otherwise keep all it printed.
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start did not get ready:\n${output.slice(-4000)}`)),
      options.readyTimeoutMs ?? 180_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (output.includes('Press Ctrl+C')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', keep);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}):\n${output.slice(-4000)}`));
    });
  });
  return {
    apiUrl: `http://localhost:${ports.api}`,
    edgeUrl: `http://127.0.0.1:${ports.edge}`,
    ports,
    pid: child.pid ?? 0,
    keys: JSON.parse(readFileSync(path.resolve(repoRoot, options.dir, 'credentials.json'), 'utf8')),
    kill: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}
