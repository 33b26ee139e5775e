-- Version 8: `docket restart` submits a finished job again as a new job, linked to the original.
-- No foreign key: the original may be removed (`rm`, `clear`) while its restart stays.
ALTER TABLE jobs ADD COLUMN restarted_from bigint;
