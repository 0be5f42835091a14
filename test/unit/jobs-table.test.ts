/** The jobs table's key builders agree with the domain's ids and with the index shard lists. */
import { describe, expect, it } from 'vitest';
import {
  dispatchShardOf,
  dispatchShards,
  queueStatusKey,
  readyKeyOf,
  stepJobIdFormat,
} from '../../functions/adapters/jobs-table.ts';
import { stepJobId } from '../../functions/domain/jobs.ts';

describe('jobs table keys', () => {
  it("builds the state machine's step job id exactly as the domain does", () => {
    // States.Format replaces {} with the order id.
    expect(stepJobIdFormat('calibrate').replace('{}', 'ord_42')).toBe(stepJobId('ord_42', 'calibrate'));
  });

  it('puts every job in one of the shards the dispatcher reads', () => {
    for (const jobId of ['a', 'job_1', 'ord_42.calibrate', 'x'.repeat(80)]) {
      expect(dispatchShards).toContain(dispatchShardOf(jobId));
      expect(dispatchShardOf(jobId)).toBe(dispatchShardOf(jobId));
    }
  });

  it('keys the listing and ready partitions by queue', () => {
    expect(queueStatusKey('reports', 'DEAD')).toBe('reports#DEAD');
    expect(readyKeyOf('reports', 'urgent')).toBe('reports#urgent');
  });
});
