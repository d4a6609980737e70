CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);

CREATE TABLE deliveries (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	source           TEXT    NOT NULL,
	receiver         TEXT    NOT NULL,
	group_key        TEXT    NOT NULL,
	status           TEXT    NOT NULL,
	truncated_alerts INTEGER NOT NULL,
	alert_count      INTEGER NOT NULL,
	received_at      INTEGER NOT NULL
);

CREATE TABLE incidents (
	id               TEXT PRIMARY KEY,
	seq              INTEGER NOT NULL UNIQUE,
	key              TEXT    NOT NULL,
	service          TEXT    NOT NULL,
	env              TEXT    NOT NULL,
	rule             TEXT    NOT NULL,
	severity         TEXT    NOT NULL,
	state            TEXT    NOT NULL,
	war_room         INTEGER NOT NULL,
	title            TEXT    NOT NULL,
	value            REAL,
	peak_value       REAL,
	threshold        REAL,
	opened_at        INTEGER NOT NULL,
	acknowledged_at  INTEGER,
	mitigated_at     INTEGER,
	resolved_at      INTEGER,
	updated_at       INTEGER NOT NULL,
	commander        TEXT    NOT NULL DEFAULT '',
	slack_channel_id TEXT    NOT NULL DEFAULT '',
	slack_channel    TEXT    NOT NULL DEFAULT '',
	summary_ts       TEXT    NOT NULL DEFAULT '',
	jira_key         TEXT    NOT NULL DEFAULT '',
	suspect_deploy   TEXT    NOT NULL DEFAULT '',
	truncated_alerts INTEGER NOT NULL DEFAULT 0,
	last_error       TEXT    NOT NULL DEFAULT ''
);
-- One open incident per key: the store itself refuses a second.
CREATE UNIQUE INDEX incidents_open_key ON incidents (key) WHERE state <> 'resolved';
CREATE INDEX incidents_key_resolved ON incidents (key, resolved_at);

CREATE TABLE alerts (
	incident_id   TEXT    NOT NULL REFERENCES incidents (id),
	fingerprint   TEXT    NOT NULL,
	status        TEXT    NOT NULL,
	labels        TEXT    NOT NULL,
	annotations   TEXT    NOT NULL,
	grafana_values TEXT   NOT NULL,
	starts_at     INTEGER NOT NULL,
	ends_at       INTEGER NOT NULL,
	generator_url TEXT    NOT NULL,
	value         REAL,
	source        TEXT    NOT NULL,
	PRIMARY KEY (incident_id, fingerprint)
) WITHOUT ROWID;

CREATE TABLE events (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	incident_id TEXT    NOT NULL REFERENCES incidents (id),
	at          INTEGER NOT NULL,
	kind        TEXT    NOT NULL,
	actor       TEXT    NOT NULL,
	text        TEXT    NOT NULL
);
CREATE INDEX events_incident ON events (incident_id, id);

CREATE TABLE jobs (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	kind         TEXT    NOT NULL,
	key          TEXT    NOT NULL UNIQUE,
	incident_id  TEXT    NOT NULL,
	args         TEXT    NOT NULL,
	state        TEXT    NOT NULL,
	coalesce     INTEGER NOT NULL DEFAULT 0,
	attempt      INTEGER NOT NULL DEFAULT 0,
	max_attempts INTEGER NOT NULL,
	run_at       INTEGER NOT NULL,
	locked_until INTEGER NOT NULL DEFAULT 0,
	locked_by    TEXT    NOT NULL DEFAULT '',
	last_error   TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	finished_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_incident ON jobs (incident_id, id);
