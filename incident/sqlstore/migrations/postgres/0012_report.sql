-- The report (warroom report, GET /api/v1/report) reads the incidents
-- opened since a time, and, for those with a suspect deploy, whether a
-- rollback was requested on their timeline: one probe of an index that
-- holds only the rollback requests.
CREATE INDEX incidents_opened ON incidents (opened_at);
CREATE INDEX events_rollbacks ON events (incident_id) WHERE kind = 'rollback_requested';
