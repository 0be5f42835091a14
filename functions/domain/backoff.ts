/**
 * Retry schedules. The delay before attempt n+1 (n = attempts made so far, from 1):
 * exponential delayMs·2^(n-1), linear delayMs·n, fixed delayMs, none 0; capped at maxDelayMs;
 * with full jitter the delay is uniform in [0, computed] (AWS's "full jitter"). The adaptive
 * policy decides from history (domain/adaptive-retry.ts); without evidence, and as its base
 * schedule, it is exponential.
 */
import * as z from 'zod';

export const backoffSchema = z
  .object({
    type: z.enum(['exponential', 'linear', 'fixed', 'none', 'adaptive']).default('exponential'),
    delayMs: z.int().min(0).max(86_400_000).default(1000),
    maxDelayMs: z
      .int()
      .min(0)
      .max(7 * 86_400_000)
      .default(3_600_000),
    jitter: z.boolean().default(false),
    /**
     * adaptive only: below this estimated chance that a retry recovers the job, it goes DEAD
     * now (domain/adaptive-retry.ts). Default 0.1.
     */
    minSuccessProbability: z.number().min(0).max(1).optional(),
  })
  .strict()
  .refine((b) => b.minSuccessProbability === undefined || b.type === 'adaptive', {
    message: 'minSuccessProbability applies to the adaptive policy only',
    path: ['minSuccessProbability'],
  });
export type Backoff = z.infer<typeof backoffSchema>;

export const defaultBackoff: Backoff = {
  type: 'exponential',
  delayMs: 1000,
  maxDelayMs: 3_600_000,
  jitter: false,
};

/** @param attemptsMade attempts so far (≥ 1); @param random in [0, 1) */
export function retryDelayMs(
  backoff: Backoff,
  attemptsMade: number,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, attemptsMade);
  const raw =
    backoff.type === 'exponential' || backoff.type === 'adaptive'
      ? backoff.delayMs * 2 ** (n - 1)
      : backoff.type === 'linear'
        ? backoff.delayMs * n
        : backoff.type === 'fixed'
          ? backoff.delayMs
          : 0;
  const capped = Math.min(raw, backoff.maxDelayMs);
  return backoff.jitter ? Math.floor(random() * capped) : capped;
}

/** The whole schedule without jitter: the delays before attempts 2..maxAttempts. */
export const retrySchedule = (backoff: Backoff, maxAttempts: number): number[] =>
  Array.from({ length: Math.max(0, maxAttempts - 1) }, (_, i) =>
    retryDelayMs({ ...backoff, jitter: false }, i + 1),
  );
