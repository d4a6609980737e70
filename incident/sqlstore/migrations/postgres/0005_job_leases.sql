-- Leases renewed by a heartbeat (issue 9): runs counts every claim and
-- fences off a run that lost its lease; claimed_at and prev_claimed_at
-- tell a run when the last earlier run that may have reached the outside
-- started.
ALTER TABLE jobs ADD COLUMN runs BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN claimed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN prev_claimed_at BIGINT NOT NULL DEFAULT 0;
UPDATE jobs SET runs = attempt;
