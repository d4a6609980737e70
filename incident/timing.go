package incident

import "time"

// Timing is a war room reaching a milestone, for the metrics of time to
// acknowledge and time to resolve (Options.WarRoomTimed).
type Timing struct {
	Rule     string
	Severity Severity
	// To is Acknowledged, for the first acknowledge (or a mitigate before
	// any: someone is on it), or Resolved, for a resolve.
	To State
	// After is the time since the incident opened: acknowledged_at (or
	// mitigated_at) or resolved_at minus opened_at, as the report reads it.
	After time.Duration
}

// timed wraps tx to collect the timings of the transitions the
// transaction function makes, which are reported once it committed
// (Service.reportTimings). The list restarts with every run of the
// function: a run that is undone observes nothing.
func timed(tx Tx, out *[]Timing) Tx {
	*out = (*out)[:0]
	return &timingTx{Tx: tx, out: out}
}

type timingTx struct {
	Tx
	out *[]Timing
}

// noteTiming records that c's war room reached to, on the transaction
// that made it. Only war rooms count: a recorded incident has no one to
// acknowledge it, and a storm's child is acknowledged and resolved in
// its storm's room (its storm is timed, under the rule "storm").
func noteTiming(c *change, to State) {
	if !c.inc.WarRoom {
		return
	}
	if t, ok := c.tx.(*timingTx); ok {
		*t.out = append(*t.out, Timing{Rule: c.inc.Rule, Severity: c.inc.Severity, To: to, After: c.now.Sub(c.inc.OpenedAt)})
	}
}

// reportTimings tells the timings of a committed transaction.
func (s *Service) reportTimings(ts []Timing) {
	if s.opts.WarRoomTimed == nil {
		return
	}
	for _, t := range ts {
		s.opts.WarRoomTimed(t)
	}
}
