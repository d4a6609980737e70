-- The responders' roles besides the commander, set with /warroom assign.
ALTER TABLE incidents ADD COLUMN comms TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN scribe TEXT NOT NULL DEFAULT '';
-- The war room's line in the announce channel, kept up to date, and the
-- last timeline event told in the war room.
ALTER TABLE incidents ADD COLUMN announce_channel_id TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN announce_ts TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN reported_event BIGINT NOT NULL DEFAULT 0;
CREATE INDEX incidents_slack_channel ON incidents (slack_channel_id);
