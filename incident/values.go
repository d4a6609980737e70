package incident

import (
	"math"
	"time"
)

// ValuePoint is an incident's value at one moment: its history is what
// the incident page draws (the value over time).
type ValuePoint struct {
	At    time.Time `json:"at"`
	Value float64   `json:"value"`
}

// ValueInterval is the width of the intervals of an incident's value
// history: the store keeps at most one point of an incident per interval
// (the first), so that a storm's thousand changes a minute are one row,
// and a month-long incident at most 43,200.
const ValueInterval = time.Minute

// setValue makes v the incident's value and, when that changes it, a
// point of its history at now (a number that is not finite is no point:
// the chart has no place for it).
func setValue(tx Tx, inc *Incident, v float64, now time.Time) error {
	changed := inc.Value == nil || *inc.Value != v
	inc.Value = &v
	if !changed || math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return tx.AddValuePoint(inc.ID, ValuePoint{At: now, Value: v})
}
