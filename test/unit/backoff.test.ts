import { describe, expect, it } from 'vitest';
import { retryDelaySeconds } from '../../src/core/backoff.js';
import type { RetryPolicy } from '../../src/core/words.js';

const policy = (overrides: Partial<RetryPolicy>): RetryPolicy => ({
  delaySeconds: 2,
  backoff: 'fixed',
  maxDelaySeconds: null,
  jitter: false,
  ...overrides,
});

describe('retry backoff', () => {
  it('fixed waits the same after every failure', () => {
    expect([1, 2, 5].map((attempt) => retryDelaySeconds(policy({}), attempt))).toEqual([2, 2, 2]);
  });

  it('exponential doubles the wait after each failure', () => {
    const exponential = policy({ backoff: 'exponential' });
    expect([1, 2, 3, 4].map((attempt) => retryDelaySeconds(exponential, attempt))).toEqual([2, 4, 8, 16]);
  });

  it('the cap bounds the wait, however many failures', () => {
    const capped = policy({ backoff: 'exponential', maxDelaySeconds: 10 });
    expect([3, 4, 30].map((attempt) => retryDelaySeconds(capped, attempt))).toEqual([8, 10, 10]);
    expect(retryDelaySeconds(capped, 1000)).toBe(10);
  });

  it('jitter spreads the wait between half and all of it, never earlier, never past the cap', () => {
    const jittered = policy({ backoff: 'exponential', maxDelaySeconds: 10, jitter: true });
    expect(retryDelaySeconds(jittered, 2, () => 0)).toBe(2);
    expect(retryDelaySeconds(jittered, 2, () => 0.5)).toBe(3);
    expect(retryDelaySeconds(jittered, 2, () => 0.999999)).toBeCloseTo(4, 5);
    expect(retryDelaySeconds(jittered, 9, () => 0)).toBe(5);
    expect(retryDelaySeconds(jittered, 9, () => 0.999999)).toBeCloseTo(10, 4);
    const draws = Array.from({ length: 200 }, () => retryDelaySeconds(jittered, 3));
    for (const delay of draws) {
      expect(delay).toBeGreaterThanOrEqual(4);
      expect(delay).toBeLessThanOrEqual(8);
    }
    expect(new Set(draws).size).toBeGreaterThan(100);
  });
});
