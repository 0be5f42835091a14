import { lateStartToleranceMs, slotSpacingMs } from '#domain/rate-limits';
import type { OperationsStore } from './operations-store.ts';

/**
 * The worker's view of the queue's rate limit: the limit is read at most every few seconds
 * (a change applies within that), the slot is reserved on every start.
 */
export class RateLimiter {
  private cached: { at: number; limit: { limit: number; windowMs: number } | undefined } | undefined;

  constructor(
    private readonly operations: OperationsStore,
    private readonly refreshMs = 5_000,
  ) {}

  private async limitOf(queue: string, now: number) {
    if (!this.cached || now - this.cached.at > this.refreshMs) {
      const limit = await this.operations.rateLimit(queue);
      this.cached = { at: now, limit: limit && { limit: limit.limit, windowMs: limit.windowMs } };
    }
    return this.cached.limit;
  }

  /** The next free start slot, and how late a start may land after it; undefined: no limit. */
  async reserve(queue: string, now: number): Promise<{ slot: number; toleranceMs: number } | undefined> {
    const limit = await this.limitOf(queue, now);
    if (!limit) return undefined;
    const slot = await this.operations.reserveSlot(queue, slotSpacingMs(limit), now);
    return { slot, toleranceMs: lateStartToleranceMs(limit) };
  }

  /** How late a start may land after a slot held from earlier; undefined: the limit is gone. */
  async toleranceMs(queue: string, now: number): Promise<number | undefined> {
    const limit = await this.limitOf(queue, now);
    return limit && lateStartToleranceMs(limit);
  }
}
