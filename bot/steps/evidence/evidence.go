// Package evidence runs the correlation step: it asks every source at
// once (the deploy history, a GitOps repository, Grafana, Jaeger,
// Prometheus) through package correlate, stores what comes within the
// budget, then what late sources bring. It also builds those sources from
// their typed clients, and answers whether an incident's rate is back
// under its threshold.
package evidence

import (
	"context"
	"fmt"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/correlate"
	"github.com/warroom/warroom/incident"
)

// Executor runs the correlate.gather step: every source at once, the
// evidence within the budget stored first (the summary and the ticket wait
// for it, at most the budget), then what late sources bring.
type Executor struct {
	g *correlate.Gatherer
	d steps.Deps
}

var _ incident.Executor = (*Executor)(nil)

// Kinds are the steps the evidence executor runs.
func Kinds() []incident.JobKind { return []incident.JobKind{incident.JobCorrelateGather} }

// New returns the evidence executor.
func New(g *correlate.Gatherer, d steps.Deps) *Executor { return &Executor{g: g, d: d} }

// Execute implements incident.Executor. Gathering is pure reads, so a
// repeat only asks again.
func (x *Executor) Execute(ctx context.Context, j incident.Job) error {
	inc, err := steps.Incident(ctx, x.d.Store, j)
	if err != nil {
		return err
	}
	alerts, err := x.d.Store.Alerts(ctx, inc.ID, render.SummaryAlerts)
	if err != nil {
		return err
	}
	in := correlate.Input{Incident: inc, Alerts: alerts}
	if r, ok := x.d.Rules.Lookup(inc.Rule); ok {
		in.Rule = r
	}
	first, late := x.g.Gather(ctx, in)
	if _, err := x.d.Service.RecordEvidence(ctx, inc.ID, first); err != nil {
		return fmt.Errorf("record evidence: %w", err)
	}
	if late == nil {
		return nil
	}
	if _, err := x.d.Service.RecordEvidence(ctx, inc.ID, late()); err != nil {
		return fmt.Errorf("record late evidence: %w", err)
	}
	return nil
}

// ValueNow asks Prometheus for the incident's value now (its rule's query,
// or the allowed alert expression): ok is false when it cannot be told (no
// query, no Prometheus, no value, or the incident's alerts cannot be read).
func (x *Executor) ValueNow(ctx context.Context, inc *incident.Incident) (v float64, ok bool, err error) {
	alerts, err := x.d.Store.Alerts(ctx, inc.ID, render.SummaryAlerts)
	if err != nil {
		return 0, false, nil
	}
	in := correlate.Input{Incident: inc, Alerts: alerts}
	if r, ok := x.d.Rules.Lookup(inc.Rule); ok {
		in.Rule = r
	}
	v, _, ok, err = x.g.ValueNow(ctx, in)
	return v, ok, err
}
