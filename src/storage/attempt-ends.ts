/**
 * How every engine answers QueueOperations.endAttempts: the port's one way to end an attempt, its
 * variants routed to what each engine's outcomes part writes (a batch of outcomes with the claim
 * of the slots they free, a batch of lost attempts, one park, one release). Written once here, for
 * every engine; the outcomes parts keep their statements and transactions.
 */
import type { Job, Outcome } from '../core/words.js';
import type { AttemptEnd, ClaimRequest, EndedAttempts } from './engine.js';

/** An outcome to record, as an engine's outcomes part takes it in a batch. */
export interface FinishedAttempt {
  jobId: number;
  attempt: number;
  outcome: Outcome;
}

/** An attempt whose owner is gone, as an engine's outcomes part settles it (see AttemptEnd `lost`). */
export interface LostAttempt {
  jobId: number;
  attempt: number;
  reason: string;
  processGone?: boolean;
}

/** What an engine's outcomes part does to end attempts (each in its own transactions). */
export interface AttemptEnding {
  /** Records outcomes and, given a claim request, claims the slots they free with them. */
  finishMany(finished: FinishedAttempt[], next?: ClaimRequest): Promise<{ recorded: (Job | null)[]; claimed: Job[] }>;
  park(jobId: number, attempt: number): Promise<Job | null>;
  release(jobId: number, attempt: number, reason: string): Promise<Job | null>;
  settleLost(lost: LostAttempt[]): Promise<void>;
}

/** Ends attempts through an engine's outcomes part (see QueueOperations.endAttempts). */
export async function endAttempts(
  part: AttemptEnding,
  ends: readonly AttemptEnd[],
  claim?: ClaimRequest,
): Promise<EndedAttempts> {
  const ended: (Job | null)[] = ends.map(() => null);
  const outcomes: { index: number; item: FinishedAttempt }[] = [];
  const lost: LostAttempt[] = [];
  for (const [index, end] of ends.entries()) {
    if (end.how === 'outcome') {
      outcomes.push({ index, item: { jobId: end.jobId, attempt: end.runNo, outcome: end.outcome } });
    } else if (end.how === 'lost') {
      lost.push({ jobId: end.jobId, attempt: end.runNo, reason: end.reason, processGone: end.processGone });
    }
  }
  // The ends that free a slot without an outcome go first, so the claim below sees those slots.
  for (const [index, end] of ends.entries()) {
    if (end.how === 'park') ended[index] = await part.park(end.jobId, end.runNo);
    else if (end.how === 'release') ended[index] = await part.release(end.jobId, end.runNo, end.reason);
  }
  if (lost.length > 0) await part.settleLost(lost);
  if (outcomes.length === 0 && !claim) return { ended, claimed: [] };
  const { recorded, claimed } = await part.finishMany(
    outcomes.map((entry) => entry.item),
    claim,
  );
  for (const [position, entry] of outcomes.entries()) ended[entry.index] = recorded[position] ?? null;
  return { ended, claimed };
}
