// Package jiratest is a strict, stateful, in-process fake of Jira's REST API
// v2, in its Cloud and Data Center flavours, for warroom's tests and `warroom
// demo`. It answers the endpoints warroom calls the way Jira documents them
// and rejects what Jira rejects (an issue type the project lacks, fields that
// are not on the screen, summaries with line breaks or over 255 characters,
// labels with spaces, transitions that are not available from the issue's
// status, Cloud's removed search endpoint, JQL it does not understand), with
// Jira's error shape:
//
//	{"errorMessages":["..."],"errors":{"field":"message"}}
//
// Point a go-jira client at it with
//
//	tp := jira.BasicAuthTransport{Username: jiratest.DefaultEmail, Password: jiratest.DefaultAPIToken}
//	client, err := jira.NewClient(tp.Client(), s.URL())
//
// for Cloud (the default), or with jira.PATAuthTransport{Token:
// jiratest.DefaultPAT} for a Server made WithDeployment(jiratest.DataCenter).
//
// FailNext injects rate limits, server errors, delays and lost answers.
package jiratest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"mime"
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

// The credentials a new Server accepts.
const (
	DefaultEmail    = "bot@example.com"
	DefaultAPIToken = "test-api-token"
	DefaultPAT      = "test-pat"
)

// The deployments WithDeployment accepts.
const (
	Cloud      = "cloud"
	DataCenter = "datacenter"
)

// Limits Jira documents or enforces; past them the fake answers Jira's error.
const (
	// The summary is a varchar(255) (SummaryField.MAX_LEN); Jira counts Java
	// chars, that is UTF-16 code units.
	maxSummary = 255
	// Multi-line text (description, comment body): "The entered text is too
	// long. It exceeds the allowed limit of 32,767 characters."
	// (jira.text.field.character.limit, default 32767).
	maxText = 32767
	// A single label is at most 255 characters (LabelParser.MAX_LABEL_LENGTH).
	maxLabel = 255
	// The fake refuses request bodies over 1 MiB with 413, as Atlassian's edge
	// refuses oversized requests.
	maxBody = 1 << 20
	// Search page sizes: default 50 everywhere. /rest/api/2/search/jql
	// "returns max 5000 issues" per page when only id or key is requested and
	// "may return fewer items per page where a large number of fields ... are
	// requested"; the fake pages those by 100 so that callers must follow
	// nextPageToken
	// (https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issue-search/).
	// Data Center caps /rest/api/2/search at jira.search.views.default.max, 1000
	// by default.
	defaultPage         = 50
	maxPageJQLKeys      = 5000
	maxPageJQLFields    = 100
	maxPageDataCenter   = 1000
	defaultCommentsPage = 5000
)

// Option changes how New sets up the Server.
type Option func(*Server)

// WithDeployment makes the Server a Jira Cloud site (Cloud, the default) or a
// Jira Data Center instance (DataCenter). It decides the authentication, the
// search endpoints and some error wordings. New panics on any other value.
func WithDeployment(d string) Option {
	return func(s *Server) { s.deployment = d }
}

// WithBasicAuth sets the email and API token a Cloud Server accepts as basic
// authentication, instead of DefaultEmail and DefaultAPIToken.
func WithBasicAuth(email, apiToken string) Option {
	return func(s *Server) { s.email, s.apiToken = email, apiToken }
}

// WithBearer sets the personal access token a Data Center Server accepts as
// "Authorization: Bearer", instead of DefaultPAT.
func WithBearer(pat string) Option {
	return func(s *Server) { s.pat = pat }
}

// WithSearchLag makes a new issue appear in search results only d after it
// was created, as Jira Cloud's search index lags behind writes ("Recent
// updates might not be immediately visible in the returned search results").
// On Cloud an issue whose ID is listed in reconcileIssues is visible at once,
// as documented. GET /rest/api/2/issue/{key} sees the issue immediately.
func WithSearchLag(d time.Duration) Option {
	return func(s *Server) { s.searchLag = d }
}

// WithClock makes the Server read the time from now instead of time.Now: for
// timestamps and for WithSearchLag, so that a test can move time on instead
// of sleeping.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// Fault is what the next call of a route meets instead of its normal answer,
// before its credentials are checked. Delay is waited first (or until the
// client gives up). Then a Status other than 0 is answered with no state
// change: 429 always carries Retry-After in whole seconds (at least 1) and
// X-RateLimit-Reset, as Jira Cloud's rate limiter sends them; any status
// carries Retry-After when RetryAfter is set. A Fault with Status 0 and Lost
// false only delays the call.
//
// Lost makes the call take effect and then answers Status (default 500): the
// answer lost on the way back, the case where a retry must find what the
// first attempt made instead of making it again.
//
// Hang, with Lost, holds the answer after the call took effect until the
// client goes away: a process killed (or timed out) in the middle of a
// call that reached Jira.
type Fault struct {
	Status     int
	RetryAfter time.Duration
	Delay      time.Duration
	Lost       bool
	Hang       bool
}

// Issue is a copy of an issue's state.
type Issue struct {
	Key, ID     string
	Project     string // the project key
	IssueType   string // the issue type name
	Priority    string // the priority name
	Summary     string
	Description string
	Status      string // "To Do", "In Progress" or "Done"
	Resolution  string // "" while unresolved
	Labels      []string
	Components  []string
	Custom      map[string]any // custom field ID → value as decoded from JSON
	Comments    []Comment      // oldest first
	Links       []Link         // in the order they were made
	Attachments []Attachment   // in the order they were added
	Created     time.Time
}

// Comment is a copy of a comment.
type Comment struct {
	ID, Body string
	Created  time.Time
}

// Link is one end of an issue link as the issue shows it: Direction
// "outward" means the issue "<Type's outward words>" Key (it was the
// inwardIssue of POST /rest/api/2/issueLink), "inward" the reverse. For
// example {"Blocks", "outward", "OPS-2"} on OPS-1 reads "OPS-1 blocks OPS-2".
type Link struct {
	Type, Direction, Key string
}

// Call is one request the Server received, rejected ones included.
type Call struct {
	Method string
	Path   string
	Route  string // the route pattern it matched, "GET /rest/api/2/issue/{key}"; "" when none
	Query  url.Values
	Body   string
	Time   time.Time
	Status int // the HTTP status answered; 0 when the client went away first
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	http       *httptest.Server
	deployment string
	email      string
	apiToken   string
	pat        string
	searchLag  time.Duration
	now        func() time.Time

	mu           sync.Mutex
	projects     []*project
	issueTypes   []*issueType
	priorities   []*priority
	resolutions  []*resolution
	statuses     []*status
	transitions  []*transition
	linkTypes    []*linkType
	customFields []*customField
	issues       []*issue // in creation order
	lastID       int      // the last ID handed out to an issue, comment, link, project, …
	calls        fakeapi.Log[Call]
	faults       fakeapi.Faults[Fault]
}

// New starts a Server on a loopback port, seeded with project OPS
// ("Operations", issue types Incident and Bug), priorities Highest to Lowest,
// resolutions Done and Won't Do, the workflow To Do → In Progress → Done with
// transitions "Start Progress", "Done" (its screen has Resolution) and
// "Reopen" (clears the resolution), the link types Relates and Blocks, and the
// custom field customfield_10001 ("Team", a string) on Incident's create
// screen. Close it when done.
func New(opts ...Option) *Server {
	s := &Server{
		deployment: Cloud,
		email:      DefaultEmail,
		apiToken:   DefaultAPIToken,
		pat:        DefaultPAT,
		now:        time.Now,
		lastID:     10000,
	}
	for _, opt := range opts {
		opt(s)
	}
	if s.deployment != Cloud && s.deployment != DataCenter {
		panic(fmt.Sprintf("jiratest: deployment %q: want %q or %q", s.deployment, Cloud, DataCenter))
	}
	s.seed()
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the Jira base URL, for jira.NewClient.
func (s *Server) URL() string { return s.http.URL }

// Close shuts the server down, waiting for calls under way.
func (s *Server) Close() { s.http.Close() }

// AddProject adds a project with the seeded workflow and the named issue
// types, creating the types that do not exist yet. Adding a key that exists
// replaces nothing and only adds the missing issue types to it.
func (s *Server) AddProject(key, name string, issueTypes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByKey(key)
	if p == nil {
		s.lastID++
		p = &project{id: strconv.Itoa(s.lastID), key: key, name: name}
		s.projects = append(s.projects, p)
	}
	for _, n := range issueTypes {
		it := s.issueTypeByName(n)
		if it == nil {
			s.lastID++
			it = &issueType{id: strconv.Itoa(s.lastID), name: n}
			s.issueTypes = append(s.issueTypes, it)
		}
		if !slices.Contains(p.issueTypes, it) {
			p.issueTypes = append(p.issueTypes, it)
		}
	}
}

// AddComponent adds a component to a project, so that issues may name it. It
// reports whether the project exists.
func (s *Server) AddComponent(projectKey, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.projectByKey(projectKey)
	if p == nil {
		return false
	}
	if p.component(name) == nil {
		s.lastID++
		p.components = append(p.components, &component{id: strconv.Itoa(s.lastID), name: name})
	}
	return true
}

// AddCustomField adds a string custom field, or changes the one with that ID.
// With onScreen it is on the create and edit screens of every issue type in
// every project; without, setting it answers Jira's "cannot be set. It is not
// on the appropriate screen, or unknown".
func (s *Server) AddCustomField(id, name string, onScreen bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.customField(id)
	if f == nil {
		f = &customField{id: id}
		s.customFields = append(s.customFields, f)
	}
	f.name, f.everywhere, f.issueTypes = name, onScreen, nil
}

// Issues returns every issue in the order they were created.
func (s *Server) Issues() []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Issue, 0, len(s.issues))
	for _, is := range s.issues {
		out = append(out, is.copy())
	}
	return out
}

// Issue returns the issue with that key.
func (s *Server) Issue(key string) (Issue, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.issueByRef(key)
	if is == nil {
		return Issue{}, false
	}
	return is.copy(), true
}

// Calls returns every call received so far, in order.
func (s *Server) Calls() []Call {
	return s.calls.All(func(c Call) Call {
		c.Query = fakeapi.CloneValues(c.Query)
		return c
	})
}

// CallCount returns how many calls with that method ("" for any) whose path
// starts with pathPrefix were received, rejected ones included.
func (s *Server) CallCount(method, pathPrefix string) int {
	return s.calls.Count(func(c Call) bool {
		return (method == "" || c.Method == method) && strings.HasPrefix(c.Path, pathPrefix)
	})
}

// FailNext makes the next call of a route meet f. A route is a method and a
// path pattern as the Server serves it:
//
//	GET  /rest/api/2/serverInfo
//	GET  /rest/api/2/myself
//	GET  /rest/api/2/priority
//	GET  /rest/api/2/project/{key}
//	GET  /rest/api/2/issue/createmeta/{projectKey}/issuetypes
//	GET  /rest/api/2/issue/createmeta/{projectKey}/issuetypes/{issueTypeId}
//	POST /rest/api/2/issue
//	GET  /rest/api/2/issue/{key}
//	PUT  /rest/api/2/issue/{key}
//	GET  /rest/api/2/issue/{key}/comment
//	POST /rest/api/2/issue/{key}/comment
//	GET  /rest/api/2/issue/{key}/transitions
//	POST /rest/api/2/issue/{key}/transitions
//	POST /rest/api/2/issueLink
//	POST /rest/api/2/issue/{key}/attachments
//	GET  /rest/api/2/search/jql, POST /rest/api/2/search/jql (Cloud)
//	GET  /rest/api/2/search, POST /rest/api/2/search (both; 410 on Cloud)
//
// with a single space between method and path ("POST /rest/api/2/issue").
// Faults queue: calling FailNext twice fails the next two calls, in order.
// FailNext panics on a route the Server does not serve, so that a typo cannot
// silently leave a test without its fault.
func (s *Server) FailNext(pattern string, f Fault) {
	if !slices.ContainsFunc(s.routes(), func(rt route) bool { return rt.pattern() == pattern }) {
		panic(fmt.Sprintf("jiratest: FailNext: no route %q", pattern))
	}
	s.faults.Push(pattern, f)
}

// Routing.

// request is what a handler sees of a call.
type request struct {
	http   *http.Request
	params map[string]string // {key}, {projectKey}, {issueTypeId}
	query  url.Values
	body   []byte
}

// reply is a handler's answer: a JSON body (nil for none) with a status.
type reply struct {
	status int
	body   any
	header http.Header
	// text, when set, is sent as text/plain instead of body.
	text string
}

type route struct {
	method    string
	path      string // segments, with {name} for a parameter
	anonymous bool   // answered without credentials, as Jira answers it
	handle    func(*request) reply
}

func (rt route) pattern() string { return rt.method + " " + rt.path }

// routes lists what the Server serves. The deployment decides the search
// endpoints: Cloud answers /search with 410 Gone and serves /search/jql; Data
// Center serves /search and has no /search/jql.
func (s *Server) routes() []route {
	const api = "/rest/api/2"
	rs := []route{
		{"GET", api + "/serverInfo", true, s.serverInfo},
		{"GET", api + "/myself", false, s.myself},
		{"GET", api + "/priority", false, s.priorityList},
		{"GET", api + "/project/{key}", false, s.getProject},
		{"GET", api + "/issue/createmeta/{projectKey}/issuetypes", false, s.createMetaIssueTypes},
		{"GET", api + "/issue/createmeta/{projectKey}/issuetypes/{issueTypeId}", false, s.createMetaFields},
		{"POST", api + "/issue", false, s.createIssue},
		{"GET", api + "/issue/{key}", false, s.getIssue},
		{"PUT", api + "/issue/{key}", false, s.editIssue},
		{"GET", api + "/issue/{key}/comment", false, s.listComments},
		{"POST", api + "/issue/{key}/comment", false, s.addComment},
		{"GET", api + "/issue/{key}/transitions", false, s.listTransitions},
		{"POST", api + "/issue/{key}/transitions", false, s.doTransition},
		{"POST", api + "/issueLink", false, s.addLink},
		{"POST", api + "/issue/{key}/attachments", false, s.addAttachments},
	}
	if s.deployment == Cloud {
		rs = append(rs,
			route{"GET", api + "/search/jql", false, s.searchJQL},
			route{"POST", api + "/search/jql", false, s.searchJQL},
			route{"GET", api + "/search", false, s.searchGone},
			route{"POST", api + "/search", false, s.searchGone},
		)
	} else {
		rs = append(rs,
			route{"GET", api + "/search", false, s.searchDataCenter},
			route{"POST", api + "/search", false, s.searchDataCenter},
		)
	}
	return rs
}

// match finds the route for a request. Literal segments win over parameters,
// so /issue/createmeta/… is never read as an issue key. It reports whether
// some route has the path with another method.
func (s *Server) match(method, path string) (rt route, params map[string]string, found, otherMethod bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best := -1
	for _, cand := range s.routes() {
		ps, literals, ok := matchPath(cand.path, segs)
		if !ok {
			continue
		}
		if cand.method != method {
			otherMethod = true
			continue
		}
		if literals > best {
			rt, params, best = cand, ps, literals
		}
	}
	return rt, params, best >= 0, otherMethod
}

func matchPath(pattern string, segs []string) (params map[string]string, literals int, ok bool) {
	pat := strings.Split(strings.Trim(pattern, "/"), "/")
	if len(pat) != len(segs) {
		return nil, 0, false
	}
	params = map[string]string{}
	for i, p := range pat {
		if strings.HasPrefix(p, "{") {
			if segs[i] == "" {
				return nil, 0, false
			}
			params[strings.Trim(p, "{}")] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, 0, false
		}
		literals++
	}
	return params, literals, true
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, tooLarge := readBody(r)
	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(body), Time: s.now()}
	rt, params, found, otherMethod := s.match(r.Method, r.URL.Path)
	if found {
		call.Route = rt.pattern()
	}

	if f, ok := s.takeFault(call.Route); ok {
		if !fakeapi.Sleep(r, f.Delay) {
			s.record(call)
			return
		}
		if f.Lost {
			_ = s.process(r, rt, params, found, otherMethod, body, tooLarge)
			if f.Hang {
				<-r.Context().Done()
				s.record(call)
				return
			}
			if f.Status == 0 {
				f.Status = http.StatusInternalServerError
			}
			s.answer(w, &call, s.faultReply(f))
			return
		}
		if f.Status != 0 {
			s.answer(w, &call, s.faultReply(f))
			return
		}
	}
	s.answer(w, &call, s.process(r, rt, params, found, otherMethod, body, tooLarge))
}

// process checks a call as Jira does (size, route, credentials, media type,
// JSON) and runs its handler under the lock.
func (s *Server) process(r *http.Request, rt route, params map[string]string, found, otherMethod bool, body []byte, tooLarge bool) reply {
	switch {
	case tooLarge:
		return errorReply(http.StatusRequestEntityTooLarge, "Request body is larger than 1 MiB.")
	case !found && otherMethod:
		return reply{status: http.StatusMethodNotAllowed, header: http.Header{"Allow": {s.allowed(r.URL.Path)}}}
	case !found:
		// Jersey's answer for a resource Jira does not have.
		return errorReply(http.StatusNotFound, "null for uri: "+s.http.URL+r.URL.RequestURI())
	}
	if !rt.anonymous {
		if rep, ok := s.authenticate(r); !ok {
			return rep
		}
	}
	if len(bytes.TrimSpace(body)) > 0 && rt.pattern() != attachRoute { // attachments are multipart
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			return reply{status: http.StatusUnsupportedMediaType}
		}
		if !json.Valid(body) {
			var v any
			err := json.Unmarshal(body, &v)
			return errorReply(http.StatusBadRequest, fmt.Sprintf("Unexpected character in the request body: %v", err))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return rt.handle(&request{http: r, params: params, query: r.URL.Query(), body: body})
}

func (s *Server) allowed(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var methods []string
	for _, rt := range s.routes() {
		if _, _, ok := matchPath(rt.path, segs); ok && !slices.Contains(methods, rt.method) {
			methods = append(methods, rt.method)
		}
	}
	return strings.Join(methods, ", ")
}

// authenticate checks the credentials for the deployment: Cloud takes basic
// authentication with the account's email and an API token, Data Center a
// personal access token as a bearer token. Anything else, the other
// deployment's scheme included, is 401.
func (s *Server) authenticate(r *http.Request) (reply, bool) {
	authz := r.Header.Get("Authorization")
	if s.deployment == Cloud {
		user, pass, isBasic := r.BasicAuth()
		if isBasic && user == s.email && pass == s.apiToken {
			return reply{}, true
		}
		// Jira Cloud answers 401 in plain text, not in its JSON error shape.
		rep := reply{status: http.StatusUnauthorized, header: http.Header{
			"Www-Authenticate": {`OAuth realm="` + url.QueryEscape(s.http.URL) + `"`},
		}}
		if authz == "" {
			rep.text = "Client must be authenticated to access this resource."
			return rep, false
		}
		rep.header.Set("X-Seraph-Loginreason", "AUTHENTICATED_FAILED")
		rep.text = "Basic authentication with passwords is deprecated.  For more information, see: https://developer.atlassian.com/cloud/confluence/deprecation-notice-basic-auth/"
		return rep, false
	}
	if token, isBearer := strings.CutPrefix(authz, "Bearer "); isBearer && strings.TrimSpace(token) == s.pat {
		return reply{}, true
	}
	rep := errorReply(http.StatusUnauthorized, "You are not authenticated. Authentication required to perform this operation.")
	if authz != "" {
		rep.header = http.Header{"X-Seraph-Loginreason": {"AUTHENTICATED_FAILED"}}
	}
	return rep, false
}

func (s *Server) faultReply(f Fault) reply {
	rep := reply{status: f.Status, header: http.Header{}}
	retryAfter := f.RetryAfter
	if f.Status == http.StatusTooManyRequests {
		retryAfter = max(retryAfter, time.Second)
		secs := int(math.Ceil(retryAfter.Seconds()))
		// https://developer.atlassian.com/cloud/jira/platform/rate-limiting/:
		// Retry-After in seconds; X-RateLimit-Reset is an ISO 8601 timestamp.
		rep.header.Set("X-RateLimit-Reset", s.now().Add(time.Duration(secs)*time.Second).UTC().Format("2006-01-02T15:04Z"))
		rep.header.Set("RateLimit-Reason", "jira-burst-based")
		rep.body = errorBody([]string{"Rate limit exceeded."}, nil)
	} else {
		rep.text = fmt.Sprintf("jiratest: injected %d", f.Status)
	}
	if retryAfter > 0 {
		rep.header.Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
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
	switch {
	case rep.text != "":
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.text)
	case rep.body != nil:
		body, err := json.Marshal(rep.body)
		if err != nil {
			body = []byte(`{"errorMessages":["Internal server error"],"errors":{}}`)
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(rep.status)
		_, _ = w.Write(body)
	default:
		w.WriteHeader(rep.status)
	}
}

func (s *Server) record(call Call) { s.calls.Add(call) }

func (s *Server) takeFault(pattern string) (Fault, bool) {
	if pattern == "" {
		return Fault{}, false
	}
	return s.faults.Pop(pattern)
}

// readBody reads up to maxBody bytes and reports whether there was more.
func readBody(r *http.Request) (body []byte, tooLarge bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, false
	}
	if len(body) > maxBody {
		return body[:maxBody], true
	}
	return body, false
}

// Jira's error shape.

func errorBody(messages []string, fields map[string]string) map[string]any {
	if messages == nil {
		messages = []string{}
	}
	if fields == nil {
		fields = map[string]string{}
	}
	return map[string]any{"errorMessages": messages, "errors": fields}
}

func errorReply(status int, messages ...string) reply {
	return reply{status: status, body: errorBody(messages, nil)}
}

func fieldErrors(fields map[string]string) reply {
	return reply{status: http.StatusBadRequest, body: errorBody(nil, maps.Clone(fields))}
}

func jsonReply(status int, body any) reply { return reply{status: status, body: body} }
