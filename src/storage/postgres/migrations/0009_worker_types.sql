-- Version 9: the job types a worker can run (a JSON array; NULL for workers that registered before),
-- so a pending job can say that no live worker runs its type.
ALTER TABLE workers ADD COLUMN types text;
