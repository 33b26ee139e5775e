import { describe, expect, it } from 'vitest';
import { InvalidStateError } from '../../src/core/errors.js';
import { canMove, transition } from '../../src/core/states.js';
import { JOB_STATUSES } from '../../src/core/words.js';

describe('the state machine', () => {
  it('allows the moves of DESIGN.md', () => {
    expect(canMove('pending', 'running')).toBe(true);
    expect(canMove('running', 'completed')).toBe(true);
    expect(canMove('running', 'pending')).toBe(true); // retry or reclaim
    expect(canMove('failed', 'pending')).toBe(true); // requeue
    expect(canMove('pending', 'skipped')).toBe(true);
    expect(canMove('suspended', 'running')).toBe(true);
  });

  it('never leaves completed', () => {
    for (const to of JOB_STATUSES) expect(canMove('completed', to)).toBe(false);
  });

  it('refuses an illegal move with a reason and a way out', () => {
    expect(() => transition(7, 'completed', 'cancelled', 'cancel')).toThrowError(InvalidStateError);
    expect(() => transition(7, 'completed', 'cancelled', 'cancel')).toThrowError(
      'job 7 is completed; only pending, running or suspended jobs can be cancelled',
    );
    expect(() => transition(7, 'running', 'pending', 'requeue')).not.toThrow();
    expect(() => transition(7, 'completed', 'pending', 'requeue')).toThrowError(/submit it again/);
  });

  it('returns the new state when the move is legal', () => {
    expect(transition(1, 'pending', 'running')).toBe('running');
  });
});
