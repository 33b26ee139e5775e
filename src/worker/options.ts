/** What a worker is told (WorkerOptions) and what it reports as it goes (WorkerEvent). */
import type { WorkerSettings } from '../config/config.js';
import type { Job, Outcome } from '../core/words.js';
import type { LocalResources } from '../resources/local-resources.js';

/** What a worker reports as it goes (the facade turns these into job events). */
export type WorkerEvent =
  | { kind: 'started'; job: Job }
  | { kind: 'progress'; job: Job; progress: number | null; message: string | null }
  | { kind: 'ended'; job: Job; outcome: Outcome; recorded: Job | null };

export interface WorkerOptions extends WorkerSettings {
  /** Queues to serve; `*` serves every queue. */
  queues: string[];
  logsDir: string;
  /** Exit after the queues stay idle for `idleExitMs` (on-demand workers). */
  exitWhenIdle: boolean;
  /** How long a shutdown waits for running jobs before stopping and releasing them. */
  shutdownGraceMs: number;
  id?: string;
  onEvent?: (event: WorkerEvent) => void;
  /** Runs before the worker registers (the facade stores its job types there). */
  prepare?: () => Promise<void>;
  /** Claim only these jobs, and advertise no queue, so no submit counts on this worker. */
  onlyJobs?: number[];
  /** Local resources: what this worker hands out (GPUs, CPUs, memory) and how. */
  resources?: LocalResources;
}
