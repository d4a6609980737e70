package render_test

import (
	"testing"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
)

func TestLinkHosts(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Links.AllowedHosts = []string{"runbooks.example.com", "*.corp.example", "CI.Example.com"}
	cfg.Grafana.URL = "https://grafana.example.net:3000/grafana"
	cfg.Jira.URL = "https://acme.atlassian.net"
	cfg.Deploys.CompareURL = "https://github.com/acme/{{.Service}}/compare/{{.TargetRevision}}...{{.Revision}}"
	h := render.NewHosts(cfg.Links.AllowedHosts, cfg.TrustedURLs()...)
	tests := []struct {
		url, why string
	}{
		{"https://runbooks.example.com/high-error-rate", ""},
		{"http://runbooks.example.com:8080/x", ""},
		{"https://RUNBOOKS.example.com/x", ""},
		{"https://ci.example.com/runs/7", ""},
		{"https://wiki.corp.example/page", ""},
		{"https://a.b.corp.example/page", ""},
		{"https://grafana.example.net/d/x", ""},
		{"https://acme.atlassian.net/browse/OPS-1", ""},
		{"https://github.com/acme/pay/compare/a...b", ""},
		{"https://corp.example/page", "host corp.example is not in links.allowed_hosts"},
		{"https://evil.example/runbook", "host evil.example is not in links.allowed_hosts"},
		{"https://runbooks.example.com.evil.example/x", "host runbooks.example.com.evil.example is not in links.allowed_hosts"},
		{"https://runbooks.example.com@evil.example/x", "host evil.example is not in links.allowed_hosts"},
		{"https://evilcorp.example/x", "host evilcorp.example is not in links.allowed_hosts"},
		{"javascript:alert(1)", "not an http(s) URL"},
		{"ftp://runbooks.example.com/x", "not an http(s) URL"},
		{"//runbooks.example.com/x", "not an http(s) URL"},
		{"", "not an http(s) URL"},
	}
	for _, tt := range tests {
		if got := h.Check(tt.url); got != tt.why {
			t.Errorf("check(%q) = %q, want %q", tt.url, got, tt.why)
		}
	}

	// A compare_url whose host is templated allows no host.
	cfg.Deploys.CompareURL = "https://{{.Labels.git_host}}/acme/{{.Service}}"
	if h := render.NewHosts(cfg.Links.AllowedHosts, cfg.TrustedURLs()...); h.Allows("https://github.com/acme/pay") {
		t.Error("a templated compare_url host allowed github.com")
	}

	links := h.Links([]render.Link{{Kind: "runbook", Title: "Runbook", URL: "https://evil.example/r"}, {Kind: "runbook", Title: "Runbook", URL: "https://runbooks.example.com/r"}})
	if links[0].URL != "" || links[0].Note != "not linked: host evil.example is not in links.allowed_hosts" || links[1].URL != "https://runbooks.example.com/r" || links[1].Note != "" {
		t.Errorf("links %+v", links)
	}

	inc := &incident.Incident{ID: "INC-1", Evidence: &incident.Evidence{
		Deploys:    []incident.Deploy{{SHA: "abc1234", URL: "https://evil.example/run", DiffURL: "https://github.com/acme/pay/compare/a...b"}},
		Suspect:    &incident.Deploy{SHA: "abc1234", URL: "https://ci.example.com/run"},
		CompareURL: "https://evil.example/compare",
		Dashboards: []incident.EvidenceLink{{Title: "ok", URL: "https://grafana.example.net/d/x"}, {Title: "bad", URL: "https://evil.example/d"}},
		Traces:     []incident.Trace{{ID: "t", URL: "https://evil.example/trace/t"}},
		TracesURL:  "https://evil.example/search",
	}}
	got := h.Incident(inc).Evidence
	if got.Deploys[0].URL != "" || got.Deploys[0].DiffURL == "" || got.Suspect.URL != "https://ci.example.com/run" || got.CompareURL != "" ||
		len(got.Dashboards) != 1 || got.Dashboards[0].Title != "ok" || got.Traces[0].URL != "" || got.TracesURL != "" {
		t.Errorf("filtered evidence %+v", got)
	}
	if inc.Evidence.Deploys[0].URL == "" || inc.Evidence.Traces[0].URL == "" || len(inc.Evidence.Dashboards) != 2 {
		t.Errorf("the stored evidence was changed: %+v", inc.Evidence)
	}
}
