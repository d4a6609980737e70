-- A row version, bumped by every write to an incident and to its alerts:
-- a writer that holds an incident's fingerprints from an earlier
-- transaction trusts them only while the version it wrote is still there.
ALTER TABLE incidents ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
