/**
 * Dependency graphs of jobs (GET /jobs/{id}/graph, GET /job-batches/{id}/graph): the nodes,
 * their dependency edges and states, and the critical path — the chain of dependencies whose
 * run times add up to the longest, i.e. what bounds how soon the whole graph can finish.
 */
import type { JobRecord } from './jobs.ts';

export type GraphJob = Pick<
  JobRecord,
  | 'jobId'
  | 'type'
  | 'queue'
  | 'status'
  | 'dependsOn'
  | 'dependents'
  | 'lateDependents'
  | 'createdAt'
  | 'startedAt'
  | 'completedAt'
> & { readonly deadAt?: string; readonly cancelledAt?: string };

export interface DependencyGraph {
  readonly nodes: readonly {
    readonly jobId: string;
    readonly type: string;
    readonly queue: string;
    readonly status: string;
    /** Run time so far (a running job counts until now; one not started counts 0). */
    readonly runMs: number;
  }[];
  readonly edges: readonly { readonly from: string; readonly to: string }[];
  readonly criticalPath: { readonly jobIds: readonly string[]; readonly runMs: number };
  /** More jobs were connected than the graph holds. */
  readonly truncated: boolean;
}

/**
 * The jobs connected to `roots` through dependencies either way, at most `limit` of them,
 * read a level at a time.
 */
export async function connectedJobs(
  roots: readonly string[],
  getMany: (jobIds: readonly string[]) => Promise<ReadonlyMap<string, GraphJob>>,
  limit = 500,
): Promise<{ jobs: GraphJob[]; truncated: boolean }> {
  const found = new Map<string, GraphJob>();
  let frontier = [...new Set(roots)];
  let truncated = false;
  while (frontier.length > 0) {
    const room = limit - found.size;
    if (frontier.length > room) truncated = true;
    const read = await getMany(frontier.slice(0, Math.max(0, room)));
    for (const job of read.values()) found.set(job.jobId, job);
    if (found.size >= limit) {
      truncated ||= [...read.values()].some((j) => neighboursOf(j).some((id) => !found.has(id)));
      break;
    }
    frontier = [...new Set([...read.values()].flatMap(neighboursOf))].filter((id) => !found.has(id));
  }
  return { jobs: [...found.values()], truncated };
}

const neighboursOf = (job: GraphJob): string[] => [
  ...(job.dependsOn ?? []),
  ...(job.dependents ?? []),
  ...(job.lateDependents ?? []),
];

const finishedAt = (job: GraphJob) => job.completedAt ?? job.deadAt ?? job.cancelledAt;

export function dependencyGraph(jobs: readonly GraphJob[], now: Date, truncated = false): DependencyGraph {
  const byId = new Map(jobs.map((j) => [j.jobId, j]));
  const runMs = (job: GraphJob) => {
    if (!job.startedAt) return 0;
    const end = finishedAt(job);
    return Math.max(0, (end ? Date.parse(end) : now.getTime()) - Date.parse(job.startedAt));
  };
  const edges = jobs.flatMap((job) =>
    (job.dependsOn ?? []).filter((id) => byId.has(id)).map((from) => ({ from, to: job.jobId })),
  );
  // Longest path by run time, in topological order (Kahn). Submission refuses cycles; a node
  // left over (a cycle in damaged data) simply stays off the path.
  const incoming = new Map(jobs.map((j) => [j.jobId, 0]));
  const outgoing = new Map<string, string[]>();
  for (const { from, to } of edges) {
    incoming.set(to, (incoming.get(to) ?? 0) + 1);
    outgoing.set(from, [...(outgoing.get(from) ?? []), to]);
  }
  const best = new Map<string, { total: number; previous?: string }>();
  const ready = jobs.filter((j) => incoming.get(j.jobId) === 0).map((j) => j.jobId);
  for (const id of ready) best.set(id, { total: runMs(byId.get(id) as GraphJob) });
  while (ready.length > 0) {
    const id = ready.shift() as string;
    const here = best.get(id) as { total: number };
    for (const next of outgoing.get(id) ?? []) {
      const total = here.total + runMs(byId.get(next) as GraphJob);
      if (total > (best.get(next)?.total ?? -1)) best.set(next, { total, previous: id });
      incoming.set(next, (incoming.get(next) ?? 0) - 1);
      if (incoming.get(next) === 0) ready.push(next);
    }
  }
  // Ties go to the later job: the path runs on to the jobs that wait on it.
  let end: string | undefined;
  for (const [id, { total }] of best) if (end === undefined || total >= (best.get(end)?.total ?? 0)) end = id;
  const path: string[] = [];
  for (let id = end; id !== undefined; id = best.get(id)?.previous) path.unshift(id);
  return {
    nodes: jobs.map((j) => ({
      jobId: j.jobId,
      type: j.type,
      queue: j.queue,
      status: j.status,
      runMs: runMs(j),
    })),
    edges,
    criticalPath: { jobIds: path, runMs: end === undefined ? 0 : (best.get(end)?.total ?? 0) },
    truncated,
  };
}
