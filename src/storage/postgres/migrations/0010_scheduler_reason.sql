-- Version 10: why SLURM still holds a pending job (squeue's %r: Resources, Priority, Dependency…),
-- as of the last look, so `docket list` and the API's state_reason can say it.
ALTER TABLE jobs ADD COLUMN scheduler_reason text;
