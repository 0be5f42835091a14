import * as z from 'zod';
import { maintenanceKinds } from '#domain/maintenance';
import { defineJobType } from './job-type.ts';

/**
 * The maintenance job of a window: runs while its line or queue is paused and logs what it
 * does. The procedure is simulated (the factory has no real machines to service); each phase
 * is a log line and a short hold.
 */
export const runMaintenance = defineJobType({
  name: 'run_maintenance',
  description: 'The maintenance procedure of a maintenance window (logged phase by phase).',
  payload: z
    .object({
      windowId: z.string().min(1),
      target: z.string().min(1),
      kind: z.enum(maintenanceKinds),
      phaseMs: z.int().min(0).max(60_000).default(200),
    })
    .strict(),
  defaults: { maxAttempts: 3, timeoutMs: 600_000 },
  async run(payload, context) {
    const phases = [
      'lock out the line',
      `${payload.kind.replace('_', ' ')} of ${payload.target}`,
      'test run',
      'hand back to production',
    ];
    for (const [i, phase] of phases.entries()) {
      await context.log(
        'INFO',
        `Maintenance ${payload.windowId} (${payload.kind}) step ${i + 1}/${phases.length}: ${phase}`,
      );
      await context.sleep(payload.phaseMs, context.signal);
    }
    return {
      windowId: payload.windowId,
      target: payload.target,
      kind: payload.kind,
      phases: phases.length,
      finishedAt: context.now().toISOString(),
    };
  },
});
