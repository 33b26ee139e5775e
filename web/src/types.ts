/** The shapes of the API's JSON documents the dashboard reads (snake_case, as the CLI's `--json`). */

export const STATES = [
  'pending',
  'running',
  'suspended',
  'completed',
  'failed',
  'timeout',
  'cancelled',
  'skipped',
] as const;
export type JobState = (typeof STATES)[number];
/** The two kinds of pending a listing can filter on. */
export const PENDING_KINDS = ['delayed', 'blocked'] as const;

export interface Attempt {
  attempt: number;
  status: JobState;
  started_at: string;
  ended_at: string | null;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  host: string | null;
  pid: number | null;
  worker_id: string | null;
}

export interface Job {
  id: number;
  name: string;
  type: string;
  status: JobState;
  scheduler: 'local' | 'slurm';
  scheduler_job_id: string | null;
  queue: string;
  priority: number;
  command: string | null;
  argv: string[] | null;
  cwd: string;
  env: Record<string, string>;
  attempts: number;
  max_attempts: number;
  retry?: { delay_s: number; backoff: string; jitter: boolean; max_delay_s: number | null };
  group: string | null;
  cron: string | null;
  run_at: string;
  depends_on: number[];
  blocked: boolean;
  key: string | null;
  tenant: string;
  user: string | null;
  params: unknown;
  result: unknown;
  exit_code: number | null;
  signal: string | null;
  error: string | null;
  error_stack: string | null;
  progress: number | null;
  progress_message: string | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  pid: number | null;
  host: string | null;
  worker_id: string | null;
  node?: string | null;
  resources: {
    cpu_count: number | null;
    memory_bytes: number | null;
    gpu_count: number | null;
    partition: string | null;
    account: string | null;
  };
  time_limit_s: number | null;
}

/** `GET /jobs/{id}`: the job with its attempts, its dependents and why it is where it is. */
export interface JobDetail extends Job {
  executions: Attempt[];
  dependents?: number[];
  state_reason?: string | null;
}

export interface JobList {
  jobs: Job[];
  page: number;
  limit: number;
  order: string;
  total: number;
}

export interface Me {
  tenant: string;
  user: string | null;
  role: 'admin' | 'member' | 'viewer';
}

export interface Queue {
  name: string;
  capacity: number | null;
  paused: boolean;
  running?: number;
  counts: Partial<Record<JobState, number>>;
  oldest_pending_age_s?: number | null;
  oldest_pending_at?: string | null;
}

export interface Worker {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  running_jobs: number[];
  last_heartbeat_at: string;
  started_at?: string;
  /** False once the worker's lease lapsed (its process is gone or stuck). */
  alive?: boolean;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

export interface StatsBucket {
  /** The start of the minute (ISO-8601). */
  start: string;
  /** Jobs finished in that minute by outcome. */
  counts: Partial<Record<JobState, number>>;
  /** Wait and run seconds of the jobs finished in that minute, when the server gives them. */
  wait_s?: Percentiles;
  run_s?: Percentiles;
}

export interface Stats {
  buckets: StatsBucket[];
  finished?: number;
  wait_s?: Percentiles;
  run_s?: Percentiles;
}

export interface JobType {
  id: string;
  name?: string;
  description?: string | null;
  queue?: string | null;
  group?: string | null;
  params_schema?: unknown;
  suspendable?: boolean;
  defaults?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface JobGroup {
  id: string;
  name?: string;
  queue?: string | null;
  description?: string | null;
  types?: string[];
  [field: string]: unknown;
}

export interface ActionResult {
  matched: number;
  changed: number;
  failed: { id: number; detail: string }[];
}
