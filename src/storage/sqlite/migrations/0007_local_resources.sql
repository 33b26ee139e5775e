-- Version 7: local resources. A local job's GPUs, CPUs and memory are consumed, not just recorded.

-- What each attempt of a job holds on its host, written by the claim that started it. An attempt
-- holds it while the job row says that attempt is running or suspended under a worker; once the
-- attempt ends in any way (its worker killed included: reconciliation settles it) nothing holds it,
-- and the row stays as the attempt's history.
CREATE TABLE allocations (
  job_id          INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt         INTEGER NOT NULL,
  host            TEXT    NOT NULL,
  worker_id       TEXT    NOT NULL,
  gpus            TEXT    NOT NULL DEFAULT '[]', -- GPU indices (JSON)
  cpus            TEXT    NOT NULL DEFAULT '[]', -- core ids (JSON)
  memory_bytes    INTEGER NOT NULL DEFAULT 0,
  pinned          INTEGER NOT NULL DEFAULT 0,
  memory_enforced INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (job_id, attempt)
) WITHOUT ROWID;

-- What each worker may hand out (JSON), for submit-time checks, pending reasons and `GET /workers`.
ALTER TABLE workers ADD COLUMN inventory TEXT;
