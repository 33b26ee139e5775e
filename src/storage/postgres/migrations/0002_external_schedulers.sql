-- Version 2: jobs handed to an external scheduler (SLURM), as in the embedded engine's version 3.

-- The scheduler's own id for the job (SLURM's job id); NULL while docket still holds the job.
ALTER TABLE jobs ADD COLUMN scheduler_job_id text;
-- Active jobs of external schedulers, for the status sync; local jobs never enter it.
CREATE INDEX jobs_external ON jobs (scheduler, status) WHERE scheduler <> 'local';
