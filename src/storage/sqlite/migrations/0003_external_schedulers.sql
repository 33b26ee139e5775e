-- Version 3: jobs handed to an external scheduler (SLURM).

-- The scheduler's own id for the job (SLURM's job id). NULL while docket still holds the job
-- (it waits for a local dependency, or for its retry delay); set once sbatch accepted it.
ALTER TABLE jobs ADD COLUMN scheduler_job_id TEXT;
-- Active jobs of external schedulers, for the status sync that runs before every CLI call. Partial:
-- local jobs, the bulk of the table, never enter it, so their inserts and state changes pay nothing.
CREATE INDEX jobs_external ON jobs (scheduler, status) WHERE scheduler <> 'local';
