package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/warroom/warroom/incident"
)

// ReportIncidents implements incident.Store: one row per incident opened
// since then, found by the index incidents_opened; whether a rollback was
// requested is one probe of the partial index events_rollbacks, asked
// only for an incident with a suspect deploy, and the alerts are counted
// (by the alerts' primary key) only for a recorded incident (migration
// 0012).
func (s *Store) ReportIncidents(ctx context.Context, since time.Time) ([]incident.ReportIncident, error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT i.service, i.war_room, i.storm, i.opened_at,
		i.acknowledged_at, i.mitigated_at, i.resolved_at,
		CASE WHEN i.suspect_deploy <> '' THEN 1 ELSE 0 END,
		CASE WHEN i.suspect_deploy <> '' AND EXISTS (SELECT 1 FROM events e
			WHERE e.incident_id = i.id AND e.kind = 'rollback_requested') THEN 1 ELSE 0 END,
		CASE WHEN i.war_room = 0 AND i.storm = '' THEN (SELECT COUNT(*) FROM alerts a WHERE a.incident_id = i.id) ELSE 0 END
		FROM incidents i WHERE i.opened_at >= ?`), nanos(since))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: report: %w", err)
	}
	defer rows.Close()
	out := []incident.ReportIncident{}
	for rows.Next() {
		var r incident.ReportIncident
		var warRoom, suspect, rolledBack int
		var storm string
		var opened int64
		var ack, mit, res sql.NullInt64
		if err := rows.Scan(&r.Service, &warRoom, &storm, &opened, &ack, &mit, &res, &suspect, &rolledBack, &r.Alerts); err != nil {
			return nil, fmt.Errorf("sqlstore: report: %w", err)
		}
		r.WarRoom, r.InStorm, r.Suspect, r.RollbackRequested = warRoom != 0, storm != "", suspect != 0, rolledBack != 0
		r.OpenedAt, r.AcknowledgedAt, r.MitigatedAt, r.ResolvedAt = fromNanos(opened), optTime(ack), optTime(mit), optTime(res)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: report: %w", err)
	}
	return out, nil
}
