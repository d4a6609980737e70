// Package correlate gathers the evidence of an incident: the deploys
// before it (and the suspect among them), the rollback suggestion, the
// Grafana boards of the alert window, the failing traces and the value
// from Prometheus. Every source is asked at once under one budget; what
// answers within it is the first evidence, what answers later is added,
// and a source that fails or does not answer is named, never fatal.
package correlate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/rules"
)

// The sources, as small interfaces the composition root adapts the
// integration clients to.

// DeployLister lists recorded deploys (the store).
type DeployLister interface {
	Deploys(ctx context.Context, f incident.DeployFilter) ([]incident.Deploy, error)
}

// DeployHistory reads deploys from elsewhere (a GitOps repository).
type DeployHistory interface {
	History(ctx context.Context, service string, since time.Time) ([]incident.Deploy, error)
}

// DashboardFinder returns the boards of an incident for a time window.
type DashboardFinder interface {
	Dashboards(ctx context.Context, rule *rules.Rule, data rules.TemplateData, from, to time.Time) ([]incident.EvidenceLink, error)
}

// TraceFinder returns failing traces of a service in a window, and a link
// to the search.
type TraceFinder interface {
	FailingTraces(ctx context.Context, service string, start, end time.Time, limit int) ([]incident.Trace, error)
	SearchURL(service string, start, end time.Time) string
}

// Metrics evaluates an expression at a time.
type Metrics interface {
	Value(ctx context.Context, expr string, at time.Time) (float64, bool, error)
}

// Sources are what Gather asks; nil ones are not configured.
type Sources struct {
	Deploys    DeployLister
	Git        DeployHistory
	Grafana    DashboardFinder
	Jaeger     TraceFinder
	Prometheus Metrics
}

// Options tune a Gatherer.
type Options struct {
	// Budget bounds the first evidence; default 3s.
	Budget time.Duration
	// Late bounds how long late sources are waited for; default 20s.
	Late time.Duration
	// Lookback: a deploy that finished this long before the alert started,
	// or less, is a suspect; default 2h.
	Lookback time.Duration
	// Upstreams lists, per service, the services whose deploys may break it.
	Upstreams map[string][]string
	// CompareURL is a template for the suspect's diff link.
	CompareURL string
	// AllowedQueries are the expressions of alerts' generatorURLs that may
	// be sent to Prometheus when the rule has no value.query. The alert
	// chooses its generatorURL, so any other expression is not asked.
	AllowedQueries []string
	// MaxTraces bounds the failing traces shown; default 5.
	MaxTraces int
	Now       func() time.Time
}

// Gatherer gathers evidence.
type Gatherer struct {
	src  Sources
	opts Options
}

// New returns a Gatherer.
func New(src Sources, opts Options) *Gatherer {
	if opts.Budget <= 0 {
		opts.Budget = 3 * time.Second
	}
	if opts.Late <= 0 {
		opts.Late = 20 * time.Second
	}
	if opts.Lookback <= 0 {
		opts.Lookback = 2 * time.Hour
	}
	if opts.MaxTraces <= 0 {
		opts.MaxTraces = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Gatherer{src: src, opts: opts}
}

// Input is the incident to gather for.
type Input struct {
	Incident *incident.Incident
	Alerts   []incident.Alert
	Rule     *rules.Rule // nil: the incident's rule is unknown (declared by hand)
}

// part is one source's contribution.
type part struct {
	name  string
	apply func(ev *incident.Evidence)
	err   error
}

// Gather asks every source at once. It returns the evidence found within
// the budget, and late, which is nil when nothing is pending and otherwise
// waits for the pending sources (at most Options.Late after the start) and
// returns the evidence with them.
func (g *Gatherer) Gather(ctx context.Context, in Input) (first *incident.Evidence, late func() *incident.Evidence) {
	start := g.opts.Now()
	ctx, cancel := context.WithTimeout(ctx, g.opts.Late)
	window := g.window(in)
	data := templateData(in)

	type source struct {
		name string
		run  func(context.Context) (func(*incident.Evidence), error)
	}
	sources := []source{{"deploys", func(ctx context.Context) (func(*incident.Evidence), error) { return g.deploys(ctx, in, window, data) }}}
	if g.src.Grafana != nil && in.Rule != nil && (len(in.Rule.Grafana.Dashboards) > 0 || in.Rule.Grafana.Tag != "") {
		sources = append(sources, source{"Grafana", func(ctx context.Context) (func(*incident.Evidence), error) {
			links, err := g.src.Grafana.Dashboards(ctx, in.Rule, data, window.from, window.to)
			return func(ev *incident.Evidence) { ev.Dashboards = links }, err
		}})
	}
	if g.src.Jaeger != nil && in.Incident.Service != "" {
		sources = append(sources, source{"Jaeger", func(ctx context.Context) (func(*incident.Evidence), error) {
			traces, err := g.src.Jaeger.FailingTraces(ctx, in.Incident.Service, window.from, window.to, g.opts.MaxTraces)
			url := g.src.Jaeger.SearchURL(in.Incident.Service, window.from, window.to)
			return func(ev *incident.Evidence) { ev.Traces, ev.TracesURL = traces, url }, err
		}})
	}
	if g.src.Prometheus != nil {
		switch expr, why := g.query(in, data); {
		case expr != "":
			sources = append(sources, source{"Prometheus", func(ctx context.Context) (func(*incident.Evidence), error) {
				return g.values(ctx, expr, window)
			}})
		case why != "":
			sources = append(sources, source{"Prometheus", func(context.Context) (func(*incident.Evidence), error) {
				return nil, errors.New(why)
			}})
		}
	}

	results := make(chan part, len(sources))
	for _, s := range sources {
		go func() {
			apply, err := s.run(ctx)
			results <- part{name: s.name, apply: apply, err: err}
		}()
	}
	var mu sync.Mutex
	var done []part
	pending := map[string]bool{}
	for _, s := range sources {
		pending[s.name] = true
	}
	collect := func(deadline <-chan struct{}) {
		for len(pending) > 0 {
			select {
			case p := <-results:
				mu.Lock()
				done = append(done, p)
				delete(pending, p.name)
				mu.Unlock()
			case <-deadline:
				return
			}
		}
	}
	budget, stopBudget := context.WithTimeout(context.Background(), g.opts.Budget)
	collect(budget.Done())
	stopBudget()

	build := func(round int, waiting map[string]bool, gaveUp bool) *incident.Evidence {
		ev := &incident.Evidence{GatheredAt: g.opts.Now(), Round: round}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range done {
			if p.err != nil {
				ev.Problems = append(ev.Problems, fmt.Sprintf("%s: %s", p.name, reason(p.err, start, g.opts.Now())))
				continue
			}
			if p.apply != nil {
				p.apply(ev)
			}
		}
		for name := range waiting {
			if gaveUp {
				ev.Problems = append(ev.Problems, fmt.Sprintf("%s: timeout after %s", name, g.opts.Late))
			} else {
				ev.Pending = append(ev.Pending, name)
			}
		}
		sort.Strings(ev.Problems)
		sort.Strings(ev.Pending)
		return ev
	}
	first = build(1, pending, false)
	if len(pending) == 0 {
		cancel()
		return first, nil
	}
	return first, func() *incident.Evidence {
		defer cancel()
		collect(ctx.Done())
		return build(2, pending, len(pending) > 0)
	}
}

// reason words a source's failure for the evidence: "timeout after 3s",
// or the error.
func reason(err error, start, now time.Time) string {
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
		return "timeout after " + now.Sub(start).Round(time.Second).String()
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

// window is the alert window: from 15 minutes before the alert started
// to now.
type window struct{ start, from, to time.Time }

func (g *Gatherer) window(in Input) window {
	start := in.Incident.OpenedAt
	for _, a := range in.Alerts {
		if !a.StartsAt.IsZero() && a.StartsAt.Before(start) {
			start = a.StartsAt
		}
	}
	return window{start: start, from: start.Add(-15 * time.Minute), to: g.opts.Now()}
}

func templateData(in Input) rules.TemplateData {
	inc := in.Incident
	d := rules.TemplateData{Service: inc.Service, Env: inc.Env, Rule: inc.Rule, Severity: string(inc.Severity),
		IncidentID: inc.ID, StartsAt: inc.OpenedAt}
	if len(in.Alerts) > 0 {
		a := in.Alerts[0]
		d.Labels, d.Annotations, d.StartsAt, d.Namespace = a.Labels, a.Annotations, a.StartsAt, a.Labels["namespace"]
	}
	return d
}

// maxDeploysShown is how many recent deploys the evidence lists.
const maxDeploysShown = 3

// deploys finds the suspect: the latest deploy of the service or its
// upstreams that finished within the lookback before the alert started;
// the rollback target is the deploy of that service before it.
func (g *Gatherer) deploys(ctx context.Context, in Input, w window, data rules.TemplateData) (func(*incident.Evidence), error) {
	services := append([]string{in.Incident.Service}, g.opts.Upstreams[in.Incident.Service]...)
	var all []incident.Deploy
	for _, svc := range services {
		ds, err := g.listDeploys(ctx, svc, in.Incident.Env, w.start.Add(-7*24*time.Hour))
		if err != nil {
			return nil, err
		}
		all = append(all, ds...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].FinishedAt.After(all[j].FinishedAt) })
	var suspect, target *incident.Deploy
	for i := range all {
		d := &all[i]
		if !d.FinishedAt.After(w.start) && w.start.Sub(d.FinishedAt) <= g.opts.Lookback {
			suspect = d
			break
		}
	}
	if suspect != nil {
		for i := range all {
			d := &all[i]
			if d.Service == suspect.Service && d.FinishedAt.Before(suspect.FinishedAt) && d.SHA != suspect.SHA {
				target = d
				break
			}
		}
		if target == nil && suspect.PreviousSHA != "" {
			target = &incident.Deploy{Service: suspect.Service, Env: suspect.Env, SHA: suspect.PreviousSHA}
		}
	}
	shown := all[:min(len(all), maxDeploysShown)]
	if suspect != nil && !slices.ContainsFunc(shown, func(d incident.Deploy) bool { return d.ID == suspect.ID && d.SHA == suspect.SHA }) {
		shown = append(shown[:min(len(shown), maxDeploysShown-1):min(len(shown), maxDeploysShown-1)], *suspect)
	}
	shown = slices.Clone(shown)
	for i := range shown {
		shown[i].DiffURL = g.diffURL(data, shown[i], all)
	}
	var rollback, withheld, compare string
	var noDeploys string
	if suspect == nil {
		noDeploys = fmt.Sprintf("no deploy in the last %s", human(g.opts.Lookback))
	} else {
		d := data
		d.Revision = suspect.SHA
		if target != nil {
			d.TargetRevision = target.SHA
		}
		if in.Rule != nil && in.Rule.Rollback.Command != "" && target != nil {
			// Alert labels and deploy records are untrusted: a command is
			// only suggested when every value in it is of its kind.
			cmd, err := rules.RenderChecked(in.Rule.Rollback.Command, d)
			var w *rules.WithheldError
			switch {
			case errors.As(err, &w):
				withheld = "rollback suggestion withheld: " + w.Error()
			case err != nil:
				return nil, fmt.Errorf("rollback template: %w", err)
			default:
				rollback = cmd
			}
		}
		if g.opts.CompareURL != "" && target != nil {
			if u, err := rules.RenderChecked(g.opts.CompareURL, d); err == nil && (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
				compare = u
			}
		}
	}
	return func(ev *incident.Evidence) {
		ev.Deploys, ev.Suspect, ev.Target, ev.Rollback, ev.CompareURL, ev.NoDeploys = shown, suspect, target, rollback, compare, noDeploys
		ev.RollbackWithheld = withheld
	}, nil
}

// diffURL renders the compare link of a deploy against the one before it
// (of the same service), "" when there is no template or no earlier one.
func (g *Gatherer) diffURL(data rules.TemplateData, d incident.Deploy, all []incident.Deploy) string {
	if g.opts.CompareURL == "" {
		return ""
	}
	prev := d.PreviousSHA
	if prev == "" {
		for _, o := range all { // newest first: the first older one is the previous
			if o.Service == d.Service && o.FinishedAt.Before(d.FinishedAt) && o.SHA != d.SHA {
				prev = o.SHA
				break
			}
		}
	}
	if prev == "" {
		return ""
	}
	data.Service, data.Revision, data.TargetRevision = d.Service, d.SHA, prev
	u, err := rules.RenderChecked(g.opts.CompareURL, data)
	if err != nil || !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return ""
	}
	return u
}

// listDeploys reads the store and the Git history of one service, in the
// incident's env (deploys recorded without an env count for every env).
func (g *Gatherer) listDeploys(ctx context.Context, service, env string, since time.Time) ([]incident.Deploy, error) {
	var out []incident.Deploy
	if g.src.Deploys != nil {
		ds, err := g.src.Deploys.Deploys(ctx, incident.DeployFilter{Service: service, Since: since, Limit: 50})
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	if g.src.Git != nil {
		ds, err := g.src.Git.History(ctx, service, since)
		if err != nil {
			return nil, fmt.Errorf("git: %w", err)
		}
		out = append(out, ds...)
	}
	return slices.DeleteFunc(out, func(d incident.Deploy) bool { return env != "" && d.Env != "" && d.Env != env }), nil
}

// ValueNow evaluates the incident's query now: what the rate is before a
// responder resolves. ok is false when there is no query or no
// Prometheus, or no value.
func (g *Gatherer) ValueNow(ctx context.Context, in Input) (v float64, expr string, ok bool, err error) {
	if g.src.Prometheus == nil {
		return 0, "", false, nil
	}
	expr, why := g.query(in, templateData(in))
	if expr == "" {
		if why != "" {
			return 0, "", false, errors.New(why)
		}
		return 0, "", false, nil
	}
	v, ok, err = g.src.Prometheus.Value(ctx, expr, g.opts.Now())
	return v, expr, ok, err
}

// query is the expression to evaluate: the rule's query, with the alert's
// values in it as escaped string literals. Without one, the expression of
// the alert's generatorURL, but only when it is one of the configured
// AllowedQueries: the alert chooses its generatorURL, and warroom asks
// Prometheus only what its configuration says. why says what was not
// asked, and why; both are empty when there is nothing to ask.
func (g *Gatherer) query(in Input, data rules.TemplateData) (expr, why string) {
	if in.Rule != nil && in.Rule.Value.Query != "" {
		q, err := rules.RenderQuery(in.Rule.Value.Query, data)
		if err != nil {
			return "", "not asked: rule " + in.Rule.Name + ": value.query: " + err.Error()
		}
		return q, ""
	}
	for _, a := range in.Alerts {
		q, ok := ExprFromGeneratorURL(a.GeneratorURL)
		if !ok {
			continue
		}
		if g.allowedQuery(q) {
			return q, ""
		}
		why = "not asked: the alert's query is not in prometheus.allowed_queries, and the rule has no value.query"
	}
	return "", why
}

// allowedQuery reports whether expr is one of the allowed queries.
func (g *Gatherer) allowedQuery(expr string) bool {
	return slices.ContainsFunc(g.opts.AllowedQueries, func(q string) bool { return sameQuery(q, expr) })
}

func (g *Gatherer) values(ctx context.Context, expr string, w window) (func(*incident.Evidence), error) {
	// Both instants at once: correlation waits for its slowest answer.
	var atOpen float64
	var okOpen bool
	var openErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		atOpen, okOpen, openErr = g.src.Prometheus.Value(ctx, expr, w.start)
	}()
	now, okNow, err := g.src.Prometheus.Value(ctx, expr, w.to)
	<-done
	if err = errors.Join(openErr, err); err != nil {
		return nil, err
	}
	return func(ev *incident.Evidence) {
		ev.Query = expr
		if okOpen {
			ev.ValueAtOpen = &atOpen
		}
		if okNow {
			ev.ValueNow = &now
		}
	}, nil
}

// human renders a lookback: "2h", "90m", "1h30m".
func human(d time.Duration) string {
	s := d.Round(time.Minute).String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}
