-- The W3C traceparent of the span that enqueued the job ('' without
-- tracing): the job's run continues that trace, on any replica.
ALTER TABLE jobs ADD COLUMN trace_parent TEXT NOT NULL DEFAULT '';
