-- Version 3: which machine a worker and an attempt run on, as in the embedded engine's version 4.

-- Boot id and pid namespace (see worker/machine.ts); NULL for rows written before this version.
ALTER TABLE workers ADD COLUMN machine text;
ALTER TABLE jobs ADD COLUMN machine text;
-- The jobs a worker holds, for its heartbeat: live jobs only, so the index stays small.
CREATE INDEX jobs_worker ON jobs (worker_id) WHERE status IN ('running', 'suspended');
