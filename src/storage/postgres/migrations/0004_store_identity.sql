-- Version 4: the store's own identity, as in the embedded engine's version 5. Files docket keeps
-- outside the database — job logs — live in a folder named by it ($DOCKET_HOME/logs/<id>/), so two
-- schemas (or databases) sharing a home never mix them.

CREATE TABLE docket_store (
  singleton          smallint PRIMARY KEY CHECK (singleton = 1),
  id                 text     NOT NULL,
  -- Jobs up to this id ran before logs moved into the store's folder: their logs may still be in
  -- the old place ($DOCKET_HOME/logs/<job id>/). Zero for a store created with this version.
  legacy_logs_max_id bigint   NOT NULL
);
INSERT INTO docket_store (singleton, id, legacy_logs_max_id)
  SELECT 1, substr(md5(random()::text || clock_timestamp()::text), 1, 16), coalesce((SELECT max(id) FROM jobs), 0);
