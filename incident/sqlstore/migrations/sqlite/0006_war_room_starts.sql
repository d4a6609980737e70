-- When each war room started, so that the cap on new war rooms per minute
-- is counted in the store, the same for every replica.
CREATE TABLE war_room_starts (
	incident_id TEXT   NOT NULL PRIMARY KEY,
	at          INTEGER NOT NULL
);
CREATE INDEX war_room_starts_at ON war_room_starts (at);
