/**
 * Event latency, as a subscribed client sees it: from a state change (the row's own timestamp:
 * submitted, started, completed) to the frame on a WebSocket subscribed to the queue. Jobs are
 * submitted a few at a time on an otherwise idle queue, as a console watching live work would
 * see them; the goal (seed 004) is p95 ≤ 500 ms.
 */
import WebSocket from 'ws';
import { publishedAtOf } from '../../functions/domain/factory-events.ts';
import { percentile } from './throughput.ts';

interface Endpoint {
  readonly url: string;
  readonly key: string;
}

export async function eventLatency(api: Endpoint, jobs: number, log: (line: string) => void) {
  const auth = { authorization: `Bearer ${api.key}`, 'content-type': 'application/json' };
  const ticket = (await (
    await fetch(`${api.url}/realtime/tickets`, { method: 'POST', headers: auth })
  ).json()) as {
    ticket: string;
    url: string;
  };
  const socket = new WebSocket(`${ticket.url}?ticket=${ticket.ticket}`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  // Every frame with its arrival; the run's own jobs are picked out at the end.
  const frames: { type: string; at: string; id: string; jobId?: string; key: string; receivedAt: number }[] =
    [];
  socket.on('message', (data) => {
    const frame = JSON.parse(String(data)) as {
      type?: string;
      at?: string;
      id?: string;
      jobId?: string;
      key?: string;
    };
    if (frame.type && frame.at)
      frames.push({
        type: frame.type,
        at: frame.at,
        id: frame.id ?? '',
        jobId: frame.jobId,
        key: frame.key ?? '',
        receivedAt: Date.now(),
      });
  });
  socket.send(JSON.stringify({ action: 'subscribe', filters: { queue: 'notifications' } }));
  await new Promise((r) => setTimeout(r, 500));
  const ids = new Set<string>();
  // A first job warms the functions on the path (a cold start is not the steady state measured).
  const warm = await fetch(`${api.url}/jobs`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({
      queue: 'notifications',
      type: 'send_email',
      payload: { to: 'warm@example.com', subject: 'warm-up', body: 'bench' },
    }),
  });
  const { jobId: warmId } = (await warm.json()) as { jobId: string };
  for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100)))
    if (frames.some((f) => f.jobId === warmId && f.type === 'job.completed')) break;
  for (let i = 0; i < jobs; i += 5) {
    const batch = Array.from({ length: Math.min(5, jobs - i) }, (_, j) => ({
      queue: 'notifications',
      type: 'send_email',
      payload: { to: 'latency@example.com', subject: `latency ${i + j}`, body: 'bench' },
    }));
    const answer = await fetch(`${api.url}/jobs/bulk`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ jobs: batch }),
    });
    if (answer.status !== 202)
      throw new Error(`POST /jobs/bulk answered ${answer.status}: ${await answer.text()}`);
    for (const job of ((await answer.json()) as { jobs: { jobId: string }[] }).jobs) ids.add(job.jobId);
    await new Promise((r) => setTimeout(r, 300));
  }
  const completedOf = () =>
    new Set(frames.filter((f) => f.type === 'job.completed' && ids.has(f.jobId ?? '')).map((f) => f.jobId))
      .size;
  const deadline = Date.now() + 120_000;
  while (completedOf() < jobs && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  socket.close();
  if (completedOf() < jobs) log(`bench: only ${completedOf()}/${jobs} completions arrived on the socket`);
  const latencies = new Map<string, number[]>();
  // Where the time goes: change → published (the id carries the publication time) → frame.
  const published: number[] = [];
  const pushed: number[] = [];
  const counted = new Set<string>();
  for (const f of frames) {
    if (!ids.has(f.jobId ?? '') || counted.has(f.key)) continue;
    counted.add(f.key);
    latencies.set(f.type, [...(latencies.get(f.type) ?? []), f.receivedAt - Date.parse(f.at)]);
    const publishedAt = publishedAtOf(f.id);
    published.push(publishedAt - Date.parse(f.at));
    pushed.push(f.receivedAt - publishedAt);
  }
  const all = [...latencies.values()].flat().sort((a, b) => a - b);
  const row = (name: string, list: number[]) => {
    const sorted = [...list].sort((a, b) => a - b);
    return `  | ${name.padEnd(14)} | ${String(sorted.length).padStart(6)} | ${String(Math.round(percentile(sorted, 0.5))).padStart(6)} | ${String(Math.round(percentile(sorted, 0.95))).padStart(6)} |`;
  };
  return [
    `event latency: ${jobs} jobs on notifications, 5 every 300 ms; state change → frame on a subscribed WebSocket (goal p95 ≤ 500 ms)`,
    '  | event          | frames |  p50 ms |  p95 ms |',
    '  |---|---|---|---|',
    ...[...latencies.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([type, list]) => row(type, list)),
    row('all', all),
    row('  published', published),
    row('  pushed', pushed),
  ];
}
