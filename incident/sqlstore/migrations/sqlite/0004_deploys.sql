-- Deploys recorded by CI, Argo CD or read from a GitOps repository, and
-- the evidence correlation found for each incident (JSON).
CREATE TABLE deploys (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	service      TEXT    NOT NULL,
	env          TEXT    NOT NULL,
	sha          TEXT    NOT NULL,
	previous_sha TEXT    NOT NULL,
	version      TEXT    NOT NULL,
	author       TEXT    NOT NULL,
	url          TEXT    NOT NULL,
	finished_at  INTEGER NOT NULL,
	source       TEXT    NOT NULL,
	received_at  INTEGER NOT NULL
);
CREATE INDEX deploys_service ON deploys (service, finished_at);
CREATE UNIQUE INDEX deploys_once ON deploys (service, env, sha, finished_at);
ALTER TABLE incidents ADD COLUMN evidence TEXT NOT NULL DEFAULT '';
