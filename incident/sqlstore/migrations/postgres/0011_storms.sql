-- Storms (docs/DECISIONS.md, D18): what an incident is ('incident' or
-- 'storm'), the storm a child belongs to, and the war rooms a storm links
-- (their IDs, comma-separated). war_room_starts says which starts were
-- storms, so that a storm is not counted toward the next one.
ALTER TABLE incidents ADD COLUMN kind TEXT NOT NULL DEFAULT 'incident';
ALTER TABLE incidents ADD COLUMN storm TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN storm_linked TEXT NOT NULL DEFAULT '';
CREATE INDEX incidents_storm_children ON incidents (storm, seq) WHERE storm <> '';
CREATE INDEX incidents_open_storms ON incidents (seq) WHERE kind = 'storm' AND state <> 'resolved';
ALTER TABLE war_room_starts ADD COLUMN storm BIGINT NOT NULL DEFAULT 0;
