// Package grafanatest is a strict, stateful, in-process fake of the part of
// Grafana's HTTP API warroom calls: GET /api/dashboards/uid/:uid and GET
// /api/search, for warroom's tests and `warroom demo`. It answers them the
// way Grafana documents and implements them and rejects what Grafana
// rejects, with Grafana's error bodies:
//
//	401 {"message":"Unauthorized"}                      no Authorization header
//	401 {"message":"Invalid API key","messageId":"api-key.invalid","statusCode":401}
//	403 {"message":"Access denied to this dashboard"}   a board the token may not view
//	404 {"message":"Dashboard not found"}               an unknown UID
//	422 {"message":"Limit is above maximum allowed (5000), use page parameter to access hits beyond limit"}
//
// Search filters by type (dash-db, dash-folder), by tag (repeated tag
// parameters are AND-ed: a board must carry every one), by title (query),
// and pages with limit and page, as Grafana's SQL search does. A search
// parameter the fake does not model is refused with 400 and a message
// naming it, so that a test cannot pass on a filter that was ignored.
//
// Point a grafana.Client at it with
//
//	grafana.New(s.URL(), grafanatest.Token, nil)
//
// FailNext injects server errors, rate limits and delays.
package grafanatest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/integrations/internal/fakeapi"
)

// Token is the service-account token a new Server accepts.
const Token = "glsa_grafanatestTokenForWarroom000_0a1b2c3d"

// Limits Grafana documents or enforces.
const (
	// "The uid can have a maximum length of 40 characters"
	// (https://grafana.com/docs/grafana/latest/developer-resources/api-reference/http-api/dashboard/).
	maxUID = 40
	// Search "limit – Limit the number of returned results (max is 5000;
	// default is 1000). If an invalid value is provided ... the parameter
	// defaults to 1000"
	// (https://grafana.com/docs/grafana/latest/developer-resources/api-reference/http-api/folder_dashboard_search/);
	// above 5000 pkg/api/search.go answers 422.
	maxSearchLimit     = 5000
	defaultSearchLimit = 1000
)

// The routes the Server serves, for FailNext and Call.Route.
const (
	RouteDashboard = "GET /api/dashboards/uid/{uid}"
	RouteSearch    = "GET /api/search"
)

// Option changes how New sets up the Server.
type Option func(*Server)

// WithToken makes tok the only token the Server accepts instead of Token.
func WithToken(tok string) Option {
	return func(s *Server) { s.token = tok }
}

// WithSubPath serves the API under a sub path ("/grafana"), as Grafana
// with root_url ".../grafana/" and serve_from_sub_path does: URL() ends in
// it, and the url of every board carries it ("/grafana/d/uid/slug").
func WithSubPath(p string) Option {
	return func(s *Server) { s.subPath = "/" + strings.Trim(p, "/") }
}

// Dashboard is a board the Server holds.
type Dashboard struct {
	UID   string // at most 40 characters; New's caller picks it
	Title string
	Tags  []string
	// Folder is the title of the folder the board is in; "" for the root
	// ("General"). Folders are made as boards name them.
	Folder string
	// Slug is the URL name of the board; "" makes it from Title as Grafana
	// does ("Checkout API: errors" → "checkout-api-errors").
	Slug string
	// Restricted boards exist but the token may not view them: GET answers
	// 403 and search leaves them out, as Grafana's permission filter does.
	Restricted bool
}

// Fault is what the next call of a route meets instead of its normal
// answer, before the token is checked. Delay is waited first (or until the
// client gives up). Then a Status other than 0 is answered: 500 with
// Grafana's JSON {"message":"Internal Server Error"}, 502, 503 and 504 with
// an HTML page as the proxy in front of Grafana sends them, anything else
// with {"message": <status text>}. RetryAfter adds a Retry-After header in
// whole seconds (a 429 always has one, at least 1). A Fault with Status 0
// only delays the call.
type Fault struct {
	Status     int
	RetryAfter time.Duration
	Delay      time.Duration
}

// Call is one request the Server received, rejected ones included.
type Call struct {
	Method string
	Path   string     // without the sub path
	Route  string     // RouteDashboard, RouteSearch, or "" for none
	Query  url.Values // the query string
	Token  string     // the bearer token sent, "" when none
	Time   time.Time
	Status int // the HTTP status answered; 0 when the client went away first
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	http    *httptest.Server
	token   string
	subPath string

	mu         sync.Mutex
	dashboards []*dashboard // in the order they were added
	folders    []*folder
	lastID     int64
	calls      fakeapi.Log[Call]
	faults     fakeapi.Faults[Fault]
}

type dashboard struct {
	Dashboard
	id      int64
	version int
	created time.Time
}

type folder struct {
	id         int64
	uid, title string
	slug       string
}

// New starts a Server on a loopback port, with no dashboards. Close it
// when done.
func New(opts ...Option) *Server {
	s := &Server{token: Token}
	for _, opt := range opts {
		opt(s)
	}
	if s.subPath == "/" {
		s.subPath = ""
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is Grafana's base URL, with the sub path if there is one, for
// grafana.New.
func (s *Server) URL() string { return s.http.URL + s.subPath }

// Close shuts the server down, waiting for calls under way.
func (s *Server) Close() { s.http.Close() }

// AddDashboard adds a board, or replaces the one with the same UID. It
// panics on a UID Grafana would refuse (empty, longer than 40 characters,
// or with characters other than letters, digits, "-" and "_"), so that a
// test cannot seed a board Grafana could not hold.
func (s *Server) AddDashboard(d Dashboard) {
	if !validUID(d.UID) {
		panic(fmt.Sprintf("grafanatest: AddDashboard: invalid uid %q", d.UID))
	}
	d.Tags = slices.Clone(d.Tags)
	if d.Slug == "" {
		d.Slug = Slugify(d.Title)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d.Folder != "" && s.folderByTitle(d.Folder) == nil {
		s.lastID++
		slug := Slugify(d.Folder)
		s.folders = append(s.folders, &folder{id: s.lastID, uid: "f-" + slug, title: d.Folder, slug: slug})
	}
	for _, old := range s.dashboards {
		if old.UID == d.UID {
			old.Dashboard = d
			old.version++
			return
		}
	}
	s.lastID++
	s.dashboards = append(s.dashboards, &dashboard{Dashboard: d, id: s.lastID, version: 1, created: time.Now().UTC()})
}

// DashboardURL is the url the API answers for the board: <sub path>/d/<uid>/<slug>.
func (s *Server) DashboardURL(uid string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dashboardByUID(uid)
	if d == nil {
		return "", false
	}
	return s.dashboardURL(d), true
}

// Calls returns every call received so far, in order.
func (s *Server) Calls() []Call {
	return s.calls.All(func(c Call) Call {
		c.Query = fakeapi.CloneValues(c.Query)
		return c
	})
}

// CallCount returns how many calls of route were received, rejected ones
// included; "" counts every call.
func (s *Server) CallCount(route string) int {
	return s.calls.Count(func(c Call) bool { return route == "" || c.Route == route })
}

// FailNext makes the next call of route (RouteDashboard or RouteSearch)
// meet f. Faults queue: calling FailNext twice fails the next two calls, in
// order. It panics on any other route, so that a typo cannot silently
// leave a test without its fault.
func (s *Server) FailNext(route string, f Fault) {
	if route != RouteDashboard && route != RouteSearch {
		panic(fmt.Sprintf("grafanatest: FailNext: no route %q (want %q or %q)", route, RouteDashboard, RouteSearch))
	}
	s.faults.Push(route, f)
}

// Slugify makes a URL name from a title the way Grafana's slugify does for
// ASCII titles: lower case, runs of anything but letters and digits made
// one "-", no "-" at either end. (Grafana keeps some non-ASCII letters;
// the fake drops them.)
func Slugify(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

// reply is a handler's answer.
type reply struct {
	status int
	body   any    // JSON
	html   string // sent as text/html instead of body when set
	header http.Header
}

func message(status int, msg string) reply {
	return reply{status: status, body: map[string]any{"message": msg}}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: r.Method, Query: r.URL.Query(), Time: time.Now()}
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		call.Token = strings.TrimSpace(bearer)
	}
	path, inSub := strings.CutPrefix(r.URL.Path, s.subPath)
	call.Path = path
	var uid string
	switch {
	case !inSub:
	case r.Method == http.MethodGet && path == "/api/search":
		call.Route = RouteSearch
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/api/dashboards/uid/"):
		uid = strings.TrimPrefix(path, "/api/dashboards/uid/")
		if uid != "" && !strings.Contains(uid, "/") {
			call.Route = RouteDashboard
		}
	}
	if call.Route == "" {
		// Grafana's answer for an API path it has no handler for.
		s.answer(w, &call, message(http.StatusNotFound, "Not found"))
		return
	}

	if f, ok := s.takeFault(call.Route); ok {
		if !fakeapi.Sleep(r, f.Delay) {
			s.record(call)
			return
		}
		if f.Status != 0 {
			s.answer(w, &call, faultReply(f))
			return
		}
	}
	if rep, ok := s.authenticate(r); !ok {
		s.answer(w, &call, rep)
		return
	}
	s.mu.Lock()
	var rep reply
	if call.Route == RouteSearch {
		rep = s.search(r.URL.Query())
	} else {
		rep = s.getDashboard(uid)
	}
	s.mu.Unlock()
	s.answer(w, &call, rep)
}

// authenticate checks the bearer token. Without credentials Grafana
// answers its generic 401; with a token it does not know, the API-key
// client's error (pkg/services/authn/clients/api_key.go: "api-key.invalid",
// "Invalid API key"), which service-account tokens share.
func (s *Server) authenticate(r *http.Request) (reply, bool) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return message(http.StatusUnauthorized, "Unauthorized"), false
	}
	if tok, ok := strings.CutPrefix(authz, "Bearer "); ok && strings.TrimSpace(tok) == s.token {
		return reply{}, true
	}
	return reply{status: http.StatusUnauthorized, body: map[string]any{
		"message":    "Invalid API key",
		"messageId":  "api-key.invalid",
		"statusCode": http.StatusUnauthorized,
	}}, false
}

func faultReply(f Fault) reply {
	rep := reply{status: f.Status, header: http.Header{}}
	retryAfter := f.RetryAfter
	if f.Status == http.StatusTooManyRequests {
		retryAfter = max(retryAfter, time.Second)
	}
	if retryAfter > 0 {
		rep.header.Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
	}
	switch f.Status {
	case http.StatusInternalServerError:
		rep.body = map[string]any{"message": "Internal Server Error"}
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		text := fmt.Sprintf("%d %s", f.Status, http.StatusText(f.Status))
		rep.html = "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text + "</h1></center>\r\n</body>\r\n</html>\r\n"
	default:
		rep.body = map[string]any{"message": http.StatusText(f.Status)}
	}
	return rep
}

func (s *Server) answer(w http.ResponseWriter, call *Call, rep reply) {
	for k, vs := range rep.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	call.Status = rep.status
	s.record(*call)
	if rep.html != "" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(rep.status)
		_, _ = w.Write([]byte(rep.html))
		return
	}
	body, err := json.Marshal(rep.body)
	if err != nil {
		rep.status, body = http.StatusInternalServerError, []byte(`{"message":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = w.Write(body)
}

func (s *Server) record(call Call) { s.calls.Add(call) }

func (s *Server) takeFault(route string) (Fault, bool) {
	return s.faults.Pop(route)
}

func validUID(uid string) bool {
	if uid == "" || len(uid) > maxUID {
		return false
	}
	for _, r := range uid {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
