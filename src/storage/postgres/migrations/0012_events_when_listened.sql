-- Version 12: job events are announced (NOTIFY) only while a server streaming them listens.
-- A `docket serve` that streams events writes the backend pid of its LISTEN connection here, and
-- deletes it when it stops; rows of servers that died are deleted by the next one that starts.
-- A server also looks for new events every 2 s, so an event committed before its row was is not
-- lost, only late; a row left behind costs only the announcements nobody hears.
CREATE TABLE event_listeners (
  backend_pid integer PRIMARY KEY,
  since       bigint  NOT NULL
);

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
    -- Only a `docket serve` streaming events listens on this channel (see event_listeners).
    -- Every NOTIFY at commit wakes every listening backend of the database (the workers' own
    -- wake-up connections among them), which then reads and skips it: a drain with nobody
    -- streaming spent about 15 % more CPU per job on it. (pg_stat_activity would tell the same
    -- without a table, but reading it copies every backend's status: 0.2 ms per transaction.)
    IF EXISTS (SELECT 1 FROM event_listeners) THEN
      PERFORM pg_notify('docket_' || TG_TABLE_SCHEMA || '_events', '');
    END IF;
  END IF;
  RETURN NULL;
END;
$$;
