package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render/slackmsg"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/correlate"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/rules"
)

// CorrelateExecutor runs the correlate.gather step: every source at once,
// the evidence within the budget stored first (the summary and the ticket
// wait for it, at most the budget), then what late sources bring.
type CorrelateExecutor struct {
	g     *correlate.Gatherer
	store incident.Store
	svc   *incident.Service
	rules *rules.Set
	next  incident.Executor
	log   *slog.Logger
}

var _ incident.Executor = (*CorrelateExecutor)(nil)

// NewCorrelateExecutor returns the correlation executor; next runs the
// other steps.
func NewCorrelateExecutor(g *correlate.Gatherer, store incident.Store, svc *incident.Service, set *rules.Set,
	next incident.Executor, log *slog.Logger) *CorrelateExecutor {
	return &CorrelateExecutor{g: g, store: store, svc: svc, rules: set, next: next, log: log}
}

// Execute implements incident.Executor. Gathering is pure reads, so a
// repeat only asks again.
func (x *CorrelateExecutor) Execute(ctx context.Context, j incident.Job) error {
	if !strings.HasPrefix(string(j.Kind), "correlate.") {
		return x.next.Execute(ctx, j)
	}
	inc, err := jobIncident(ctx, x.store, j)
	if err != nil {
		return err
	}
	alerts, err := x.store.Alerts(ctx, inc.ID, render.SummaryAlerts)
	if err != nil {
		return err
	}
	in := correlate.Input{Incident: inc, Alerts: alerts}
	if r, ok := x.rules.Lookup(inc.Rule); ok {
		in.Rule = r
	}
	first, late := x.g.Gather(ctx, in)
	if _, err := x.svc.RecordEvidence(ctx, inc.ID, first); err != nil {
		return fmt.Errorf("record evidence: %w", err)
	}
	if late == nil {
		return nil
	}
	if _, err := x.svc.RecordEvidence(ctx, inc.ID, late()); err != nil {
		return fmt.Errorf("record late evidence: %w", err)
	}
	return nil
}

// waitForEvidence holds the first summary and the ticket until the first
// evidence is in, so that what correlation finds within its budget is in
// them; past the budget (and a margin) they go without it and are updated
// when it comes.
//
// It waits in the job for up to a second (looking every 20 ms), which is
// how long correlation usually takes, and returns the incident with the
// evidence; a longer wait is a snooze, which frees the worker.
func waitForEvidence(ctx context.Context, store incident.Store, cfg *config.Config, inc *incident.Incident, now func() time.Time) (*incident.Incident, error) {
	deadline := inc.OpenedAt.Add(cfg.CorrelationBudget.Duration() + evidenceMargin)
	inline := now().Add(time.Second)
	for inc.Evidence == nil && now().Before(deadline) {
		if !now().Before(inline) {
			return nil, &incident.SnoozeError{Wait: 200 * time.Millisecond, Err: errors.New("waiting for the first evidence")}
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		fresh, err := store.Incident(ctx, inc.ID)
		if err != nil {
			return nil, err
		}
		inc = fresh
	}
	return inc, nil
}

// evidenceMargin is how long past the budget a summary waits for the
// evidence step to store what it found.
const evidenceMargin = time.Second

// gatherer builds the correlation from the config: the store's deploys
// always, the other sources when configured.
func (s *Server) gatherer() (*correlate.Gatherer, error) {
	src, err := s.sources()
	if err != nil {
		return nil, err
	}
	return correlate.New(src, correlate.Options{
		Budget: s.cfg.CorrelationBudget.Duration(), Lookback: s.cfg.Deploys.Lookback.Duration(),
		Upstreams: s.cfg.Deploys.Upstreams, CompareURL: s.cfg.Deploys.CompareURL, Now: s.now,
		AllowedQueries: s.cfg.Prometheus.AllowedQueries,
	}), nil
}

// rateNow says, from Prometheus, whether the incident's rate is back under
// its threshold: "" when it cannot be told (no query, no Prometheus, no
// value) within a second.
func (s *Server) rateNow(ctx context.Context, inc *incident.Incident) string {
	if s.gather == nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	alerts, err := s.store.Alerts(ctx, inc.ID, render.SummaryAlerts)
	if err != nil {
		return ""
	}
	in := correlate.Input{Incident: inc, Alerts: alerts}
	if r, ok := s.rules.Lookup(inc.Rule); ok {
		in.Rule = r
	}
	v, _, ok, err := s.gather.ValueNow(ctx, in)
	switch {
	case err != nil:
		return ":warning: Prometheus could not say whether the rate is back: " + slackmsg.Escape(render.OneLine(err.Error(), 200))
	case !ok:
		return ""
	case inc.Threshold == nil:
		return "Prometheus: " + incident.FormatValue(v) + " now."
	case v > *inc.Threshold:
		return fmt.Sprintf(":warning: Prometheus: still %s now, above the %s threshold.", incident.FormatValue(v), incident.FormatValue(*inc.Threshold))
	}
	return fmt.Sprintf(":white_check_mark: Prometheus: %s now, back under the %s threshold.", incident.FormatValue(v), incident.FormatValue(*inc.Threshold))
}

// jobIncident loads a step's incident: one that does not exist stops the
// step for good; a store that does not answer is worth a retry.
func jobIncident(ctx context.Context, store incident.Store, j incident.Job) (*incident.Incident, error) {
	inc, err := store.Incident(ctx, j.IncidentID)
	if incident.ErrorCode(err) == incident.ENOTFOUND {
		return nil, incident.Permanent(err)
	}
	return inc, err
}
