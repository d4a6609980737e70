package grafana_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/integrations/grafana"
	"github.com/warroom/warroom/integrations/grafana/grafanatest"
)

// The alert window of the tests: 2026-03-01 10:00 to 10:30 UTC.
var (
	from = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	to   = from.Add(30 * time.Minute)
)

const (
	fromMS = "1772359200000"
	toMS   = "1772361000000"
)

func start(t *testing.T, opts ...grafanatest.Option) (*grafanatest.Server, *grafana.Client) {
	t.Helper()
	s := grafanatest.New(opts...)
	t.Cleanup(s.Close)
	s.AddDashboard(grafanatest.Dashboard{UID: "checkout-red", Title: "Checkout: RED", Tags: []string{"checkout", "red"}, Folder: "SRE"})
	s.AddDashboard(grafanatest.Dashboard{UID: "checkout-db", Title: "Checkout database", Tags: []string{"checkout", "postgres"}})
	s.AddDashboard(grafanatest.Dashboard{UID: "payments", Title: "Payments", Tags: []string{"payments", "red"}})
	s.AddDashboard(grafanatest.Dashboard{UID: "secret", Title: "Checkout secrets", Tags: []string{"checkout"}, Restricted: true})
	return s, grafana.New(s.URL(), grafanatest.Token, nil)
}

func TestDashboardLink(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	vars := map[string]string{"service": "checkout api", "env": "prod&eu", "q": "a+b/c"}
	d, err := c.Dashboard(context.Background(), "checkout-red", vars, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := s.URL() + "/d/checkout-red/checkout-red?from=" + fromMS + "&to=" + toMS +
		"&var-env=prod%26eu&var-q=a%2Bb%2Fc&var-service=checkout%20api"
	if d.URL != want {
		t.Errorf("URL\n got %s\nwant %s", d.URL, want)
	}
	if d.UID != "checkout-red" || d.Title != "Checkout: RED" {
		t.Errorf("got %+v", d)
	}
	// The link's query reads back to exactly the window and the vars.
	u, err := url.Parse(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, v := range map[string]string{"from": fromMS, "to": toMS, "var-service": "checkout api", "var-env": "prod&eu", "var-q": "a+b/c"} {
		if q.Get(k) != v {
			t.Errorf("query %s = %q, want %q", k, q.Get(k), v)
		}
	}

	calls := s.Calls()
	if len(calls) != 1 || calls[0].Route != grafanatest.RouteDashboard || calls[0].Token != grafanatest.Token || calls[0].Status != http.StatusOK {
		t.Errorf("calls = %+v, want one GET by UID with the bearer token", calls)
	}
}

// A Grafana served under a sub path answers urls that carry it; the link
// must carry it once, not twice. One behind a proxy that strips the sub
// path answers urls without it; the link must still carry it.
func TestDashboardLinkSubPath(t *testing.T) {
	t.Parallel()
	s, c := start(t, grafanatest.WithSubPath("/grafana"))
	if !strings.HasSuffix(s.URL(), "/grafana") {
		t.Fatalf("URL() = %s", s.URL())
	}
	d, err := c.Dashboard(context.Background(), "payments", nil, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := s.URL() + "/d/payments/payments?from=" + fromMS + "&to=" + toMS; d.URL != want {
		t.Errorf("URL\n got %s\nwant %s", d.URL, want)
	}

	// The stripping proxy: the same Grafana seen at base+"/grafana", its
	// API answering url "/d/…".
	plain, _ := start(t)
	viaProxy := grafana.New(plain.URL()+"/grafana/", grafanatest.Token, &http.Client{Transport: stripPrefix{"/grafana"}})
	d, err = viaProxy.Dashboard(context.Background(), "payments", nil, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := plain.URL() + "/grafana/d/payments/payments"; d.URL != want {
		t.Errorf("behind a stripping proxy\n got %s\nwant %s", d.URL, want)
	}
}

// stripPrefix is a reverse proxy in a RoundTripper: it takes the prefix off
// the path before passing the request on.
type stripPrefix struct{ prefix string }

func (p stripPrefix) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Path = strings.TrimPrefix(r.URL.Path, p.prefix)
	r.URL.RawPath = ""
	return http.DefaultTransport.RoundTrip(r)
}

func TestSearch(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	got, err := c.Search(context.Background(), "checkout", map[string]string{"service": "checkout"}, from, to, 10)
	if err != nil {
		t.Fatal(err)
	}
	// By title; the restricted board is not visible to the token.
	want := []grafana.Dashboard{
		{UID: "checkout-db", Title: "Checkout database", URL: s.URL() + "/d/checkout-db/checkout-database?from=" + fromMS + "&to=" + toMS + "&var-service=checkout"},
		{UID: "checkout-red", Title: "Checkout: RED", URL: s.URL() + "/d/checkout-red/checkout-red?from=" + fromMS + "&to=" + toMS + "&var-service=checkout"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d dashboards %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d]\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	call := s.Calls()[0]
	if call.Query.Get("type") != "dash-db" || call.Query.Get("tag") != "checkout" || call.Query.Get("limit") != "10" {
		t.Errorf("search query = %v, want type=dash-db, tag=checkout, limit=10", call.Query)
	}

	got, err = c.Search(context.Background(), "checkout", nil, from, to, 1)
	if err != nil || len(got) != 1 || got[0].UID != "checkout-db" {
		t.Errorf("limit 1: got %+v, %v; want checkout-db alone", got, err)
	}
	// Above Grafana's maximum the client asks for the maximum instead of
	// meeting 422; with no limit it leaves Grafana's default.
	if _, err := c.Search(context.Background(), "checkout", nil, from, to, 100000); err != nil {
		t.Errorf("limit 100000: %v", err)
	}
	if _, err := c.Search(context.Background(), "checkout", nil, from, to, 0); err != nil {
		t.Errorf("limit 0: %v", err)
	}
	calls := s.Calls()
	if l := calls[2].Query.Get("limit"); l != "5000" {
		t.Errorf("limit sent for 100000 = %q, want 5000", l)
	}
	if calls[3].Query.Has("limit") {
		t.Errorf("limit sent for 0 = %q, want none", calls[3].Query.Get("limit"))
	}

	got, err = c.Search(context.Background(), "no-such-tag", nil, from, to, 10)
	if err != nil || len(got) != 0 {
		t.Errorf("unknown tag: got %+v, %v; want none and no error", got, err)
	}
	before := s.CallCount("")
	if _, err := c.Search(context.Background(), " ", nil, from, to, 10); err == nil {
		t.Errorf("empty tag: no error")
	}
	if n := s.CallCount("") - before; n != 0 {
		t.Errorf("empty tag: %d calls made, want none", n)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		token   string
		uid     string
		fault   *grafanatest.Fault
		status  int
		message string
	}{
		{name: "unknown uid", token: grafanatest.Token, uid: "nope", status: 404, message: "Dashboard not found"},
		{name: "bad token", token: "glsa_wrong", uid: "payments", status: 401, message: "Invalid API key"},
		{name: "no access", token: grafanatest.Token, uid: "secret", status: 403, message: "Access denied to this dashboard"},
		{name: "grafana 500", token: grafanatest.Token, uid: "payments", fault: &grafanatest.Fault{Status: 500}, status: 500, message: "Internal Server Error"},
		{name: "proxy 502 page", token: grafanatest.Token, uid: "payments", fault: &grafanatest.Fault{Status: 502}, status: 502, message: "<html> <head><title>502 Bad Gateway</title>"},
		{name: "rate limited", token: grafanatest.Token, uid: "payments", fault: &grafanatest.Fault{Status: 429, RetryAfter: 2 * time.Second}, status: 429, message: "Too Many Requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := start(t)
			if tt.fault != nil {
				s.FailNext(grafanatest.RouteDashboard, *tt.fault)
			}
			c := grafana.New(s.URL(), tt.token, nil)
			_, err := c.Dashboard(context.Background(), tt.uid, nil, from, to)
			var ge *grafana.Error
			if !errors.As(err, &ge) {
				t.Fatalf("err = %v, want a *grafana.Error", err)
			}
			if ge.Status != tt.status || !strings.HasPrefix(ge.Message, tt.message) {
				t.Errorf("got HTTP %d %q, want %d %q…", ge.Status, ge.Message, tt.status, tt.message)
			}
			if !strings.Contains(err.Error(), "/api/dashboards/uid/"+tt.uid) {
				t.Errorf("error %q does not name the call", err)
			}
		})
	}
}

func TestInvalidAPIKeyMessageID(t *testing.T) {
	t.Parallel()
	s, _ := start(t)
	_, err := grafana.New(s.URL(), "glsa_wrong", nil).Search(context.Background(), "red", nil, from, to, 5)
	var ge *grafana.Error
	if !errors.As(err, &ge) || ge.MessageID != "api-key.invalid" {
		t.Errorf("err = %#v, want messageId api-key.invalid", err)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	// The fake answers, with success, after 5 s: an error that is the
	// context's says the context ended the call, no bound in seconds.
	s.FailNext(grafanatest.RouteDashboard, grafanatest.Fault{Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Dashboard(ctx, "payments", nil, from, to)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's deadline", err)
	}
}

func TestNoToken(t *testing.T) {
	t.Parallel()
	s, _ := start(t)
	c := grafana.New(s.URL(), "", nil)
	if _, err := c.Dashboard(context.Background(), "payments", nil, from, to); !errors.Is(err, grafana.ErrNoToken) {
		t.Errorf("Dashboard: err = %v, want ErrNoToken", err)
	}
	if _, err := c.Search(context.Background(), "red", nil, from, to, 5); !errors.Is(err, grafana.ErrNoToken) {
		t.Errorf("Search: err = %v, want ErrNoToken", err)
	}
	if n := s.CallCount(""); n != 0 {
		t.Errorf("%d calls made without a token, want none", n)
	}
	// The link Grafana redirects to the board, built without asking.
	want := s.URL() + "/d/payments?from=" + fromMS + "&to=" + toMS + "&var-service=pay%20ments"
	if got := c.LinkWithoutLookup("payments", map[string]string{"service": "pay ments"}, from, to); got != want {
		t.Errorf("LinkWithoutLookup\n got %s\nwant %s", got, want)
	}
}

func TestLinkWithoutLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base, uid string
		vars      map[string]string
		from, to  time.Time
		want      string
	}{
		{"https://g.example.com", "abc", nil, from, to, "https://g.example.com/d/abc?from=" + fromMS + "&to=" + toMS},
		{"https://g.example.com/grafana/", "abc", map[string]string{"b": "2", "a": "1"}, from, to,
			"https://g.example.com/grafana/d/abc?from=" + fromMS + "&to=" + toMS + "&var-a=1&var-b=2"},
		{"https://g.example.com", "abc", nil, time.Time{}, time.Time{}, "https://g.example.com/d/abc"},
		{"https://g.example.com", "a b", map[string]string{"x y": "é"}, time.Time{}, to, "https://g.example.com/d/a%20b?to=" + toMS + "&var-x%20y=%C3%A9"},
	}
	for _, tt := range tests {
		if got := grafana.New(tt.base, "", nil).LinkWithoutLookup(tt.uid, tt.vars, tt.from, tt.to); got != tt.want {
			t.Errorf("LinkWithoutLookup(%q, %q)\n got %s\nwant %s", tt.base, tt.uid, got, tt.want)
		}
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	s, c := start(t)
	for _, uid := range []string{"", strings.Repeat("x", 41)} {
		if _, err := c.Dashboard(context.Background(), uid, nil, from, to); err == nil {
			t.Errorf("uid %q: no error", uid)
		}
	}
	if n := s.CallCount(""); n != 0 {
		t.Errorf("%d calls made for invalid UIDs, want none", n)
	}
	for _, base := range []string{"", "g.example.com", "ftp://g.example.com", "http://%zz"} {
		_, err := grafana.New(base, "tok", nil).Dashboard(context.Background(), "abc", nil, from, to)
		if err == nil {
			t.Errorf("base %q: no error", base)
		}
	}
}

// A 200 answer that is not Grafana's JSON (a login page served by an SSO
// proxy, say) is an error, not an empty dashboard.
func TestNotJSON(t *testing.T) {
	t.Parallel()
	srv := newHTMLServer(t)
	_, err := grafana.New(srv, "tok", nil).Dashboard(context.Background(), "abc", nil, from, to)
	if err == nil || !strings.Contains(err.Error(), "not the JSON expected") {
		t.Errorf("err = %v, want a JSON error", err)
	}
}

func newHTMLServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>Sign in</body></html>"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
