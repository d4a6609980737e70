-- What an incident's value and threshold measure (ratio, seconds, count or
-- count:<noun>), so that they show in their unit; '' is a ratio, as every
-- incident was before units.
ALTER TABLE incidents ADD COLUMN unit TEXT NOT NULL DEFAULT '';
