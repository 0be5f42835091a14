/**
 * Per-queue rate limits: at most `limit` job starts per `windowMs`, across all workers. The
 * limiter is a shared schedule of start slots `windowMs / limit` apart (GCRA, no burst): a
 * worker reserves the next free slot with one atomic update; a job whose slot is ahead waits
 * for it (short waits in place, longer ones back on the queue with a delay) — delayed, never
 * failed. Evenly spaced slots keep any window of `windowMs` to at most `limit` starts.
 */
import * as z from 'zod';

export const rateLimitSchema = z
  .object({
    limit: z.int().min(1).max(100_000),
    windowMs: z.int().min(100).max(86_400_000),
  })
  .strict();
export type RateLimit = z.infer<typeof rateLimitSchema>;

const headroom = 0.05;

/**
 * Slots are 5% further apart than windowMs / limit: a start lands a little after its slot (the
 * worker's own writes, a busy machine), and that lateness must not let an eleventh start into a
 * window of ten. 50 jobs at 10/s take ~5.1 s instead of 4.9 s.
 */
export const slotSpacingMs = (limit: RateLimit) => (limit.windowMs / limit.limit) * (1 + headroom);

/**
 * How late a start may land after its slot. `limit` consecutive slots span windowMs × 1.05, so a
 * first start at most 5% of windowMs late still leaves the start `limit` slots later outside its
 * window (with a margin: 4%). A start later than this is not made: the worker reserves a new slot.
 */
export const lateStartToleranceMs = (limit: RateLimit) => limit.windowMs * headroom * 0.8;

/** How many slots an attempt reserves, each missed by a busy worker, before it goes back in line. */
export const maxSlotReservations = 3;

/** Waits up to this long are spent in the worker (cheaper than a round trip through SQS); longer ones go back to the queue. */
export const waitInPlaceMs = 5_000;

/**
 * Slots are reserved this far ahead of "now": the reservation and the start's own write take
 * time, and a job that reaches its slot late would crowd the next slot's window. Waiting for a
 * slot a moment ahead keeps starts on their slots.
 */
export const slotLeadMs = 250;
