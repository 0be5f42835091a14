import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CatalogError,
  planStages,
  transitionsPerOrder,
  validateStepGraph,
} from '../../functions/domain/assembly-plan.ts';
import {
  defaultStepRetry,
  findRobotType,
  type RobotType,
  robotTypes,
} from '../../functions/domain/catalog.ts';

const robot = (steps: { name: string; dependsOn: string[]; jobType?: string }[]): RobotType => ({
  name: 'test',
  description: 'test robot',
  specifications: z.object({}),
  steps: steps.map((s) => ({
    jobType: 'fabricate_parts',
    description: s.name,
    durationMs: 1,
    timeoutSeconds: 1,
    retry: defaultStepRetry,
    ...s,
  })) as RobotType['steps'],
});

describe('planStages', () => {
  it('puts independent steps of the courier in one parallel stage', () => {
    const stages = planStages(findRobotType('courier') as RobotType).map((stage) => stage.map((s) => s.name));
    expect(stages).toEqual([
      ['fabricate_parts'],
      ['assemble_chassis', 'assemble_drivetrain', 'assemble_sensors'],
      ['install_software'],
      ['calibrate'],
      ['quality_check'],
      ['package'],
    ]);
  });

  it('levels by longest path so a step waits for its slowest dependency', () => {
    const stages = planStages(
      robot([
        { name: 'a', dependsOn: [] },
        { name: 'b', dependsOn: ['a'] },
        { name: 'c', dependsOn: ['a', 'b'] },
        { name: 'd', dependsOn: [] },
      ]),
    ).map((stage) => stage.map((s) => s.name));
    expect(stages).toEqual([['a', 'd'], ['b'], ['c']]);
  });

  it('every catalog robot type has a valid step graph', () => {
    for (const robotType of robotTypes) expect(() => validateStepGraph(robotType)).not.toThrow();
  });

  it.each([
    [
      'a cycle',
      [
        { name: 'a', dependsOn: ['b'] },
        { name: 'b', dependsOn: ['a'] },
      ],
      /cycle: a -> b -> a/,
    ],
    ['an unknown dependency', [{ name: 'a', dependsOn: ['ghost'] }], /unknown "ghost"/],
    [
      'a duplicate step',
      [
        { name: 'a', dependsOn: [] },
        { name: 'a', dependsOn: [] },
      ],
      /defined twice/,
    ],
    ['a job type no line accepts', [{ name: 'a', dependsOn: [], jobType: 'teleport' }], /no line accepts/],
    ['a name that is not snake_case', [{ name: 'Fabricate Parts', dependsOn: [] }], /snake_case/],
  ])('rejects %s', (_label, steps, message) => {
    expect(() => planStages(robot(steps))).toThrow(CatalogError);
    expect(() => planStages(robot(steps))).toThrow(message);
  });
});

describe('transitionsPerOrder', () => {
  it('counts one transition per step, per parallel stage and for the completion record', () => {
    expect(transitionsPerOrder(findRobotType('companion') as RobotType)).toEqual({
      happyPath: 7,
      perRetry: 1,
    });
    expect(transitionsPerOrder(findRobotType('courier') as RobotType)).toEqual({
      happyPath: 10,
      perRetry: 1,
    });
  });
});
