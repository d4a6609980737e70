package grafanatest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/integrations/grafana/grafanatest"
)

// get calls the fake as a bare HTTP client would, with tok as bearer token
// ("" for none), and returns the status and the body.
func get(t *testing.T, s *grafanatest.Server, path, tok string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func seeded(t *testing.T, opts ...grafanatest.Option) *grafanatest.Server {
	t.Helper()
	s := grafanatest.New(opts...)
	t.Cleanup(s.Close)
	s.AddDashboard(grafanatest.Dashboard{UID: "a", Title: "Alpha", Tags: []string{"x", "y"}, Folder: "Team One"})
	s.AddDashboard(grafanatest.Dashboard{UID: "b", Title: "beta", Tags: []string{"x"}})
	s.AddDashboard(grafanatest.Dashboard{UID: "c", Title: "Gamma", Tags: []string{"y"}, Folder: "Team One"})
	s.AddDashboard(grafanatest.Dashboard{UID: "r", Title: "Restricted", Tags: []string{"x", "y"}, Restricted: true})
	return s
}

func uids(t *testing.T, body string) []string {
	t.Helper()
	var hits []struct{ UID, Type string }
	if err := json.Unmarshal([]byte(body), &hits); err != nil {
		t.Fatalf("search body %s: %v", body, err)
	}
	out := []string{}
	for _, h := range hits {
		out = append(out, h.UID)
	}
	return out
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	tests := []struct {
		tok    string
		status int
		body   string
	}{
		{"", 401, `{"message":"Unauthorized"}`},
		{"wrong", 401, `{"message":"Invalid API key","messageId":"api-key.invalid","statusCode":401}`},
		{grafanatest.Token, 200, ""},
	}
	for _, tt := range tests {
		for _, path := range []string{"/api/search?type=dash-db", "/api/dashboards/uid/a"} {
			status, body := get(t, s, path, tt.tok)
			if status != tt.status || tt.body != "" && body != tt.body {
				t.Errorf("GET %s with token %q: %d %s, want %d %s", path, tt.tok, status, body, tt.status, tt.body)
			}
		}
	}
	// Basic authentication is not a service-account token.
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/api/search", nil)
	req.SetBasicAuth("admin", "admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("basic auth: %d, want 401", resp.StatusCode)
	}
	w := grafanatest.New(grafanatest.WithToken("other"))
	defer w.Close()
	if status, _ := get(t, w, "/api/search", grafanatest.Token); status != 401 {
		t.Errorf("WithToken: the default token got %d, want 401", status)
	}
	if status, _ := get(t, w, "/api/search", "other"); status != 200 {
		t.Errorf("WithToken: its token got %d, want 200", status)
	}
}

func TestGetDashboard(t *testing.T) {
	t.Parallel()
	s := seeded(t, grafanatest.WithSubPath("grafana/"))
	status, body := get(t, s, "/api/dashboards/uid/a", grafanatest.Token)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var got struct {
		Dashboard struct {
			UID, Title string
			Tags       []string
		}
		Meta struct {
			URL, Slug, FolderUID, FolderTitle, FolderURL string
		}
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Dashboard.UID != "a" || got.Dashboard.Title != "Alpha" || !slices.Equal(got.Dashboard.Tags, []string{"x", "y"}) {
		t.Errorf("dashboard = %+v", got.Dashboard)
	}
	if got.Meta.URL != "/grafana/d/a/alpha" || got.Meta.Slug != "alpha" || got.Meta.FolderTitle != "Team One" ||
		got.Meta.FolderUID != "f-team-one" || got.Meta.FolderURL != "/grafana/dashboards/f/f-team-one/team-one" {
		t.Errorf("meta = %+v", got.Meta)
	}
	if u, ok := s.DashboardURL("a"); !ok || u != got.Meta.URL {
		t.Errorf("DashboardURL = %q, %v", u, ok)
	}
	for path, want := range map[string]string{
		"/api/dashboards/uid/zzz": `404 {"message":"Dashboard not found"}`,
		"/api/dashboards/uid/r":   `403 {"message":"Access denied to this dashboard"}`,
		"/api/dashboards/uid/":    `404 {"message":"Not found"}`,
		"/api/dashboards/db/a":    `404 {"message":"Not found"}`,
	} {
		status, body := get(t, s, path, grafanatest.Token)
		if got := strconv.Itoa(status) + " " + body; got != want {
			t.Errorf("GET %s: %s, want %s", path, got, want)
		}
	}
	// Without the sub path there is no API.
	resp, err := http.Get(strings.TrimSuffix(s.URL(), "/grafana") + "/api/dashboards/uid/a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("outside the sub path: %d, want 404", resp.StatusCode)
	}
}

func TestSearchFilters(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	tests := []struct {
		query string
		want  []string
	}{
		{"type=dash-db&tag=x", []string{"a", "b"}},               // restricted left out; by title, case-insensitive
		{"type=dash-db&tag=x&tag=y", []string{"a"}},              // tags AND-ed
		{"type=dash-db&tag=y", []string{"a", "c"}},               //
		{"type=dash-db&tag=X", []string{}},                       // tags match exactly
		{"type=dash-db", []string{"a", "b", "c"}},                //
		{"", []string{"a", "b", "c", "f-team-one"}},              // folders too without type
		{"type=dash-folder", []string{"f-team-one"}},             //
		{"type=nonsense", []string{"a", "b", "c", "f-team-one"}}, // Grafana's TypeFilter ignores other types
		{"tag=x", []string{"a", "b"}},                            // folders carry no tags
		{"query=AL", []string{"a"}},                              // title substring, any case
		{"type=dash-db&limit=2", []string{"a", "b"}},             //
		{"type=dash-db&limit=2&page=2", []string{"c"}},           //
		{"type=dash-db&limit=2&page=9", []string{}},              //
		{"type=dash-db&limit=abc", []string{"a", "b", "c"}},      // an invalid limit is the default
		{"type=dash-db&limit=5000", []string{"a", "b", "c"}},
		{"type=dash-db&dashboardUIDs=c&dashboardUIDs=b", []string{"b", "c"}},
		{"type=dash-db&folderUIDs=f-team-one", []string{"a", "c"}},
	}
	for _, tt := range tests {
		status, body := get(t, s, "/api/search?"+tt.query, grafanatest.Token)
		if status != 200 {
			t.Errorf("search %s: %d %s", tt.query, status, body)
			continue
		}
		if got := uids(t, body); !slices.Equal(got, tt.want) {
			t.Errorf("search %s: %v, want %v", tt.query, got, tt.want)
		}
	}

	status, body := get(t, s, "/api/search?type=dash-db&tag=x", grafanatest.Token)
	var hits []map[string]any
	if err := json.Unmarshal([]byte(body), &hits); err != nil || status != 200 || len(hits) != 2 {
		t.Fatalf("%d %s %v", status, body, err)
	}
	if hits[0]["url"] != "/d/a/alpha" || hits[0]["type"] != "dash-db" || hits[0]["folderTitle"] != "Team One" || hits[0]["folderUid"] != "f-team-one" {
		t.Errorf("hit = %v", hits[0])
	}
	if _, ok := hits[1]["folderUid"]; ok {
		t.Errorf("hit in General has a folderUid: %v", hits[1])
	}

	for query, want := range map[string]string{
		"limit=5001":          `422 {"message":"Limit is above maximum allowed (5000), use page parameter to access hits beyond limit"}`,
		"sort=alpha-desc":     `400 {"message":"grafanatest: search parameter \"sort\" is not modelled"}`,
		"folderIds=0":         `400 {"message":"grafanatest: search parameter \"folderIds\" is not modelled"}`,
		"starred=true":        `400 {"message":"grafanatest: starred=true is not modelled (no board is starred)"}`,
		"tag=x&starred=false": `200 [`,
	} {
		status, body := get(t, s, "/api/search?"+query, grafanatest.Token)
		if got := strconv.Itoa(status) + " " + body; !strings.HasPrefix(got, want) {
			t.Errorf("search %s: %s, want %s", query, got, want)
		}
	}
}

func TestAddDashboard(t *testing.T) {
	t.Parallel()
	s := grafanatest.New()
	defer s.Close()
	s.AddDashboard(grafanatest.Dashboard{UID: "u", Title: "Old"})
	s.AddDashboard(grafanatest.Dashboard{UID: "u", Title: "New: title", Tags: []string{"t"}})
	status, body := get(t, s, "/api/search?tag=t", grafanatest.Token)
	if status != 200 || !strings.Contains(body, `"title":"New: title"`) || !strings.Contains(body, `"url":"/d/u/new-title"`) {
		t.Errorf("replaced board: %d %s", status, body)
	}
	for _, uid := range []string{"", "has space", "slash/y", strings.Repeat("a", 41)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AddDashboard(uid %q) did not panic", uid)
				}
			}()
			s.AddDashboard(grafanatest.Dashboard{UID: uid})
		}()
	}
	for title, slug := range map[string]string{"Checkout API: errors": "checkout-api-errors", "  A--B  ": "a-b", "ÉtÉ 2": "t-2", "": ""} {
		if got := grafanatest.Slugify(title); got != slug {
			t.Errorf("Slugify(%q) = %q, want %q", title, got, slug)
		}
	}
}

func TestFaultsAndCalls(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	s.FailNext(grafanatest.RouteSearch, grafanatest.Fault{Status: 503, RetryAfter: 1500 * time.Millisecond})
	s.FailNext(grafanatest.RouteSearch, grafanatest.Fault{Status: 429})
	s.FailNext(grafanatest.RouteDashboard, grafanatest.Fault{Delay: 50 * time.Millisecond})

	// Faults come before the token is checked.
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/api/search?tag=x", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(b), "503 Service Unavailable") {
		t.Errorf("503 fault: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	resp, err = http.Get(s.URL() + "/api/search?tag=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("429 fault: %d Retry-After %q, want 429 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	began := time.Now()
	if status, _ := get(t, s, "/api/dashboards/uid/a", grafanatest.Token); status != 200 || time.Since(began) < 50*time.Millisecond {
		t.Errorf("delay fault: %d after %v", status, time.Since(began))
	}
	if status, _ := get(t, s, "/api/search?tag=x", grafanatest.Token); status != 200 {
		t.Errorf("after the faults: %d", status)
	}

	calls := s.Calls()
	if len(calls) != 4 {
		t.Fatalf("%d calls, want 4: %+v", len(calls), calls)
	}
	if c := calls[0]; c.Route != grafanatest.RouteSearch || c.Status != 503 || c.Token != "" || c.Query.Get("tag") != "x" || c.Path != "/api/search" {
		t.Errorf("call 0 = %+v", c)
	}
	if c := calls[2]; c.Route != grafanatest.RouteDashboard || c.Token != grafanatest.Token || c.Path != "/api/dashboards/uid/a" {
		t.Errorf("call 2 = %+v", c)
	}
	if n := s.CallCount(grafanatest.RouteSearch); n != 3 {
		t.Errorf("CallCount(search) = %d, want 3", n)
	}
	defer func() {
		if recover() == nil {
			t.Error("FailNext on an unknown route did not panic")
		}
	}()
	s.FailNext("GET /api/search/", grafanatest.Fault{Status: 500})
}

// Calls' query values are copies: changing them does not change the record.
func TestCallsAreCopies(t *testing.T) {
	t.Parallel()
	s := seeded(t)
	get(t, s, "/api/search?tag=x", grafanatest.Token)
	s.Calls()[0].Query.Set("tag", "changed")
	if got := s.Calls()[0].Query.Get("tag"); got != "x" {
		t.Errorf("recorded tag = %q, want x", got)
	}
}
