-- Version 5: the store's own identity. Files docket keeps outside the database — job logs — live in
-- a folder named by it ($DOCKET_HOME/logs/<id>/), so two stores sharing a home never mix them.

CREATE TABLE docket_store (
  singleton          INTEGER PRIMARY KEY CHECK (singleton = 1),
  id                 TEXT    NOT NULL,
  -- Jobs up to this id ran before logs moved into the store's folder: their logs may still be in
  -- the old place ($DOCKET_HOME/logs/<job id>/). Zero for a store created with this version.
  legacy_logs_max_id INTEGER NOT NULL
);
INSERT INTO docket_store (singleton, id, legacy_logs_max_id)
  SELECT 1, lower(hex(randomblob(8))), coalesce((SELECT max(id) FROM jobs), 0);
