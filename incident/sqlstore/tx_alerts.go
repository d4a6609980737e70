package sqlstore

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/warroom/warroom/incident"
)

type alertKey struct{ incident, fingerprint string }

type bufferedAlert struct {
	incident string
	alert    incident.Alert
}

func (t *txn) Alert(incidentID, fingerprint string) (*incident.Alert, error) {
	if i, ok := t.alertIdx[alertKey{incidentID, fingerprint}]; ok {
		a := t.alerts[i].alert
		return &a, nil
	}
	a, err := scanAlert(t.queryRow(`SELECT `+alertColumns+` FROM alerts WHERE incident_id = ? AND fingerprint = ?`, incidentID, fingerprint))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load alert %s: %w", fingerprint, err)
	}
	return a, nil
}

// knownFingerprints returns the fingerprints an incident holds, kept by
// the writer loop and loaded once per incident, or nil when there is no
// such memory: on PostgreSQL when this transaction has not locked the
// incident (and so cannot trust it), and under Options.NoCache.
func (t *txn) knownFingerprints(incidentID string) (map[string]bool, error) {
	version, locked := t.versions[incidentID]
	if t.s.driver == Postgres && !locked || !t.w.fps.enabled() {
		return nil, nil
	}
	if c, ok := t.w.fps.get(incidentID); ok {
		return c.set, nil
	}
	set := map[string]bool{}
	err := t.query(`SELECT fingerprint FROM alerts WHERE incident_id = ?`, []any{incidentID}, func(row scanner) error {
		var fp string
		if err := row.Scan(&fp); err != nil {
			return err
		}
		set[fp] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load fingerprints: %w", err)
	}
	t.w.fps.put(incidentID, &fingerprints{version: version, set: set})
	return set, nil
}

func (t *txn) InsertAlert(incidentID string, a *incident.Alert) (bool, error) {
	k := alertKey{incidentID, a.Fingerprint}
	if _, ok := t.alertIdx[k]; ok {
		return false, nil
	}
	known, err := t.knownFingerprints(incidentID)
	if err != nil {
		return false, err
	}
	if known == nil {
		// No memory of the fingerprints (PostgreSQL with the incident not
		// locked here, or Options.NoCache): the insert itself says
		// whether the alert is new.
		labels, _ := json.Marshal(a.Labels)
		annotations, _ := json.Marshal(a.Annotations)
		values, _ := json.Marshal(a.Values)
		res, err := t.exec(`INSERT INTO alerts (incident_id, `+alertColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (incident_id, fingerprint) DO NOTHING`,
			incidentID, a.Fingerprint, string(a.Status), string(labels), string(annotations), string(values),
			nanos(a.StartsAt), nanos(a.EndsAt), a.GeneratorURL, a.Value, string(a.Source))
		if err != nil {
			return false, fmt.Errorf("insert alert %s: %w", a.Fingerprint, err)
		}
		n, err := res.RowsAffected()
		return n > 0, err
	}
	if known[a.Fingerprint] {
		return false, nil
	}
	t.learn(known, k)
	t.bufferAlert(incidentID, a)
	return true, nil
}

func (t *txn) PutAlert(incidentID string, a *incident.Alert) error {
	k := alertKey{incidentID, a.Fingerprint}
	if c, _ := t.w.fps.get(incidentID); c != nil && !c.set[a.Fingerprint] {
		t.learn(c.set, k)
	} else if c == nil && t.s.driver == Postgres {
		// A new alert may be going in: writers trusting their
		// fingerprints of this incident must see the version move.
		t.bumped = append(t.bumped, incidentID)
	}
	t.bufferAlert(incidentID, a)
	return nil
}

// learn adds a new alert's fingerprint to the writer's set, to forget if
// the writer is undone; on PostgreSQL the incident's version goes up.
func (t *txn) learn(known map[string]bool, k alertKey) {
	known[k.fingerprint] = true
	t.touchedFPs = append(t.touchedFPs, k)
	if t.s.driver == Postgres {
		t.bumped = append(t.bumped, k.incident)
	}
}

func (t *txn) bufferAlert(incidentID string, a *incident.Alert) {
	k := alertKey{incidentID, a.Fingerprint}
	if t.alertIdx == nil {
		t.alertIdx = map[alertKey]int{}
	}
	if i, ok := t.alertIdx[k]; ok {
		t.alerts[i].alert = *a
		return
	}
	t.alertIdx[k] = len(t.alerts)
	t.alerts = append(t.alerts, bufferedAlert{incident: incidentID, alert: *a})
}

// flushAlerts writes the buffered alerts with multi-row upserts.
func (t *txn) flushAlerts() error {
	if t.pg != nil {
		return t.flushAlertsPostgres()
	}
	for chunk := range slices.Chunk(t.alerts, flushChunk) {
		args := make([]any, 0, 11*len(chunk))
		for _, b := range chunk {
			a := &b.alert
			labels, _ := json.Marshal(a.Labels)
			annotations, _ := json.Marshal(a.Annotations)
			values, _ := json.Marshal(a.Values)
			args = append(args, b.incident, a.Fingerprint, string(a.Status), string(labels), string(annotations), string(values),
				nanos(a.StartsAt), nanos(a.EndsAt), a.GeneratorURL, a.Value, string(a.Source))
		}
		if _, err := t.exec(`INSERT INTO alerts (incident_id, `+alertColumns+`) VALUES `+rows(len(chunk), 11)+`
		ON CONFLICT (incident_id, fingerprint) DO UPDATE SET status = excluded.status, labels = excluded.labels,
		annotations = excluded.annotations, grafana_values = excluded.grafana_values, starts_at = excluded.starts_at,
		ends_at = excluded.ends_at, generator_url = excluded.generator_url, value = excluded.value, source = excluded.source`, args...); err != nil {
			return fmt.Errorf("put alerts: %w", err)
		}
	}
	t.alerts = t.alerts[:0]
	clear(t.alertIdx)
	return nil
}

func (t *txn) FiringAlerts(incidentID string) (int, error) {
	if err := t.flushAlerts(); err != nil {
		return 0, err
	}
	var n int
	if err := t.queryRow(`SELECT COUNT(*) FROM alerts WHERE incident_id = ? AND status = 'firing'`, incidentID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count firing alerts: %w", err)
	}
	return n, nil
}

func (t *txn) WorstFiringAlert(incidentID string, lowest bool) (*incident.Alert, error) {
	if err := t.flushAlerts(); err != nil {
		return nil, err
	}
	order := "DESC"
	if lowest {
		order = "ASC"
	}
	a, err := scanAlert(t.queryRow(`SELECT `+alertColumns+` FROM alerts
	WHERE incident_id = ? AND status = 'firing' AND value IS NOT NULL ORDER BY value `+order+` LIMIT 1`, incidentID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load worst firing alert: %w", err)
	}
	return a, nil
}
