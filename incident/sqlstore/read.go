package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

const incidentColumns = `id, seq, key, service, env, rule, severity, state, war_room, title, value, peak_value, threshold,
	opened_at, acknowledged_at, mitigated_at, resolved_at, updated_at, commander, slack_channel_id, slack_channel,
	summary_ts, jira_key, suspect_deploy, truncated_alerts, last_error, comms, scribe,
	announce_channel_id, announce_ts, reported_event, evidence, unit, kind, storm, storm_linked`

const incidentColumnCount = 36

const alertColumns = `fingerprint, status, labels, annotations, grafana_values, starts_at, ends_at, generator_url, value, source`

// readCtx bounds a read by the store's timeout: a stalled database
// answers a reader with an error, not silence.
func (s *Store) readCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func incidentValues(inc *incident.Incident) []any {
	warRoom := 0
	if inc.WarRoom {
		warRoom = 1
	}
	return []any{inc.ID, inc.Seq, inc.Key, inc.Service, inc.Env, inc.Rule, string(inc.Severity), string(inc.State),
		warRoom, inc.Title, inc.Value, inc.PeakValue, inc.Threshold,
		nanos(inc.OpenedAt), optNanos(inc.AcknowledgedAt), optNanos(inc.MitigatedAt), optNanos(inc.ResolvedAt), nanos(inc.UpdatedAt),
		inc.Commander, inc.SlackChannelID, inc.SlackChannel, inc.SummaryTS, inc.JiraKey, inc.SuspectDeploy,
		inc.TruncatedAlerts, inc.LastError, inc.Comms, inc.Scribe,
		inc.AnnounceChannelID, inc.AnnounceTS, inc.ReportedEvent, evidenceJSON(inc.Evidence), string(inc.Unit),
		string(cmp.Or(inc.Kind, incident.KindIncident)), inc.Storm, strings.Join(inc.Linked, ",")}
}

type scanner interface{ Scan(dest ...any) error }

// scanIncident scans the incidentColumns, then any extra columns into extra.
func scanIncident(row scanner, extra ...any) (*incident.Incident, error) {
	var inc incident.Incident
	var severity, state string
	var warRoom, opened, updated int64
	var ack, mit, res sql.NullInt64
	var value, peak, threshold sql.NullFloat64
	var evidence, unit, kind, linked string
	err := row.Scan(append([]any{&inc.ID, &inc.Seq, &inc.Key, &inc.Service, &inc.Env, &inc.Rule, &severity, &state, &warRoom, &inc.Title,
		&value, &peak, &threshold, &opened, &ack, &mit, &res, &updated, &inc.Commander, &inc.SlackChannelID,
		&inc.SlackChannel, &inc.SummaryTS, &inc.JiraKey, &inc.SuspectDeploy, &inc.TruncatedAlerts, &inc.LastError, &inc.Comms, &inc.Scribe,
		&inc.AnnounceChannelID, &inc.AnnounceTS, &inc.ReportedEvent, &evidence, &unit, &kind, &inc.Storm, &linked}, extra...)...)
	if err != nil {
		return nil, err
	}
	inc.Severity, inc.State, inc.WarRoom, inc.Unit = incident.Severity(severity), incident.State(state), warRoom != 0, incident.Unit(unit)
	inc.Kind = incident.Kind(kind)
	if linked != "" {
		inc.Linked = strings.Split(linked, ",")
	}
	inc.Value, inc.PeakValue, inc.Threshold = optFloat(value), optFloat(peak), optFloat(threshold)
	inc.OpenedAt, inc.UpdatedAt = fromNanos(opened), fromNanos(updated)
	inc.AcknowledgedAt, inc.MitigatedAt, inc.ResolvedAt = optTime(ack), optTime(mit), optTime(res)
	if evidence != "" {
		inc.Evidence = &incident.Evidence{}
		if err := json.Unmarshal([]byte(evidence), inc.Evidence); err != nil {
			return nil, fmt.Errorf("decode evidence of %s: %w", inc.ID, err)
		}
	}
	return &inc, nil
}

func scanAlert(row scanner) (*incident.Alert, error) {
	var a incident.Alert
	var status, labels, annotations, values, source string
	var starts, ends int64
	var value sql.NullFloat64
	if err := row.Scan(&a.Fingerprint, &status, &labels, &annotations, &values, &starts, &ends, &a.GeneratorURL, &value, &source); err != nil {
		return nil, err
	}
	a.Status, a.Source = incident.AlertStatus(status), incident.Source(source)
	a.StartsAt, a.EndsAt, a.Value = fromNanos(starts), fromNanos(ends), optFloat(value)
	if err := errors.Join(json.Unmarshal([]byte(labels), &a.Labels), json.Unmarshal([]byte(annotations), &a.Annotations),
		json.Unmarshal([]byte(values), &a.Values)); err != nil {
		return nil, fmt.Errorf("decode alert %s: %w", a.Fingerprint, err)
	}
	return &a, nil
}

// Incident implements incident.Store.
func (s *Store) Incident(ctx context.Context, id string) (*incident.Incident, error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	inc, err := scanIncident(s.read.QueryRowContext(ctx, s.rebind(`SELECT `+incidentColumns+` FROM incidents WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, incident.Errorf(incident.ENOTFOUND, "no incident %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load incident %s: %w", id, err)
	}
	return inc, s.children(ctx, inc)
}

// children fills in a storm's Children, oldest first.
func (s *Store) children(ctx context.Context, inc *incident.Incident) error {
	if !inc.IsStorm() {
		return nil
	}
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT id, state FROM incidents WHERE storm = ? AND storm <> '' ORDER BY seq`), inc.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: children of %s: %w", inc.ID, err)
	}
	defer rows.Close()
	inc.Children, inc.ChildrenOpen = []string{}, 0
	for rows.Next() {
		var id, state string
		if err := rows.Scan(&id, &state); err != nil {
			return fmt.Errorf("sqlstore: children of %s: %w", inc.ID, err)
		}
		inc.Children = append(inc.Children, id)
		if incident.State(state).Open() {
			inc.ChildrenOpen++
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: children of %s: %w", inc.ID, err)
	}
	return nil
}

// IncidentByChannel implements incident.Store.
func (s *Store) IncidentByChannel(ctx context.Context, channelID string) (*incident.Incident, error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	inc, err := scanIncident(s.read.QueryRowContext(ctx, s.rebind(`SELECT `+incidentColumns+` FROM incidents
		WHERE slack_channel_id = ? AND slack_channel_id <> '' ORDER BY seq DESC LIMIT 1`), channelID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, incident.Errorf(incident.ENOTFOUND, "no incident has channel %s", channelID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load incident of channel %s: %w", channelID, err)
	}
	return inc, s.children(ctx, inc)
}

// DefaultLimit bounds an incident listing.
const DefaultLimit = 200

// Incidents implements incident.Store: newest first.
func (s *Store) Incidents(ctx context.Context, f incident.Filter) ([]*incident.Incident, error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	var where []string
	var args []any
	if !f.All && f.Storm == "" {
		where = append(where, "(war_room = 1 OR storm <> '')")
	}
	if f.Storm != "" {
		where = append(where, "storm = ? AND storm <> ''")
		args = append(args, f.Storm)
	}
	if f.State != "" {
		where = append(where, "state = ?")
		args = append(args, string(f.State))
	}
	if f.Service != "" {
		where = append(where, "service = ?")
		args = append(args, f.Service)
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	switch {
	case f.Storm != "":
		// A storm's children as its room lists them, breaching first;
		// all of them unless asked for fewer: the room's "…and N more"
		// sends responders here.
		q += " ORDER BY CASE WHEN state = 'resolved' THEN 1 ELSE 0 END, seq"
		if f.Limit > 0 {
			q += " LIMIT ?"
			args = append(args, f.Limit)
		}
	default:
		limit := f.Limit
		if limit <= 0 {
			limit = DefaultLimit
		}
		q += " ORDER BY seq DESC LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.read.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list incidents: %w", err)
	}
	defer rows.Close()
	out := []*incident.Incident{}
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list incidents: %w", err)
		}
		out = append(out, inc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list incidents: %w", err)
	}
	rows.Close()
	for _, inc := range out {
		if err := s.children(ctx, inc); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Alerts implements incident.Store.
func (s *Store) Alerts(ctx context.Context, incidentID string, limit int) ([]incident.Alert, error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT `+alertColumns+` FROM alerts WHERE incident_id = ?
		ORDER BY CASE WHEN status = 'firing' THEN 0 ELSE 1 END, starts_at, fingerprint LIMIT ?`), incidentID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list alerts: %w", err)
	}
	defer rows.Close()
	out := []incident.Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list alerts: %w", err)
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// CountAlerts implements incident.Store.
func (s *Store) CountAlerts(ctx context.Context, incidentID string) (total, firing int, err error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	err = s.read.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'firing' THEN 1 ELSE 0 END), 0)
		FROM alerts WHERE incident_id = ?`), incidentID).Scan(&total, &firing)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlstore: count alerts: %w", err)
	}
	return total, firing, nil
}

// Timeline implements incident.Store: the whole timeline, in order.
func (s *Store) Timeline(ctx context.Context, incidentID string) ([]incident.Event, error) {
	return s.TimelinePage(ctx, incidentID, 0, 0)
}

// TimelineSince implements incident.Store.
func (s *Store) TimelineSince(ctx context.Context, incidentID string, since int64) ([]incident.Event, error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT id, incident_id, at, kind, actor, text FROM events
		WHERE incident_id = ? AND id > ? ORDER BY at, id`), incidentID, since)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: timeline: %w", err)
	}
	return scanEvents(rows)
}

// Jobs implements incident.Store.
func (s *Store) Jobs(ctx context.Context, incidentID string) ([]incident.JobStatus, error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	rows, err := s.read.QueryContext(ctx, s.rebind(`SELECT id, kind, key, incident_id, args, run_at, attempt, max_attempts, state, last_error
		FROM jobs WHERE incident_id = ? ORDER BY id`), incidentID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: jobs: %w", err)
	}
	defer rows.Close()
	out := []incident.JobStatus{}
	for rows.Next() {
		var j incident.JobStatus
		var kind, args, state string
		var runAt int64
		if err := rows.Scan(&j.ID, &kind, &j.Key, &j.IncidentID, &args, &runAt, &j.Attempt, &j.MaxAttempt, &state, &j.LastError); err != nil {
			return nil, fmt.Errorf("sqlstore: jobs: %w", err)
		}
		j.Kind, j.Args, j.RunAt, j.State = incident.JobKind(kind), json.RawMessage(args), fromNanos(runAt), incident.JobOutcome(state)
		out = append(out, j)
	}
	return out, rows.Err()
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func optNanos(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func optTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

func optFloat(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	v := f.Float64
	return &v
}

// Counts implements incident.Store.
func (s *Store) Counts(ctx context.Context) ([]incident.Count, error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	rows, err := s.read.QueryContext(ctx, `SELECT state, war_room, COUNT(*) FROM incidents GROUP BY state, war_room`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: count incidents: %w", err)
	}
	defer rows.Close()
	var out []incident.Count
	for rows.Next() {
		var c incident.Count
		var state string
		var warRoom int
		if err := rows.Scan(&state, &warRoom, &c.N); err != nil {
			return nil, fmt.Errorf("sqlstore: count incidents: %w", err)
		}
		c.State, c.WarRoom = incident.State(state), warRoom != 0
		out = append(out, c)
	}
	return out, rows.Err()
}

// JobQueue implements incident.Store: two reads on the index of due jobs
// (state, run_at), whose cost grows with the jobs waiting, running or
// failed for good, never with the completed ones that pile up.
func (s *Store) JobQueue(ctx context.Context, now time.Time) (incident.JobQueue, error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	var q incident.JobQueue
	rows, err := s.read.QueryContext(ctx, `SELECT kind, state, COUNT(*) FROM jobs
		WHERE state IN ('available', 'running', 'failed') GROUP BY kind, state`)
	if err != nil {
		return q, fmt.Errorf("sqlstore: count jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c incident.JobCount
		var kind, state string
		if err := rows.Scan(&kind, &state, &c.N); err != nil {
			return q, fmt.Errorf("sqlstore: count jobs: %w", err)
		}
		c.Kind, c.State = incident.JobKind(kind), incident.JobOutcome(state)
		q.Counts = append(q.Counts, c)
	}
	if err := rows.Err(); err != nil {
		return q, fmt.Errorf("sqlstore: count jobs: %w", err)
	}
	var oldest sql.NullInt64
	if err := s.read.QueryRowContext(ctx, s.rebind(`SELECT MIN(run_at) FROM jobs WHERE state = 'available' AND run_at <= ?`),
		nanos(now)).Scan(&oldest); err != nil {
		return q, fmt.Errorf("sqlstore: oldest due job: %w", err)
	}
	if oldest.Valid {
		q.OldestDue = fromNanos(oldest.Int64)
	}
	return q, nil
}

// evidenceJSON stores evidence as JSON, "" for none.
func evidenceJSON(ev *incident.Evidence) string {
	if ev == nil {
		return ""
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return "" // plain data: cannot fail
	}
	return string(b)
}

// Deploys implements incident.Store.
func (s *Store) Deploys(ctx context.Context, f incident.DeployFilter) ([]incident.Deploy, error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	var where []string
	var args []any
	if f.Service != "" {
		where, args = append(where, "service = ?"), append(args, f.Service)
	}
	if f.Env != "" {
		where, args = append(where, "env = ?"), append(args, f.Env)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "finished_at >= ?"), append(args, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "finished_at <= ?"), append(args, nanos(f.Until))
	}
	q := `SELECT ` + deployColumns + ` FROM deploys`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > DefaultLimit {
		limit = DefaultLimit
	}
	q += fmt.Sprintf(" ORDER BY finished_at DESC, id DESC LIMIT %d", limit)
	rows, err := s.read.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: deploys: %w", err)
	}
	defer rows.Close()
	var out []incident.Deploy
	for rows.Next() {
		var d incident.Deploy
		if err := scanDeploy(rows, &d); err != nil {
			return nil, fmt.Errorf("sqlstore: deploys: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
