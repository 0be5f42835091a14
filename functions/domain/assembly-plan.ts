/**
 * Turns a robot type's step graph into the stages of its workflow. A stage is a set of steps
 * whose dependencies all finished in earlier stages; a stage of several steps runs as one
 * Parallel state. Levelling by longest path keeps every dependency satisfied, at the price of
 * a barrier between stages, which is what a factory floor does anyway.
 */
import type { AssemblyStep, RobotType } from './catalog.ts';
import { lineForJobType } from './production-lines.ts';

export class CatalogError extends Error {
  override readonly name = 'CatalogError';
}

export function planStages(robotType: RobotType): AssemblyStep[][] {
  validateStepGraph(robotType);
  const depth = new Map<string, number>();
  const byName = new Map(robotType.steps.map((s) => [s.name, s]));
  const depthOf = (s: AssemblyStep): number => {
    const known = depth.get(s.name);
    if (known !== undefined) return known;
    const d = s.dependsOn.reduce(
      (max, dep) => Math.max(max, depthOf(byName.get(dep) as AssemblyStep) + 1),
      0,
    );
    depth.set(s.name, d);
    return d;
  };
  const stages: AssemblyStep[][] = [];
  for (const s of robotType.steps) {
    const d = depthOf(s);
    stages[d] = [...(stages[d] ?? []), s];
  }
  return stages;
}

export function validateStepGraph(robotType: RobotType): void {
  const names = new Set<string>();
  for (const s of robotType.steps) {
    if (!/^[a-z][a-z0-9_]{0,39}$/.test(s.name)) {
      throw new CatalogError(
        `${robotType.name}: step name "${s.name}" must be snake_case, at most 40 characters`,
      );
    }
    if (names.has(s.name)) throw new CatalogError(`${robotType.name}: step "${s.name}" is defined twice`);
    names.add(s.name);
    if (!lineForJobType(s.jobType)) {
      throw new CatalogError(
        `${robotType.name}: step "${s.name}" has job type "${s.jobType}" that no line accepts`,
      );
    }
  }
  for (const s of robotType.steps) {
    for (const dep of s.dependsOn) {
      if (!names.has(dep))
        throw new CatalogError(`${robotType.name}: step "${s.name}" depends on unknown "${dep}"`);
    }
  }
  const visiting = new Set<string>();
  const done = new Set<string>();
  const byName = new Map(robotType.steps.map((s) => [s.name, s]));
  const visit = (name: string, path: string[]): void => {
    if (done.has(name)) return;
    if (visiting.has(name)) {
      throw new CatalogError(`${robotType.name}: steps form a cycle: ${[...path, name].join(' -> ')}`);
    }
    visiting.add(name);
    for (const dep of byName.get(name)?.dependsOn ?? []) visit(dep, [...path, name]);
    visiting.delete(name);
    done.add(name);
  };
  for (const s of robotType.steps) visit(s.name, []);
}

/**
 * Step Functions state transitions one successful order costs (each is billed): one per step
 * task, one per Parallel state, one per branch-less bookkeeping state. Retries add one each.
 */
export function transitionsPerOrder(robotType: RobotType): { happyPath: number; perRetry: number } {
  const stages = planStages(robotType);
  const parallelStates = stages.filter((stage) => stage.length > 1).length;
  const recordCompletion = 1;
  return { happyPath: robotType.steps.length + parallelStates + recordCompletion, perRetry: 1 };
}
