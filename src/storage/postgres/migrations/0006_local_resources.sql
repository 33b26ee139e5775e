-- Version 6: local resources, as in the embedded engine's version 7.

-- What each attempt of a job holds on its host, written by the claim that started it; held while
-- the job row says that attempt is running or suspended under a worker.
CREATE TABLE allocations (
  job_id          bigint   NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt         integer  NOT NULL,
  host            text     NOT NULL,
  worker_id       text     NOT NULL,
  gpus            text     NOT NULL DEFAULT '[]',
  cpus            text     NOT NULL DEFAULT '[]',
  memory_bytes    bigint   NOT NULL DEFAULT 0,
  pinned          smallint NOT NULL DEFAULT 0,
  memory_enforced smallint NOT NULL DEFAULT 0,
  PRIMARY KEY (job_id, attempt)
);

-- What each worker may hand out (JSON).
ALTER TABLE workers ADD COLUMN inventory text;

-- Runnable jobs that ask for resources: the one-statement claim looks here to see whether it must
-- leave the claim to the resource-aware path. Usually empty, so it costs next to nothing.
CREATE INDEX jobs_wanting ON jobs (priority DESC, id) WHERE status = 'pending' AND resources <> '{}';
