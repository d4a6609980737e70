-- The responders' roles besides the commander, set with /warroom assign.
ALTER TABLE incidents ADD COLUMN comms TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN scribe TEXT NOT NULL DEFAULT '';
CREATE INDEX incidents_slack_channel ON incidents (slack_channel_id);
