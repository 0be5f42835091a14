import { slotSpacingMs } from '#domain/rate-limits';
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

  async reserve(queue: string, now: number): Promise<number | undefined> {
    if (!this.cached || now - this.cached.at > this.refreshMs) {
      const limit = await this.operations.rateLimit(queue);
      this.cached = { at: now, limit: limit && { limit: limit.limit, windowMs: limit.windowMs } };
    }
    const limit = this.cached.limit;
    if (!limit) return undefined;
    return this.operations.reserveSlot(queue, slotSpacingMs(limit), now);
  }
}
