-- The value history of each incident, for the incident page's chart: a
-- point when the incident's value changes, at most one per incident and
-- interval (incident.ValueInterval; bucket is the point's time divided by
-- it), the first of the interval, so that a storm's changes do not
-- multiply the rows.
CREATE TABLE value_points (
	incident_id TEXT             NOT NULL REFERENCES incidents (id),
	bucket      INTEGER          NOT NULL,
	at          INTEGER          NOT NULL,
	value       REAL             NOT NULL,
	PRIMARY KEY (incident_id, bucket)
);
