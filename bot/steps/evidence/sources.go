package evidence

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/warroom/warroom/correlate"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/git"
	"github.com/warroom/warroom/integrations/grafana"
	"github.com/warroom/warroom/integrations/jaeger"
	"github.com/warroom/warroom/integrations/prometheus"
	"github.com/warroom/warroom/rules"
)

// grafanaBoards adapts the Grafana client to correlate.DashboardFinder:
// the rule's dashboards by UID with their variables rendered from the
// alert, then those its tag finds.
type grafanaBoards struct{ c *grafana.Client }

// maxTaggedBoards bounds the dashboards a tag search adds.
const maxTaggedBoards = 5

func (g grafanaBoards) Dashboards(ctx context.Context, r *rules.Rule, data rules.TemplateData, from, to time.Time) ([]incident.EvidenceLink, error) {
	var links []incident.EvidenceLink
	var errs []error
	seen := map[string]bool{}
	for _, d := range r.Grafana.Dashboards {
		vars := map[string]string{}
		for name, tmpl := range d.Vars {
			v, err := rules.Render(tmpl, data)
			if err != nil {
				return nil, fmt.Errorf("dashboard %s: var %s: %w", d.UID, name, err)
			}
			vars[name] = v
		}
		b, err := g.c.Dashboard(ctx, d.UID, vars, from, to)
		if errors.Is(err, grafana.ErrNoToken) {
			links = append(links, incident.EvidenceLink{Title: "Grafana " + d.UID, URL: g.c.LinkWithoutLookup(d.UID, vars, from, to)})
			seen[d.UID] = true
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		seen[b.UID] = true
		links = append(links, incident.EvidenceLink{Title: b.Title, URL: b.URL})
	}
	if tag := r.Grafana.Tag; tag != "" {
		tag, err := rules.Render(tag, data)
		if err != nil {
			return nil, fmt.Errorf("grafana tag: %w", err)
		}
		vars := map[string]string{"service": data.Service}
		if data.Env != "" {
			vars["env"] = data.Env
		}
		found, err := g.c.Search(ctx, tag, vars, from, to, maxTaggedBoards)
		if err != nil && !errors.Is(err, grafana.ErrNoToken) {
			errs = append(errs, err)
		}
		for _, b := range found {
			if !seen[b.UID] {
				seen[b.UID] = true
				links = append(links, incident.EvidenceLink{Title: b.Title, URL: b.URL})
			}
		}
	}
	if len(links) == 0 && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return links, nil
}

// jaegerTraces adapts the Jaeger client to correlate.TraceFinder.
type jaegerTraces struct{ c *jaeger.Client }

func (j jaegerTraces) FailingTraces(ctx context.Context, service string, start, end time.Time, limit int) ([]incident.Trace, error) {
	ts, err := j.c.FailingTraces(ctx, service, start, end, limit)
	if err != nil {
		return nil, err
	}
	out := make([]incident.Trace, len(ts))
	for i, t := range ts {
		out[i] = incident.Trace{ID: t.TraceID, Operation: t.Operation, Duration: t.Duration, ErrorSpan: t.ErrorSpan,
			Error: t.ErrorMessage, URL: j.c.TraceURL(t.TraceID)}
	}
	return out, nil
}

func (j jaegerTraces) SearchURL(service string, start, end time.Time) string {
	return j.c.SearchURL(service, start, end)
}

// gitDeploys adapts a GitOps repository's history to
// correlate.DeployHistory: each commit that touched the service's path is
// a deploy, the commit before it on that path the previous one.
type gitDeploys struct {
	src  *git.Source
	path string
	env  string
}

// maxGitDeploys bounds the commits read per service.
const maxGitDeploys = 20

func (g gitDeploys) History(ctx context.Context, service string, since time.Time) ([]incident.Deploy, error) {
	path, err := rules.Render(g.path, rules.TemplateData{Service: service})
	if err != nil {
		return nil, fmt.Errorf("deploys.git.path: %w", err)
	}
	commits, err := g.src.History(ctx, path, since, maxGitDeploys)
	if err != nil {
		return nil, err
	}
	out := make([]incident.Deploy, len(commits))
	for i, c := range commits {
		out[i] = incident.Deploy{Service: service, Env: g.env, SHA: c.SHA, Author: c.Author, FinishedAt: c.Time, Source: "git"}
		if i+1 < len(commits) {
			out[i].PreviousSHA = commits[i+1].SHA
		}
	}
	return out, nil
}

// sourceTimeout bounds one call to a correlation source; the gathering's
// own deadline (a late source is waited for 20s) is what usually ends it.
const sourceTimeout = 30 * time.Second

// SourceOptions locate the correlation sources (grafana, jaeger,
// prometheus and deploys.git in the config); an empty URL leaves that
// source out.
type SourceOptions struct {
	GrafanaURL, GrafanaToken string
	JaegerURL                string
	PrometheusURL            string
	// Git is a GitOps repository to read deploys from; nil for none.
	Git *GitOptions
	// Transport, if set, returns what carries the calls to one source,
	// named "grafana", "jaeger" or "prometheus" (the metrics' api label).
	Transport func(api string) http.RoundTripper
}

// GitOptions locate a GitOps repository: a commit that touches a
// service's path (a template over {{.Service}}, default the service's
// name) on the branch is a deploy of that service in env.
type GitOptions struct {
	URL, Branch, Path, Env, Token string
}

// NewSources builds the correlation sources: the deploy records of
// deploys always, the others when configured.
func NewSources(deploys correlate.DeployLister, o SourceOptions) (correlate.Sources, error) {
	src := correlate.Sources{Deploys: deploys}
	hc := func(api string) *http.Client {
		c := &http.Client{Timeout: sourceTimeout}
		if o.Transport != nil {
			c.Transport = o.Transport(api)
		}
		return c
	}
	if u := o.GrafanaURL; u != "" {
		src.Grafana = grafanaBoards{grafana.New(u, o.GrafanaToken, hc("grafana"))}
	}
	if g := o.Git; g != nil && g.URL != "" {
		path := g.Path
		if path == "" {
			path = "{{.Service}}"
		}
		if err := rules.CheckTemplate(path); err != nil {
			return src, fmt.Errorf("deploys.git.path: %w", err)
		}
		src.Git = gitDeploys{src: &git.Source{URL: g.URL, Branch: g.Branch, Token: g.Token}, path: path, env: g.Env}
	}
	if u := o.JaegerURL; u != "" {
		src.Jaeger = jaegerTraces{jaeger.New(u, hc("jaeger"))}
	}
	if u := o.PrometheusURL; u != "" {
		p, err := prometheus.New(u, hc("prometheus"))
		if err != nil {
			return src, fmt.Errorf("prometheus: %w", err)
		}
		src.Prometheus = p
	}
	return src, nil
}
