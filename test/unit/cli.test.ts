import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig, UsageError } from '../../cli/factory/config.ts';
import { type CliIo, parseJobs, run } from '../../cli/factory.ts';

interface Recorded {
  method: string;
  url: URL;
  authorization: string;
  body: unknown;
}

function harness(
  options: {
    env?: Record<string, string>;
    cwd?: string;
    tty?: boolean;
    answer?: (call: Recorded, n: number) => { status: number; body?: unknown } | Error;
  } = {},
) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const calls: Recorded[] = [];
  const answer = options.answer ?? (() => ({ status: 200, body: {} }));
  const io: CliIo = {
    stdout: { write: (t) => void stdout.push(t), isTTY: false },
    stderr: { write: (t) => void stderr.push(t), isTTY: options.tty ?? false },
    env: options.env ?? {},
    cwd: options.cwd ?? emptyDir(),
    sleep: async () => {},
    webSocket: false,
    fetch: (async (input: string | URL, init: RequestInit = {}) => {
      const call: Recorded = {
        method: init.method ?? 'GET',
        url: new URL(String(input)),
        authorization: (init.headers as Record<string, string>).authorization ?? '',
        body: init.body ? JSON.parse(String(init.body)) : undefined,
      };
      calls.push(call);
      const a = answer(call, calls.length - 1);
      if (a instanceof Error) throw a;
      return new Response(JSON.stringify(a.body ?? {}), {
        status: a.status,
        headers: { 'content-type': 'application/json' },
      });
    }) as typeof fetch,
  };
  return {
    io,
    calls,
    out: () => stdout.join(''),
    err: () => stderr.join(''),
    run: (...argv: string[]) => run(argv, io),
  };
}

const emptyDir = () => mkdtempSync(path.join(tmpdir(), 'factory-cli-'));

function dirWithCredentials(credentials: Record<string, string>) {
  const dir = emptyDir();
  mkdirSync(path.join(dir, '.local'));
  writeFileSync(path.join(dir, '.local', 'credentials.json'), JSON.stringify(credentials));
  return dir;
}

const withKey = { env: { FACTORY_KEY: 'rfk_env' } };

describe('usage errors exit 2 with a message', () => {
  it('an unknown flag', async () => {
    const h = harness(withKey);
    expect(await h.run('jobs', 'submit', '--queue', 'default', '--type', 'send_email', '--bogus')).toBe(2);
    expect(h.err()).toMatch(/unknown option '--bogus'/);
    expect(h.calls).toHaveLength(0);
  });

  it('an unknown command, with a suggestion', async () => {
    const h = harness(withKey);
    expect(await h.run('jobz')).toBe(2);
    expect(h.err()).toMatch(/unknown command 'jobz'/);
    expect(h.err()).toMatch(/Did you mean jobs\?/);
  });

  it('a missing argument', async () => {
    const h = harness(withKey);
    expect(await h.run('jobs', 'get')).toBe(2);
    expect(h.err()).toMatch(/missing required argument 'jobId'/);
  });

  it('a payload that is not JSON, and a number that is not one', async () => {
    const h = harness(withKey);
    expect(await h.run('jobs', 'submit', '-q', 'default', '-t', 'send_email', '--payload', '{nope')).toBe(2);
    expect(h.err()).toMatch(/--payload is not valid JSON/);
    expect(await h.run('jobs', 'list', '--limit', 'many')).toBe(2);
    expect(h.err()).toMatch(/--limit must be a whole number from 1 to 200/);
    expect(h.calls).toHaveLength(0);
  });

  it('jobs submit without --queue/--type or --file', async () => {
    const h = harness(withKey);
    expect(await h.run('jobs', 'submit', '--type', 'send_email')).toBe(2);
    expect(h.err()).toMatch(/needs --queue and --type/);
  });

  it('a --role that is not a role', async () => {
    const h = harness(withKey);
    expect(await h.run('--role', 'boss', 'queues')).toBe(2);
    expect(h.err()).toMatch(/Allowed choices are admin, developer, viewer/);
  });

  it('no key anywhere', async () => {
    const h = harness();
    expect(await h.run('queues')).toBe(2);
    expect(h.err()).toMatch(/No API key: pass --key <key>, set FACTORY_KEY, or run `npm start`/);
  });

  it('--help exits 0; no command at all prints the help and exits 2', async () => {
    const help = harness();
    expect(await help.run('jobs', '--help')).toBe(0);
    expect(help.out()).toMatch(/submit \[options\]/);
    const none = harness();
    expect(await none.run()).toBe(2);
    expect(none.err()).toMatch(/Usage: factory/);
  });
});

describe('configuration: flag > env > credentials file', () => {
  const credentials = { admin: 'rfk_file_admin', viewer: 'rfk_file_viewer', url: 'http://file.test:3000' };
  const sources = (env: Record<string, string> = {}) => ({
    env,
    cwd: '/repo/sub',
    exists: (f: string) => f === '/repo/.local/credentials.json',
    readFile: () => JSON.stringify(credentials),
  });

  it('reads the nearest .local/credentials.json: its admin key by default', () => {
    expect(resolveConfig({}, sources())).toMatchObject({
      url: 'http://file.test:3000',
      key: 'rfk_file_admin',
    });
  });

  it('env beats the file, flags beat env', () => {
    const env = { FACTORY_URL: 'http://env.test', FACTORY_KEY: 'rfk_env' };
    expect(resolveConfig({}, sources(env))).toMatchObject({ url: 'http://env.test', key: 'rfk_env' });
    expect(resolveConfig({ url: 'http://flag.test/', key: 'rfk_flag' }, sources(env))).toMatchObject({
      url: 'http://flag.test',
      key: 'rfk_flag',
      urlFrom: '--url',
      keyFrom: '--key',
    });
  });

  it('--role picks that key from the file (over FACTORY_KEY, not over --key)', () => {
    const env = { FACTORY_KEY: 'rfk_env' };
    expect(resolveConfig({ role: 'viewer' }, sources(env)).key).toBe('rfk_file_viewer');
    expect(resolveConfig({ role: 'viewer', key: 'rfk_flag' }, sources(env)).key).toBe('rfk_flag');
    expect(() => resolveConfig({ role: 'developer' }, sources())).toThrow(/has no developer key/);
  });

  it('defaults the URL to http://localhost:3000 and refuses one that is not a URL', () => {
    const bare = { env: { FACTORY_KEY: 'k' }, cwd: '/nowhere', exists: () => false };
    expect(resolveConfig({}, bare).url).toBe('http://localhost:3000');
    expect(() => resolveConfig({ url: 'localhost 3000' }, bare)).toThrow(UsageError);
  });

  it('a credentials file named explicitly must exist', () => {
    const bare = { env: {}, cwd: '/nowhere', exists: () => false };
    expect(() => resolveConfig({ credentials: 'creds.json' }, bare)).toThrow(
      /No credentials file at \/nowhere\/creds.json/,
    );
  });

  it('end to end through run(): the request goes where the flags/env/file say', async () => {
    const cwd = dirWithCredentials({ admin: 'rfk_file_admin', developer: 'rfk_file_dev' });
    const fromFile = harness({ cwd, answer: () => ({ status: 200, body: [] }) });
    expect(await fromFile.run('queues')).toBe(0);
    expect(fromFile.calls[0]?.url.href).toBe('http://localhost:3000/queues');
    expect(fromFile.calls[0]?.authorization).toBe('Bearer rfk_file_admin');

    const fromEnv = harness({
      cwd,
      env: { FACTORY_URL: 'http://env.test', FACTORY_KEY: 'rfk_env' },
      answer: () => ({ status: 200, body: [] }),
    });
    await fromEnv.run('queues');
    expect(fromEnv.calls[0]?.url.origin).toBe('http://env.test');
    expect(fromEnv.calls[0]?.authorization).toBe('Bearer rfk_env');

    const fromFlags = harness({
      cwd,
      env: { FACTORY_KEY: 'rfk_env' },
      answer: () => ({ status: 200, body: [] }),
    });
    await fromFlags.run('queues', '--url', 'http://flag.test', '--role', 'developer');
    expect(fromFlags.calls[0]?.url.origin).toBe('http://flag.test');
    expect(fromFlags.calls[0]?.authorization).toBe('Bearer rfk_file_dev');
  });
});

describe('commands', () => {
  it('jobs submit --wait prints the finished job and exits 0', async () => {
    const h = harness({
      ...withKey,
      answer: (call, n) =>
        call.method === 'POST'
          ? { status: 202, body: { jobId: 'job_1', status: 'QUEUED', duplicate: false } }
          : {
              status: 200,
              body: { jobId: 'job_1', status: n < 2 ? 'RUNNING' : 'COMPLETED', attempts: 1, maxAttempts: 5 },
            },
    });
    const code = await h.run(
      'jobs',
      'submit',
      '--queue',
      'default',
      '--type',
      'send_email',
      '--payload',
      '{"to":"a@example.com","subject":"s","body":"b"}',
      '--wait',
      '--json',
    );
    expect(code).toBe(0);
    expect(h.calls[0]?.body).toEqual({
      queue: 'default',
      type: 'send_email',
      payload: { to: 'a@example.com', subject: 's', body: 'b' },
    });
    expect(JSON.parse(h.out())).toMatchObject({ jobId: 'job_1', status: 'COMPLETED' });
  });

  it('a waited job that ends DEAD exits 1', async () => {
    const h = harness({
      ...withKey,
      answer: (call) =>
        call.method === 'POST'
          ? { status: 202, body: { jobId: 'job_1', status: 'QUEUED', duplicate: false } }
          : { status: 200, body: { jobId: 'job_1', status: 'DEAD', error: 'boom' } },
    });
    expect(await h.run('jobs', 'submit', '-q', 'default', '-t', 'fail_sometimes', '--wait')).toBe(1);
    expect(h.err()).toMatch(/Job job_1 ended DEAD/);
  });

  it('an API error exits 1 with its code and message', async () => {
    const h = harness({
      ...withKey,
      answer: () => ({
        status: 404,
        body: { error: { code: 'JOB_NOT_FOUND', message: 'No job with id "x".' } },
      }),
    });
    expect(await h.run('jobs', 'get', 'x')).toBe(1);
    expect(h.err()).toMatch(/GET \/jobs\/x → 404 JOB_NOT_FOUND: No job with id "x"\./);
  });

  it('an unreachable factory exits 3 and says what to do', async () => {
    const refused = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    const h = harness({ ...withKey, answer: () => refused });
    expect(await h.run('queues')).toBe(3);
    expect(h.err()).toMatch(
      /No factory at http:\/\/localhost:3000 — is `npm start` running\? \(ECONNREFUSED/,
    );
  });

  it('jobs submit --file chunks the NDJSON and draws a progress bar on a terminal', async () => {
    const dir = emptyDir();
    const file = path.join(dir, 'jobs.ndjson');
    const lines = Array.from({ length: 600 }, (_, i) =>
      JSON.stringify({ queue: 'default', type: 'delayed_message', payload: { i } }),
    );
    writeFileSync(file, `# 600 jobs\n${lines.join('\n')}\n\n`);
    const h = harness({
      ...withKey,
      tty: true,
      answer: (call) => {
        const jobs = (call.body as { jobs: unknown[] }).jobs;
        return {
          status: 202,
          body: {
            accepted: jobs.length,
            duplicates: 0,
            jobs: jobs.map((_, i) => ({ jobId: `j${i}`, status: 'QUEUED', duplicate: false })),
          },
        };
      },
    });
    expect(await h.run('jobs', 'submit', '--file', file, '--json')).toBe(0);
    expect(h.calls.map((c) => (c.body as { jobs: unknown[] }).jobs.length)).toEqual([500, 100]);
    expect(JSON.parse(h.out())).toMatchObject({ accepted: 600, duplicates: 0 });
    expect(h.err()).toContain('500/600');
    expect(h.err()).toContain('600/600 100%');
  });

  it('workers scale needs exactly one of --concurrency and --auto', async () => {
    const h = harness(withKey);
    expect(await h.run('workers', 'scale', '--queue', 'reports')).toBe(2);
    expect(await h.run('workers', 'scale', '--queue', 'reports', '--concurrency', '8', '--auto')).toBe(2);
    expect(h.calls).toHaveLength(0);
    const ok = harness({
      ...withKey,
      answer: () => ({ status: 200, body: { queue: 'reports', from: 6, to: 8, mode: 'manual' } }),
    });
    expect(await ok.run('workers', 'scale', '--queue', 'reports', '--concurrency', '8')).toBe(0);
    expect(ok.calls[0]?.body).toEqual({ queue: 'reports', concurrency: 8 });
    expect(ok.out()).toContain('reports: 6 → 8 (manual)');
  });

  it('dlq retry sends ids or a filter, and refuses neither', async () => {
    const answer = () => ({ status: 202, body: { matched: 1, retried: 1, jobIds: ['a'], skipped: [] } });
    const h = harness({ ...withKey, answer });
    expect(await h.run('dlq', 'retry')).toBe(2);
    expect(await h.run('dlq', 'retry', 'job_a', 'job_b')).toBe(0);
    expect(await h.run('dlq', 'retry', '--queue', 'default', '--error-contains', 'timeout')).toBe(0);
    expect(h.calls.map((c) => c.body)).toEqual([
      { jobIds: ['job_a', 'job_b'] },
      { queue: 'default', errorContains: 'timeout' },
    ]);
  });

  it('keys create takes the new key’s role as an argument', async () => {
    const h = harness({
      ...withKey,
      answer: () => ({ status: 201, body: { keyId: 'k1', key: 'rfk_new', role: 'viewer' } }),
    });
    expect(await h.run('keys', 'create', 'viewer', '--name', 'wallboard')).toBe(0);
    expect(h.calls[0]).toMatchObject({ method: 'POST', body: { name: 'wallboard', role: 'viewer' } });
    expect(h.calls[0]?.url.pathname).toBe('/api-keys');
    expect(h.out()).toContain('rfk_new');
    expect(await h.run('keys', 'create', 'boss', '--name', 'x')).toBe(2);
  });
});

describe('parseJobs', () => {
  it('reads NDJSON (skipping blanks and comments) and JSON arrays, and names a bad line', () => {
    expect(parseJobs('{"queue":"a","type":"t"}\n\n# c\n{"queue":"b","type":"t"}\n', 'f')).toHaveLength(2);
    expect(parseJobs('[{"queue":"a","type":"t"}]', 'f')).toHaveLength(1);
    expect(() => parseJobs('{"queue":"a"}\n{oops', 'jobs.ndjson')).toThrow(/jobs.ndjson:2 is not valid JSON/);
  });
});

describe('factory bench', () => {
  /** A factory whose queue finishes 250 jobs per stats read after the submission. */
  function benchFactory(jobs: number) {
    let submitted = 0;
    let statsReads = 0;
    const ids: string[] = [];
    return harness({
      ...withKey,
      tty: true,
      answer: (call) => {
        if (call.method === 'POST' && call.url.pathname === '/jobs/bulk') {
          const batch = (call.body as { jobs: unknown[] }).jobs;
          const accepted = batch.map(() => {
            const jobId = `job_${submitted++}`;
            ids.push(jobId);
            return { jobId, status: 'QUEUED' };
          });
          return { status: 202, body: { accepted: accepted.length, duplicates: 0, jobs: accepted } };
        }
        if (call.url.pathname === '/jobs/stats') {
          const finished = submitted === 0 ? 0 : Math.min(jobs, statsReads++ * 250);
          return {
            status: 200,
            body: {
              waiting: 0,
              delayed: 0,
              blocked: 0,
              active: 0,
              completed: 40 + finished,
              failed: 0,
              dead: 2,
              cancelled: 0,
            },
          };
        }
        if (call.url.pathname.startsWith('/jobs/job_'))
          return {
            status: 200,
            body: {
              jobId: call.url.pathname.split('/').pop(),
              status: 'COMPLETED',
              createdAt: '2026-12-04T10:00:00.000Z',
              startedAt: '2026-12-04T10:00:00.120Z',
            },
          };
        return { status: 404, body: { error: { code: 'NOT_FOUND', message: call.url.pathname } } };
      },
    });
  }

  it('submits in chunks, follows the drain on the queue counts, and reports rates and start latency', async () => {
    const h = benchFactory(1000);
    expect(await h.run('--json', 'bench', '--jobs', '1000', '--chunk-size', '400', '--sample', '5')).toBe(0);
    const bulk = h.calls.filter((c) => c.url.pathname === '/jobs/bulk');
    expect(bulk.map((c) => (c.body as { jobs: unknown[] }).jobs.length)).toEqual([400, 400, 200]);
    const result = JSON.parse(h.out());
    expect(result).toMatchObject({
      queue: 'default',
      type: 'delayed_message',
      jobs: 1000,
      finished: { completed: 1000, failedForGood: 0 },
      startLatencyMs: { p50: 120, p95: 120, sampled: 5 },
      timedOut: false,
    });
    expect(result.drainPerSecond).toBeGreaterThan(0);
    // The drain's own bar, with its rate.
    expect(h.err()).toMatch(/Draining \[█+\] 1000\/1000 100% {2}\d+ jobs\/s/);
  });

  it('exits 1 when the drain does not finish in time', async () => {
    const h = harness({
      ...withKey,
      answer: (call) =>
        call.url.pathname === '/jobs/bulk'
          ? {
              status: 202,
              body: { accepted: 1, duplicates: 0, jobs: [{ jobId: 'job_0', status: 'QUEUED' }] },
            }
          : call.url.pathname === '/jobs/stats'
            ? { status: 200, body: { completed: 0, dead: 0, cancelled: 0 } }
            : { status: 200, body: { jobId: 'job_0', status: 'QUEUED', createdAt: '2026-12-04T10:00:00Z' } },
    });
    expect(await h.run('bench', '--jobs', '1', '--timeout', '1', '--sample', '1')).toBe(1);
    expect(h.err()).toMatch(/did not finish within 1 s/);
  });

  it('refuses a bad --jobs with exit 2', async () => {
    const h = harness(withKey);
    expect(await h.run('bench', '--jobs', '0')).toBe(2);
    expect(h.calls).toHaveLength(0);
  });
});
