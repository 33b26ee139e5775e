-- Version 6: what the HTTP API needs — access tokens, a change log of jobs that every process can
-- tail (job events), and indexes for tenant-scoped listings.

-- Bearer tokens: only a SHA-256 hash of the secret is stored; the secret is shown once at creation.
CREATE TABLE api_tokens (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT,
  tenant      TEXT    NOT NULL,
  user_name   TEXT,
  role        TEXT    NOT NULL,
  token_hash  TEXT    NOT NULL UNIQUE,
  prefix      TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER,
  revoked_at  INTEGER
);

-- Job events, written by triggers so that every writer (any process, any version of the worker)
-- produces them without engine code. Ids only grow (AUTOINCREMENT: never reused, even after
-- pruning), so a client that reconnects asks for `id > last seen`. The log keeps the last 100,000
-- events: every 1,000th insert drops what fell out of that window (amortised, no per-row delete).
CREATE TABLE job_events (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        INTEGER NOT NULL,
  job_id    INTEGER NOT NULL,
  tenant    TEXT    NOT NULL,
  queue     TEXT    NOT NULL,
  type      TEXT    NOT NULL,
  kind      TEXT    NOT NULL, -- created | state | progress | deleted
  status    TEXT    NOT NULL,
  progress  REAL
);

CREATE TRIGGER jobs_event_created AFTER INSERT ON jobs BEGIN
  INSERT INTO job_events (at, job_id, tenant, queue, type, kind, status, progress)
  VALUES (new.updated_at, new.id, new.tenant, new.queue, new.type, 'created', new.status, new.progress);
END;

CREATE TRIGGER jobs_event_state AFTER UPDATE OF status ON jobs WHEN new.status <> old.status BEGIN
  INSERT INTO job_events (at, job_id, tenant, queue, type, kind, status, progress)
  VALUES (new.updated_at, new.id, new.tenant, new.queue, new.type, 'state', new.status, new.progress);
END;

CREATE TRIGGER jobs_event_progress AFTER UPDATE OF progress, progress_message ON jobs
WHEN new.status = old.status
  AND (new.progress IS NOT old.progress OR new.progress_message IS NOT old.progress_message) BEGIN
  INSERT INTO job_events (at, job_id, tenant, queue, type, kind, status, progress)
  VALUES (new.updated_at, new.id, new.tenant, new.queue, new.type, 'progress', new.status, new.progress);
END;

CREATE TRIGGER jobs_event_deleted AFTER DELETE ON jobs BEGIN
  INSERT INTO job_events (at, job_id, tenant, queue, type, kind, status, progress)
  VALUES (CAST(unixepoch('subsec') * 1000 AS INTEGER), old.id, old.tenant, old.queue, old.type, 'deleted', old.status, old.progress);
END;

CREATE TRIGGER job_events_window AFTER INSERT ON job_events WHEN new.id % 1000 = 0 BEGIN
  DELETE FROM job_events WHERE id <= new.id - 100000;
END;

-- Listings of one tenant, newest or oldest first, and their counts, without a scan of every tenant.
CREATE INDEX jobs_tenant ON jobs (tenant, id);
