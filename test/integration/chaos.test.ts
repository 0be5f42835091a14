/**
 * The chaos suite at the CI's scale (npm run chaos runs it at 10,000 jobs): 1,000 jobs and an
 * order of each robot type through worker crashes, forced timeouts, duplicate deliveries,
 * platform faults and a kill -9 of the factory. On a factory of its own, embedded backend (its
 * state survives the restart; moto's does not). Faults last 30 s here rather than the minute of
 * npm run chaos, and workers crash during the first minute rather than all along: both overlap the
 * intake, the restart and most of the run either way, and the tail (a crashed attempt is recovered
 * when its lease expires, on the dispatcher's minute) then lasts one recovery instead of as many
 * as the unluckiest job crashes in a row (which set CI's length: 700–800 s, now a few minutes).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { formatReport, runChaos } from '../../localstack/chaos/run-chaos.ts';

describe('chaos', () => {
  it.runIf(inject('backend') === 'embedded')(
    'loses nothing, leaves nothing stuck, completes nothing twice, fails no order',
    async () => {
      const report = await runChaos({
        jobs: 1000,
        orders: 3,
        crashRate: 0.1,
        crashSeconds: 60,
        faultRate: 0.2,
        faultSeconds: 30,
        duplicateRate: 0.05,
        restartAt: 0.4,
        timeoutSeconds: 780,
        dir: mkdtempSync(path.join(tmpdir(), 'factory-chaos-')),
        log: () => undefined,
      });
      const table = formatReport(report);
      expect(
        {
          lost: report.lost,
          stuck: report.stuck,
          doubleCompleted: report.doubleCompleted,
          iamDenials: report.iamDenials,
        },
        table,
      ).toEqual({
        lost: 0,
        stuck: 0,
        doubleCompleted: 0,
        iamDenials: 0,
      });
      expect(report.orders.completed, table).toBe(report.orders.placed);
      expect(report.completed + report.dead + report.cancelled, table).toBe(report.submitted);
      // The faults did happen.
      expect(report.faults.restarts, table).toBe(1);
      expect(report.faults.crashes, table).toBeGreaterThan(0);
      expect(
        Object.values(report.faults.injected).reduce((a, b) => a + b, 0),
        table,
      ).toBeGreaterThan(0);
    },
    900_000,
  );
});
