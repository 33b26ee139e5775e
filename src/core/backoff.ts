/** Retry delays: fixed or exponential, with an optional cap and jitter. */
import type { RetryPolicy } from './words.js';

/**
 * Seconds to wait before the try that follows `attempt` (1 for the first failure).
 * `random` is injectable so tests can pin the jitter.
 */
export function retryDelaySeconds(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  let delay =
    policy.backoff === 'exponential' ? policy.delaySeconds * 2 ** Math.max(0, attempt - 1) : policy.delaySeconds;
  if (policy.maxDelaySeconds !== null) delay = Math.min(delay, policy.maxDelaySeconds);
  // "Equal jitter": between half and all of the delay, so retries spread out but never come early.
  if (policy.jitter) delay = delay / 2 + (delay / 2) * random();
  return delay;
}
