/** Dependency graphs of jobs: the connected jobs, the edges, the critical path. */
import { describe, expect, it } from 'vitest';
import { connectedJobs, dependencyGraph, type GraphJob } from '../../functions/domain/dependency-graph.ts';

const at = (s: number) => new Date(Date.UTC(2026, 11, 2, 9, 0, s)).toISOString();
const job = (
  jobId: string,
  run: [number, number] | null,
  dependsOn: string[] = [],
  dependents: string[] = [],
): GraphJob =>
  ({
    jobId,
    type: 'delayed_message',
    queue: 'default',
    status: run ? 'COMPLETED' : 'PENDING',
    createdAt: at(0),
    dependsOn,
    dependents: new Set(dependents),
    ...(run ? { startedAt: at(run[0]), completedAt: at(run[1]) } : {}),
  }) as GraphJob;

// a → b → d, a → c → d; c runs longer than b, so a-c-d is critical.
const jobs = [
  job('a', [0, 2], [], ['b', 'c']),
  job('b', [2, 3], ['a'], ['d']),
  job('c', [2, 7], ['a'], ['d']),
  job('d', [7, 8], ['b', 'c']),
];

describe('dependency graphs', () => {
  it('finds the critical path: the chain whose run times add up the longest', () => {
    const graph = dependencyGraph(jobs, new Date(at(10)));
    expect(graph.edges).toEqual([
      { from: 'a', to: 'b' },
      { from: 'a', to: 'c' },
      { from: 'b', to: 'd' },
      { from: 'c', to: 'd' },
    ]);
    expect(graph.criticalPath).toEqual({ jobIds: ['a', 'c', 'd'], runMs: 8000 });
    expect(graph.nodes.find((n) => n.jobId === 'c')).toMatchObject({ status: 'COMPLETED', runMs: 5000 });
  });

  it('counts a running job until now and a waiting one as nothing', () => {
    const running = { ...job('r', null, ['a']), status: 'RUNNING', startedAt: at(2) } as GraphJob;
    const graph = dependencyGraph([jobs[0] as GraphJob, running, job('w', null, ['r'])], new Date(at(12)));
    expect(graph.criticalPath).toEqual({ jobIds: ['a', 'r', 'w'], runMs: 12_000 });
  });

  it('collects the jobs connected either way, level by level, up to a limit', async () => {
    const store = new Map(jobs.map((j) => [j.jobId, j]));
    const reads: string[][] = [];
    const getMany = async (ids: readonly string[]) => {
      reads.push([...ids]);
      return new Map(ids.flatMap((id) => (store.has(id) ? [[id, store.get(id) as GraphJob] as const] : [])));
    };
    const all = await connectedJobs(['b'], getMany);
    expect(all.jobs.map((j) => j.jobId).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(all.truncated).toBe(false);
    expect(reads).toEqual([['b'], ['a', 'd'], ['c']]);
    const some = await connectedJobs(['b'], getMany, 2);
    expect(some.jobs).toHaveLength(2);
    expect(some.truncated).toBe(true);
  });

  it('reaches a dependent submitted after its dependency had finished (a late dependent)', async () => {
    // `x` finished before `y` named it: x's dependents never got y, its lateDependents did.
    const x = { ...job('x', [0, 1]), lateDependents: new Set(['y']) } as GraphJob;
    const y = job('y', [1, 2], ['x']);
    const store = new Map([
      ['x', x],
      ['y', y],
    ]);
    const getMany = async (ids: readonly string[]) =>
      new Map(ids.flatMap((id) => (store.has(id) ? [[id, store.get(id) as GraphJob] as const] : [])));
    const found = await connectedJobs(['x'], getMany);
    expect(found.jobs.map((j) => j.jobId).sort()).toEqual(['x', 'y']);
    expect(dependencyGraph(found.jobs, new Date(at(10))).edges).toEqual([{ from: 'x', to: 'y' }]);
  });
});
