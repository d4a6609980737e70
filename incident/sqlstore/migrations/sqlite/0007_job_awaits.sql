-- The step a snoozed job waits for (the evidence, for the first summary and
-- the ticket): when that step records its result, the job is made due at
-- once instead of at the end of its snooze.
ALTER TABLE jobs ADD COLUMN awaits TEXT NOT NULL DEFAULT '';
