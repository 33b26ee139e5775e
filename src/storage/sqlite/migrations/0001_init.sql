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

-- The claim path: the next runnable job of a queue, highest priority first, then oldest.
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, id) WHERE status = 'pending' AND blocked_by = 0;
CREATE INDEX jobs_claim_any ON jobs (priority DESC, id) WHERE status = 'pending' AND blocked_by = 0;
-- Active jobs (list's default view, reconciliation) stay a small slice of a large table.
CREATE INDEX jobs_active ON jobs (status, id) WHERE status IN ('pending', 'running', 'suspended');
-- Listing and clearing by state, and everything else by age.
CREATE INDEX jobs_status ON jobs (status, ended_at);
CREATE INDEX jobs_queue ON jobs (queue, status);
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
