CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value BIGINT NOT NULL
);

CREATE TABLE deliveries (
	id               BIGSERIAL PRIMARY KEY,
	source           TEXT    NOT NULL,
	receiver         TEXT    NOT NULL,
	group_key        TEXT    NOT NULL,
	status           TEXT    NOT NULL,
	truncated_alerts BIGINT NOT NULL,
	alert_count      BIGINT NOT NULL,
	received_at      BIGINT NOT NULL
);

CREATE TABLE incidents (
	id               TEXT PRIMARY KEY,
	seq              BIGINT NOT NULL UNIQUE,
	key              TEXT    NOT NULL,
	service          TEXT    NOT NULL,
	env              TEXT    NOT NULL,
	rule             TEXT    NOT NULL,
	severity         TEXT    NOT NULL,
	state            TEXT    NOT NULL,
	war_room         BIGINT NOT NULL,
	title            TEXT    NOT NULL,
	value            DOUBLE PRECISION,
	peak_value       DOUBLE PRECISION,
	threshold        DOUBLE PRECISION,
	opened_at        BIGINT NOT NULL,
	acknowledged_at  BIGINT,
	mitigated_at     BIGINT,
	resolved_at      BIGINT,
	updated_at       BIGINT NOT NULL,
	commander        TEXT    NOT NULL DEFAULT '',
	slack_channel_id TEXT    NOT NULL DEFAULT '',
	slack_channel    TEXT    NOT NULL DEFAULT '',
	summary_ts       TEXT    NOT NULL DEFAULT '',
	jira_key         TEXT    NOT NULL DEFAULT '',
	suspect_deploy   TEXT    NOT NULL DEFAULT '',
	truncated_alerts BIGINT NOT NULL DEFAULT 0,
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
	starts_at     BIGINT NOT NULL,
	ends_at       BIGINT NOT NULL,
	generator_url TEXT    NOT NULL,
	value         DOUBLE PRECISION,
	source        TEXT    NOT NULL,
	PRIMARY KEY (incident_id, fingerprint)
);

CREATE TABLE events (
	id          BIGSERIAL PRIMARY KEY,
	incident_id TEXT    NOT NULL REFERENCES incidents (id),
	at          BIGINT NOT NULL,
	kind        TEXT    NOT NULL,
	actor       TEXT    NOT NULL,
	text        TEXT    NOT NULL
);
CREATE INDEX events_incident ON events (incident_id, id);

CREATE TABLE jobs (
	id           BIGSERIAL PRIMARY KEY,
	kind         TEXT    NOT NULL,
	key          TEXT    NOT NULL UNIQUE,
	incident_id  TEXT    NOT NULL,
	args         TEXT    NOT NULL,
	state        TEXT    NOT NULL,
	coalesce     BIGINT NOT NULL DEFAULT 0,
	attempt      BIGINT NOT NULL DEFAULT 0,
	max_attempts BIGINT NOT NULL,
	run_at       BIGINT NOT NULL,
	locked_until BIGINT NOT NULL DEFAULT 0,
	locked_by    TEXT    NOT NULL DEFAULT '',
	last_error   TEXT    NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	finished_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_incident ON jobs (incident_id, id);
