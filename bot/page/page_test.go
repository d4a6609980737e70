package page

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
)

// hostile is alert content that would run, style or navigate the page if
// it were not escaped.
const hostile = `<script>alert(1)</script>"><img src=x onerror=alert(2)><style>*{display:none}</style>`

// rulesOf decides like a rule of the error rate: the annotation
// error_rate is the value, above 0.8% a war room, the key the service.
type rulesOf struct{}

func (rulesOf) Evaluate(alerts []incident.Alert) []incident.Decision {
	out := make([]incident.Decision, len(alerts))
	th := 0.008
	for i, a := range alerts {
		d := incident.Decision{Action: incident.ActionWarRoom, Rule: "api-error-rate", Key: "api-error-rate/service=" + a.Labels["service"],
			Service: a.Labels["service"], Env: a.Labels["env"], Severity: incident.Critical, Threshold: &th}
		if v, err := strconv.ParseFloat(a.Annotations["error_rate"], 64); err == nil {
			d.Value = &v
		}
		if a.Status == incident.AlertResolved {
			d.Action = incident.ActionResolve
		}
		out[i] = d
	}
	return out
}

// fixture is a store holding one war room with hostile labels, evidence
// with a suspect deploy, a note and a value that changed over time.
type fixture struct {
	store *sqlstore.Store
	svc   *incident.Service
	now   time.Time
	start time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 11, 26, 4, 24, 38, 0, time.UTC)
	now := start
	clock := func() time.Time { return now }
	store, err := sqlstore.Open(ctx, sqlstore.SQLite, filepath.Join(t.TempDir(), "warroom.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	svc := incident.NewService(store, rulesOf{}, incident.Options{Now: clock})
	deliver := func(rate string, status incident.AlertStatus) {
		t.Helper()
		_, err := svc.Ingest(ctx, &incident.Delivery{Source: incident.SourceAlertmanager, Status: string(status), ReceivedAt: now,
			Alerts: []incident.Alert{{Fingerprint: "f1", Status: status, Source: incident.SourceAlertmanager, StartsAt: start,
				Labels:      map[string]string{"alertname": "HighErrorRate", "service": "payment-gateway", "env": "prod", "team": hostile},
				Annotations: map[string]string{"error_rate": rate, "summary": hostile, "runbook_url": "javascript:alert(3)"}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	deliver("0.0311", incident.AlertFiring)
	now = now.Add(2 * time.Minute)
	deliver("0.05", incident.AlertFiring)
	now = now.Add(3 * time.Minute)
	deliver("0.02", incident.AlertFiring)
	suspect := incident.Deploy{Service: "payment-gateway", Env: "prod", SHA: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", Author: hostile,
		URL: "https://ci.example.com/runs/7", FinishedAt: start.Add(-12 * time.Minute)}
	target := incident.Deploy{Service: "payment-gateway", Env: "prod", SHA: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", Author: "carol",
		URL: "https://evil.example.net/runs/6", FinishedAt: start.Add(-3 * time.Hour)}
	ev := &incident.Evidence{GatheredAt: start.Add(time.Second), Round: 1, Deploys: []incident.Deploy{suspect, target},
		Suspect: &suspect, Target: &target, Rollback: "argocd app rollback payment-gateway 0a1b2c3",
		Dashboards: []incident.EvidenceLink{{Title: hostile, URL: "https://grafana.example.com/d/api"}, {Title: "elsewhere", URL: "https://evil.example.net/d/x"}},
		Problems:   []string{"jaeger: " + hostile}}
	if _, err := svc.RecordEvidence(ctx, "INC-1", ev); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Note(ctx, "INC-1", "U0ALICE01", "rolled back "+hostile, false); err != nil {
		t.Fatal(err)
	}
	return &fixture{store: store, svc: svc, now: now, start: start}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// serve runs the page with d's gaps filled from f; bearer is the API
// token Authorized takes.
func (f *fixture) serve(t *testing.T, signer *Signer, bearer string) *httptest.Server {
	t.Helper()
	hosts := render.NewHosts([]string{"ci.example.com", "grafana.example.com"})
	p := New(Deps{Store: f.store, Hosts: func() render.Hosts { return hosts }, Signer: func() *Signer { return signer },
		Authorized: func(r *http.Request) bool { return bearer != "" && r.Header.Get("Authorization") == "Bearer "+bearer },
		Links: func(*incident.Incident, []incident.Alert) []render.Link {
			return []render.Link{{Kind: "runbook", Title: "Runbook", URL: "javascript:alert(4)"}, {Kind: render.KindPage, Title: "Incident page", URL: "https://warroom.example.com/x"}}
		},
		Now: func() time.Time { return f.now }})
	mux := http.NewServeMux()
	p.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	code   int
	header http.Header
	body   string
}

func get(t *testing.T, url, bearer string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, string(b)}
}

// checkHeaders checks what every answer of the page carries.
func checkHeaders(t *testing.T, what string, a answer) {
	t.Helper()
	csp := a.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, want)
		}
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got := a.header.Get(k); got != want {
			t.Errorf("%s: %s %q, want %q", what, k, got, want)
		}
	}
}

var hrefs = regexp.MustCompile(`(?:href|src|action)="([^"]*)"`)

// Every value from alert content, a deploy record or correlation is
// escaped; links go only to allowed hosts; the style is the one the
// nonce allows.
func TestPageEscapesHostileContent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	srv := f.serve(t, nil, "tok")
	a := get(t, srv.URL+"/incidents/INC-1", "tok")
	if a.code != http.StatusOK {
		t.Fatalf("%d %s", a.code, a.body)
	}
	checkHeaders(t, "page", a)
	body := a.body
	for _, bad := range []string{"<script", "<img", "onerror=alert(2)>", "<style>*", "evil.example.net", "https://warroom.example.com/x"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page holds %q unescaped or unfiltered", bad)
		}
	}
	if n := strings.Count(body, "&lt;script&gt;alert(1)&lt;/script&gt;"); n < 5 {
		t.Errorf("the hostile text shows escaped %d times, want it in the title, labels, annotations, author, note, dashboard and problems", n)
	}
	for _, m := range hrefs.FindAllStringSubmatch(body, -1) {
		if u := m[1]; !strings.HasPrefix(u, "https://ci.example.com/") && !strings.HasPrefix(u, "https://grafana.example.com/") {
			t.Errorf("a link to %q", u)
		}
	}
	if !strings.Contains(body, "https://ci.example.com/runs/7") || !strings.Contains(body, "https://grafana.example.com/d/api") {
		t.Error("the allowed links are missing")
	}
	nonce := regexp.MustCompile(`'nonce-([^']+)'`).FindStringSubmatch(a.header.Get("Content-Security-Policy"))
	if nonce == nil || strings.Count(body, "<style") != 1 || !strings.Contains(body, `<style nonce="`+nonce[1]+`">`) {
		t.Errorf("the style is not the one under the CSP's nonce %v", nonce)
	}
	for _, want := range []string{`id="timeline"`, `id="suspect"`, "<code>9f8e7d6</code>", "12m before the alert", "Note", "U0ALICE01",
		"now 2% (peak 5%) vs 0.8% threshold", "<polyline", `class="threshold"`, "argocd app rollback payment-gateway 0a1b2c3"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// A signed link opens the page, and so does the API's token; a forged,
// tampered, expired or missing one is 403 with nothing of the incident.
func TestPageAccess(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	signer := NewSigner(testKey, 24*time.Hour, "https://warroom.example.com")
	srv := f.serve(t, signer, "tok")
	path := signer.Path("INC-1", f.now)
	if a := get(t, srv.URL+path, ""); a.code != http.StatusOK || !strings.Contains(a.body, "INC-1") {
		t.Errorf("signed link: %d", a.code)
	}
	if a := get(t, srv.URL+"/incidents/INC-1", "tok"); a.code != http.StatusOK {
		t.Errorf("bearer: %d", a.code)
	}
	q := query(t, path)
	expired := NewSigner(testKey, time.Hour, "").Path("INC-1", f.now.Add(-3*time.Hour))
	forged := NewSigner(testKey+"!", 24*time.Hour, "").Path("INC-1", f.now)
	for what, p := range map[string]string{
		"no link":        "/incidents/INC-1",
		"forged":         forged,
		"expired":        expired,
		"another's":      "/incidents/INC-2?" + q.Encode(),
		"tampered exp":   "/incidents/INC-1?exp=" + itoa(mustInt(t, q.Get("exp"))+3600) + "&sig=" + q.Get("sig"),
		"wrong token":    "/incidents/INC-1",
		"not an ID":      "/incidents/x?" + q.Encode(),
		"an unknown one": "/incidents/INC-99?" + q.Encode(),
	} {
		bearer := ""
		if what == "wrong token" {
			bearer = "nope"
		}
		a := get(t, srv.URL+p, bearer)
		checkHeaders(t, what, a)
		if a.code != http.StatusForbidden || strings.Contains(a.body, "payment") || strings.Contains(a.body, "INC") ||
			!strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %q", what, a.code, a.body)
		}
	}
	// The list takes the token; its links are signed, so that a browser
	// can follow them.
	if a := get(t, srv.URL+"/incidents", ""); a.code != http.StatusForbidden {
		t.Errorf("list without the token: %d", a.code)
	}
	a := get(t, srv.URL+"/incidents", "tok")
	if a.code != http.StatusOK || !strings.Contains(a.body, `href="/incidents/INC-1?exp=`) || strings.Contains(a.body, "<script") {
		t.Errorf("list: %d\n%s", a.code, a.body)
	}
	checkHeaders(t, "list", a)
	if a := get(t, srv.URL+"/incidents/INC-99", "tok"); a.code != http.StatusNotFound {
		t.Errorf("an unknown incident with the token: %d", a.code)
	}
}
