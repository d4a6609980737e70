-- A deploy is recorded once: a CI job that retries sends the same service,
-- env and SHA again with a later finish time (it defaults to now), so the
-- unique index on the exact finish time let every retry through. The store
-- now finds the recorded deploy of that SHA within ten minutes (by the
-- index deploys_sha) or by the caller's idempotency key (unique).
DROP INDEX deploys_once;
ALTER TABLE deploys ADD COLUMN idempotency_key TEXT NOT NULL DEFAULT '';
CREATE INDEX deploys_sha ON deploys (service, env, sha, finished_at);
CREATE UNIQUE INDEX deploys_key ON deploys (idempotency_key) WHERE idempotency_key <> '';
