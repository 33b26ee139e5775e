-- docket's embedded schema, version 1. Migrations are append-only: never edit a released file.
-- Times are integer milliseconds since the Unix epoch; JSON columns hold text.

CREATE TABLE jobs (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  name               TEXT    NOT NULL,
  type               TEXT    NOT NULL,
  status             TEXT    NOT NULL,
  scheduler          TEXT    NOT NULL,
  queue              TEXT    NOT NULL,
  priority           INTEGER NOT NULL DEFAULT 0,
  command            TEXT,
  argv               TEXT,
  cwd                TEXT    NOT NULL,
  env                TEXT    NOT NULL DEFAULT '{}',
  resources          TEXT    NOT NULL DEFAULT '{}',
  time_limit_s       REAL,
  attempts           INTEGER NOT NULL DEFAULT 0, -- tries counted against max_attempts
  run_no             INTEGER NOT NULL DEFAULT 0, -- number of the current (or last) execution
  max_attempts       INTEGER NOT NULL DEFAULT 1,
  retry_delay_s      REAL    NOT NULL DEFAULT 0,
  run_at             INTEGER NOT NULL,
  blocked_by         INTEGER NOT NULL DEFAULT 0,
  key                TEXT,
  tenant             TEXT    NOT NULL,
  user_name          TEXT,
  params             TEXT,
  result             TEXT,
  progress           REAL,
  progress_message   TEXT,
  exit_code          INTEGER,
  signal             TEXT,
  error              TEXT,
  error_stack        TEXT,
  host               TEXT,
  pid                INTEGER,
  pid_start          INTEGER,
  worker_id          TEXT,
  lease_expires_at   INTEGER,
  created_at         INTEGER NOT NULL,
  started_at         INTEGER,
  ended_at           INTEGER,
  updated_at         INTEGER NOT NULL
);

-- Every index is paid for by every insert and state change (each adds pages to a commit), so
-- there are few. The claim path: the next runnable job, highest priority first, then oldest; only
-- runnable rows are in it, so it stays small however long the history grows. Workers of some
-- queues only walk it filtering by queue.
CREATE INDEX jobs_claim ON jobs (priority DESC, id) WHERE status = 'pending' AND blocked_by = 0;
-- By state (then queue): active jobs for list and reconciliation, counts per state and queue,
-- capacity checks, clearing.
CREATE INDEX jobs_status ON jobs (status, queue);
CREATE UNIQUE INDEX jobs_key ON jobs (tenant, type, key) WHERE key IS NOT NULL;

-- Edges of the dependency DAG: job_id waits for depends_on.
CREATE TABLE job_deps (
  job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  depends_on INTEGER NOT NULL,
  PRIMARY KEY (job_id, depends_on)
) WITHOUT ROWID;
CREATE INDEX job_deps_parent ON job_deps (depends_on, job_id);

-- One row per execution of a job (GigQ's executions); `attempt` is the job's run_no at the time.
CREATE TABLE executions (
  job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt    INTEGER NOT NULL,
  status     TEXT    NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at   INTEGER,
  exit_code  INTEGER,
  signal     TEXT,
  error      TEXT,
  host       TEXT,
  pid        INTEGER,
  worker_id  TEXT,
  PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;

-- Live workers; a row whose process is gone is removed by the next reconciliation.
CREATE TABLE workers (
  id            TEXT    PRIMARY KEY,
  host          TEXT    NOT NULL,
  pid           INTEGER NOT NULL,
  pid_start     INTEGER,
  queues        TEXT    NOT NULL,
  concurrency   INTEGER NOT NULL,
  wake_address  TEXT,
  started_at    INTEGER NOT NULL,
  heartbeat_at  INTEGER NOT NULL
);
