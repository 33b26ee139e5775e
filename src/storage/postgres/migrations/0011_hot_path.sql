-- Version 11: a cheaper hot path (claim and completion) for the same promises.

-- The executions rows of a deleted job go with it through the delete trigger below instead of a
-- foreign key: the key's check ran once per executions row a completion wrote (a lookup and a
-- share lock of a job row the completion had just locked and updated itself), on the hottest
-- statement. Every writer of executions writes the row of a job it holds locked (FOR UPDATE) in the
-- same transaction, so no row can name a job that a concurrent delete removed.
ALTER TABLE executions DROP CONSTRAINT executions_job_id_fkey;

-- The event trigger as in version 7, but the events are counted by the insert itself (ROW_COUNT)
-- and the last id read from the sequence of this schema's job_events only when some were logged:
-- no RETURNING, no CTE, no aggregate on every statement that changed jobs.
CREATE OR REPLACE FUNCTION docket_log_job_events() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  logged bigint;
  last_id bigint;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO job_events (at, job_id, tenant, queue, type, kind, status, progress)
    SELECT n.updated_at, n.id, n.tenant, n.queue, n.type,
           CASE WHEN n.status <> o.status THEN 'state' ELSE 'progress' END, n.status, n.progress
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.status <> o.status
       OR n.progress IS DISTINCT FROM o.progress
       OR n.progress_message IS DISTINCT FROM o.progress_message
    ORDER BY n.id;
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO job_events (at, job_id, tenant, queue, type, kind, status, progress)
    SELECT n.updated_at, n.id, n.tenant, n.queue, n.type, 'created', n.status, n.progress
    FROM new_rows n ORDER BY n.id;
  ELSE
    -- The deleted jobs' attempt history (the foreign key's ON DELETE CASCADE before version 11).
    DELETE FROM executions WHERE job_id IN (SELECT o.id FROM old_rows o);
    INSERT INTO job_events (at, job_id, tenant, queue, type, kind, status, progress)
    SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint, o.id, o.tenant, o.queue, o.type, 'deleted',
           o.status, o.progress
    FROM old_rows o ORDER BY o.id;
  END IF;
  GET DIAGNOSTICS logged = ROW_COUNT;
  IF logged > 0 THEN
    last_id := currval('job_events_id_seq');
    IF last_id / 1000 > (last_id - logged) / 1000 THEN
      DELETE FROM job_events WHERE id <= last_id - 100000;
    END IF;
    PERFORM pg_notify('docket_' || TG_TABLE_SCHEMA || '_events', '');
  END IF;
  RETURN NULL;
END;
$$;
