-- Version 2: job types with handlers, queues with shared settings, retry backoff, checkpoints.

ALTER TABLE jobs ADD COLUMN job_group TEXT;
-- Retry policy: delay = retry_delay_s × 2^(attempt−1) when exponential, capped, optionally jittered.
ALTER TABLE jobs ADD COLUMN retry_backoff TEXT NOT NULL DEFAULT 'fixed';
ALTER TABLE jobs ADD COLUMN retry_max_delay_s REAL;
ALTER TABLE jobs ADD COLUMN retry_jitter INTEGER NOT NULL DEFAULT 0;
-- What a suspended handler saved, handed to its next attempt.
ALTER TABLE jobs ADD COLUMN checkpoint TEXT;
-- A recurring job's cron expression, copied to each job it creates.
ALTER TABLE jobs ADD COLUMN cron TEXT;
-- Set once a job has dependents, so that ending the (many) jobs without any skips the edge lookup.
ALTER TABLE jobs ADD COLUMN has_dependents INTEGER NOT NULL DEFAULT 0;

-- Settings every worker obeys: the most jobs of a queue running at once, and whether it is paused.
CREATE TABLE queues (
  name       TEXT    PRIMARY KEY,
  capacity   INTEGER,
  paused     INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);

-- Job types known to the store (defined by programs and worker config files), so any process —
-- the CLI, the HTTP API — can validate params and apply defaults without loading handler code.
CREATE TABLE job_types (
  name          TEXT    PRIMARY KEY,
  queue         TEXT,
  job_group     TEXT,
  params_schema TEXT,
  defaults      TEXT    NOT NULL DEFAULT '{}',
  suspendable   INTEGER NOT NULL DEFAULT 0,
  cron          TEXT,
  updated_at    INTEGER NOT NULL
);


-- Job groups (HyperSpot): a named set of job types mapped to one queue.
CREATE TABLE job_groups (
  name        TEXT    PRIMARY KEY,
  queue       TEXT    NOT NULL,
  description TEXT,
  updated_at  INTEGER NOT NULL
);
