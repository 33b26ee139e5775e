/**
 * The state machine of DESIGN.md. Every state change in docket is checked here first.
 *
 *   pending ──claim──▶ running ──▶ completed | failed | timeout | cancelled
 *      │  ▲              │  ▲
 *      │  └─retry/lost───┘  │ resume (commands keep their process)
 *      │                    ▼
 *      ├──suspend──▶ suspended ──resume──▶ pending (handlers restart from a checkpoint)
 *      ├──cancel───▶ cancelled
 *      └──a dependency did not complete / key ignored──▶ skipped
 *   failed | timeout | cancelled | skipped ──requeue──▶ pending
 */
import { InvalidStateError } from './errors.js';
import type { JobStatus } from './words.js';

const MOVES: Record<JobStatus, readonly JobStatus[]> = {
  pending: ['running', 'suspended', 'cancelled', 'skipped'],
  running: ['completed', 'failed', 'timeout', 'cancelled', 'suspended', 'pending'],
  // A handler may finish in the instant its suspend arrives: its outcome still counts.
  suspended: ['running', 'pending', 'completed', 'cancelled', 'failed', 'timeout', 'skipped'],
  completed: [],
  failed: ['pending'],
  timeout: ['pending'],
  cancelled: ['pending'],
  skipped: ['pending'],
};

/** Why a move is being made; used to word the refusal. */
export type Action = 'claim' | 'finish' | 'cancel' | 'suspend' | 'resume' | 'requeue' | 'retry' | 'skip' | 'reclaim';

const ACTION_TARGET: Partial<Record<Action, JobStatus>> = {
  cancel: 'cancelled',
  suspend: 'suspended',
  requeue: 'pending',
  skip: 'skipped',
};

export function canMove(from: JobStatus, to: JobStatus): boolean {
  return MOVES[from].includes(to);
}

/**
 * Checks a move and returns the new state, or throws an InvalidStateError that says why and
 * what the caller can do instead.
 */
export function transition(jobId: number, from: JobStatus, to: JobStatus, action?: Action): JobStatus {
  if (canMove(from, to)) return to;
  throw new InvalidStateError(refusal(jobId, from, action ?? verbFor(to)));
}

/**
 * Requeue of a job whose dependency ended without completing would leave it blocked for ever (that
 * dependency will never complete): refused, naming the dependency to requeue first.
 */
export function refuseRequeueBehind(jobId: number, from: JobStatus, parentId: number, parentStatus: JobStatus) {
  return refuse(
    jobId,
    from,
    'requeue',
    `its dependency ${parentId} is ${parentStatus}; requeue ${parentId} first (this job then waits for it)`,
  );
}

/** The error for an action the job's state does not allow. */
export function refuse(jobId: number, from: JobStatus, action: Action, why?: string): InvalidStateError {
  return new InvalidStateError(why ? `job ${jobId} cannot ${action}: ${why}` : refusal(jobId, from, action));
}

function verbFor(to: JobStatus): Action {
  for (const [action, target] of Object.entries(ACTION_TARGET)) if (target === to) return action as Action;
  return 'finish';
}

function refusal(jobId: number, from: JobStatus, action: Action): string {
  const base = `job ${jobId} is ${from}`;
  switch (action) {
    case 'cancel':
      return `${base}; only pending, running or suspended jobs can be cancelled`;
    case 'suspend':
      return `${base}; only pending or running jobs can be suspended`;
    case 'resume':
      return `${base}; only suspended jobs can be resumed`;
    case 'requeue':
      return from === 'completed'
        ? `${base}; completed jobs are final — submit it again to rerun it`
        : `${base}; only failed, timed-out, cancelled or skipped jobs can be requeued (cancel it first)`;
    case 'skip':
      return `${base}; only a pending or suspended job (or a key with no job yet) can be ignored — requeue it first, then ignore it`;
    default:
      return `${base}; it cannot ${action} from that state`;
  }
}
