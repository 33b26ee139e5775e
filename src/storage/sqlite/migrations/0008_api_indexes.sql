-- Version 8: jobs that ended since a time (GET /stats, the dashboard's charts) are found without
-- reading every job. Jobs that have not ended are not in the index, so claims write nothing to it;
-- a completion adds one entry (measured: under 1 µs of the 20 µs of store work per job of a drain).
-- (An index on (tenant, status, queue), which would count a tenant's filtered listing in the index,
-- cost 4-5 µs per job in a drain — a status change rewrites it twice per job — and was left out:
-- listing totals are reused until the event log moves instead.)
CREATE INDEX jobs_ended ON jobs (ended_at) WHERE ended_at IS NOT NULL;
