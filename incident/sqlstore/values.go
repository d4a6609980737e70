package sqlstore

import (
	"context"
	"fmt"

	"github.com/warroom/warroom/incident"
)

// valuePoint is a point of an incident's value history waiting for the
// commit, with the interval it falls in.
type valuePoint struct {
	incident.ValuePoint
	incidentID string
	bucket     int64
}

// AddValuePoint implements incident.Tx: the point waits for the batch's
// commit, where the first point of each interval goes in and the others
// (of this batch or in the table already) write nothing.
func (t *txn) AddValuePoint(incidentID string, p incident.ValuePoint) error {
	t.points = append(t.points, valuePoint{ValuePoint: p, incidentID: incidentID, bucket: valueBucket(p)})
	return nil
}

// valueBucket is the interval of incident.ValueInterval that p falls in.
func valueBucket(p incident.ValuePoint) int64 {
	n := p.At.UnixNano()
	b := n / int64(incident.ValueInterval)
	if n < 0 && n%int64(incident.ValueInterval) != 0 {
		b-- // floor, before 1970 too
	}
	return b
}

// valuePoints are the points waiting, the first of each incident and
// interval: one statement may not name a row twice.
func (t *txn) valuePoints() []valuePoint {
	if len(t.points) < 2 {
		return t.points
	}
	type key struct {
		id     string
		bucket int64
	}
	seen := make(map[key]bool, len(t.points))
	out := t.points[:0:0]
	for _, p := range t.points {
		k := key{p.incidentID, p.bucket}
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}

// ValuePoints implements incident.Store.
func (s *Store) ValuePoints(ctx context.Context, incidentID string, limit int) ([]incident.ValuePoint, error) {
	ctx, cancel := s.readCtx(ctx)
	defer cancel()
	q, args := `SELECT at, value FROM value_points WHERE incident_id = ? ORDER BY bucket`, []any{incidentID}
	if limit > 0 {
		q = `SELECT at, value FROM (SELECT bucket, at, value FROM value_points WHERE incident_id = ? ORDER BY bucket DESC LIMIT ?) AS newest ORDER BY bucket`
		args = append(args, limit)
	}
	rows, err := s.read.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: value points: %w", err)
	}
	defer rows.Close()
	out := []incident.ValuePoint{}
	for rows.Next() {
		var at int64
		var p incident.ValuePoint
		if err := rows.Scan(&at, &p.Value); err != nil {
			return nil, fmt.Errorf("sqlstore: value points: %w", err)
		}
		p.At = fromNanos(at)
		out = append(out, p)
	}
	return out, rows.Err()
}
