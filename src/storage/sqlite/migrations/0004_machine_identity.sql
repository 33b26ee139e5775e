-- Version 4: which machine a worker and an attempt run on, beyond the hostname.

-- The kernel's boot id and the pid namespace (see worker/machine.ts): two containers that share a
-- hostname differ here, so one never judges the other's processes by pid. NULL for rows written
-- before this version (judged by hostname, as before).
ALTER TABLE workers ADD COLUMN machine TEXT;
ALTER TABLE jobs ADD COLUMN machine TEXT;
-- The jobs a worker holds, for its heartbeat: live jobs only, so the index stays small.
CREATE INDEX jobs_worker ON jobs (worker_id) WHERE status IN ('running', 'suspended');
