// Package amtest is a strict, stateful, in-process fake of Alertmanager's
// silence API v2 (POST and GET /api/v2/silences, GET and DELETE
// /api/v2/silence/{id}), for warroom's tests and `warroom demo`. It keeps
// silences with their state taken from its clock (pending, active,
// expired), forgets expired ones after the retention as Alertmanager does,
// and refuses what Alertmanager refuses, with Alertmanager's status codes
// and messages: 422 for a missing field or a malformed ID, 400 for invalid
// matchers and times, 404 for an unknown silence, 415 for a body that is
// not JSON.
//
// The messages are those of Alertmanager 0.25, checked against the binary;
// where 0.35 differs (404 rather than 0.25's 500 for deleting an unknown
// silence, and the active/pending/expired list parameters, which 0.25
// ignores) the fake does what 0.35 and the OpenAPI spec say. FailNext
// injects server errors, delays and lost answers.
package amtest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/integrations/internal/fakeapi"
)

// Operations, named by their operationId in api/v2/openapi.yaml.
const (
	OpPostSilences  = "postSilences"
	OpGetSilences   = "getSilences"
	OpGetSilence    = "getSilence"
	OpDeleteSilence = "deleteSilence"
)

// DefaultRetention is how long Alertmanager keeps an expired silence
// (--data.retention, default 120h); after that GET and DELETE answer 404.
const DefaultRetention = 120 * time.Hour

// States a silence can be in.
const (
	StatePending = "pending"
	StateActive  = "active"
	StateExpired = "expired"
)

// Matcher is one matcher of a silence.
type Matcher struct {
	Name, Value      string
	IsRegex, IsEqual bool
}

// Silence is a copy of a silence as the fake holds it, State computed from
// the fake's clock.
type Silence struct {
	ID                 string
	Matchers           []Matcher
	StartsAt, EndsAt   time.Time
	UpdatedAt          time.Time
	CreatedBy, Comment string
	State              string
}

// Fault is what the next call of an operation meets instead of its normal
// answer. Delay is waited first (or until the client gives up). Lost makes
// the call take effect and then answers Status (default 500): the answer
// lost on the way back. Otherwise a Status other than 0 is answered with no
// state change. Body is the answer's body, sent as application/json; empty
// means a JSON string naming the fault, the way Alertmanager's handlers
// word their errors.
type Fault struct {
	Status int
	Body   string
	Delay  time.Duration
	Lost   bool
}

// Call is one request the Server received, refused ones included.
type Call struct {
	Op     string // one of the Op constants; "" for an unknown path
	Method string
	Path   string
	Query  url.Values
	Body   string
	Time   time.Time // by the fake's clock
	Status int       // the status answered; 0 when the client went away first
}

// Option changes how New sets up the Server.
type Option func(*Server)

// WithClock makes now the fake's clock, for states, start times and
// retention. Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Server) { s.now = now }
}

// WithRetention sets how long expired silences are kept. Default
// DefaultRetention.
func WithRetention(d time.Duration) Option {
	return func(s *Server) { s.retention = d }
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	http      *httptest.Server
	now       func() time.Time
	retention time.Duration

	mu       sync.Mutex
	silences []*Silence // in creation order
	calls    fakeapi.Log[Call]
	faults   fakeapi.Faults[Fault]
}

// New starts a Server on a loopback port. Close it when done.
func New(opts ...Option) *Server {
	s := &Server{
		now:       time.Now,
		retention: DefaultRetention,
	}
	for _, opt := range opts {
		opt(s)
	}
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is Alertmanager's base URL, without a trailing slash.
func (s *Server) URL() string { return s.http.URL }

// Close shuts the server down, waiting for calls under way.
func (s *Server) Close() { s.http.Close() }

// AddSilence stores a silence as given, without Alertmanager's checks, so a
// test can seed any state (an expired silence, say), and returns its ID:
// sil.ID, or a new one when that is empty.
func (s *Server) AddSilence(sil Silence) (id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := sil
	c.Matchers = slices.Clone(sil.Matchers)
	if c.ID == "" {
		c.ID = newUUID()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = s.now().UTC()
	}
	c.State = ""
	s.silences = append(s.silences, &c)
	return c.ID
}

// Silences returns every silence the fake still keeps, expired ones
// included, in the order they were made.
func (s *Server) Silences() []Silence {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.gc()
	out := make([]Silence, 0, len(s.silences))
	for _, sil := range s.silences {
		out = append(out, copySilence(sil, now))
	}
	return out
}

// Silence returns one silence by ID.
func (s *Server) Silence(id string) (Silence, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.gc()
	if sil := s.byID(id); sil != nil {
		return copySilence(sil, now), true
	}
	return Silence{}, false
}

// Calls returns every call received so far, in order.
func (s *Server) Calls() []Call {
	return s.calls.All(func(c Call) Call {
		c.Query = fakeapi.CloneValues(c.Query)
		return c
	})
}

// CallCount returns how many calls of op were received, refused ones
// included.
func (s *Server) CallCount(op string) int {
	return s.calls.Count(func(c Call) bool { return c.Op == op })
}

// FailNext makes the next call of op meet f. Faults queue: calling FailNext
// twice fails the next two calls, in order.
func (s *Server) FailNext(op string, f Fault) {
	s.faults.Push(op, f)
}

// answer is what a handler returns: a status and a body to send as JSON
// (nil for none).
type answer struct {
	status int
	body   any
}

// swaggerError is go-swagger's error body, which Alertmanager's request
// validation answers with.
type swaggerError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Codes go-swagger puts in swaggerError.Code.
const (
	codeInvalidType = 601
	codeRequired    = 602
	codeTooFewItems = 612
)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	call := Call{Method: r.Method, Path: r.URL.Path, Query: fakeapi.CloneValues(r.URL.Query()), Body: string(body), Time: s.now()}
	op, id, res := route(r)
	call.Op = op
	if res != nil {
		s.write(w, call, *res)
		return
	}

	if f, found := s.takeFault(op); found {
		if !fakeapi.Sleep(r, f.Delay) {
			s.record(call)
			return
		}
		if f.Lost {
			_ = s.handle(op, id, r, body)
			if f.Status == 0 {
				f.Status = http.StatusInternalServerError
			}
		}
		if f.Status != 0 {
			s.writeFault(w, call, f)
			return
		}
	}
	s.write(w, call, s.handle(op, id, r, body))
}

// route finds the operation of a request, or the answer go-swagger's router
// gives to one it has none for.
func route(r *http.Request) (op, id string, res *answer) {
	const silences, silence = "/api/v2/silences", "/api/v2/silence/"
	switch {
	case r.URL.Path == silences && r.Method == http.MethodGet:
		return OpGetSilences, "", nil
	case r.URL.Path == silences && r.Method == http.MethodPost:
		return OpPostSilences, "", nil
	case r.URL.Path == silences:
		return "", "", methodNotAllowed(r.Method, "GET, POST")
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, silence); ok && rest != "" && !strings.Contains(rest, "/") {
		switch r.Method {
		case http.MethodGet:
			return OpGetSilence, rest, nil
		case http.MethodDelete:
			return OpDeleteSilence, rest, nil
		}
		return "", "", methodNotAllowed(r.Method, "DELETE, GET")
	}
	return "", "", &answer{http.StatusNotFound, swaggerError{http.StatusNotFound, fmt.Sprintf("path %s was not found", r.URL.Path)}}
}

func methodNotAllowed(method, allowed string) *answer {
	return &answer{http.StatusMethodNotAllowed, swaggerError{http.StatusMethodNotAllowed,
		fmt.Sprintf("method %s is not allowed, but [%s] are", method, allowed)}}
}

func (s *Server) handle(op, id string, r *http.Request, body []byte) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op {
	case OpPostSilences:
		return s.postSilences(r, body)
	case OpGetSilences:
		return s.getSilences(r.URL.Query())
	case OpGetSilence:
		return s.getSilence(id)
	case OpDeleteSilence:
		return s.deleteSilence(id)
	}
	return answer{http.StatusNotFound, nil}
}

func (s *Server) write(w http.ResponseWriter, call Call, res answer) {
	call.Status = res.status
	s.record(call)
	if res.body == nil {
		w.WriteHeader(res.status)
		return
	}
	b, err := json.Marshal(res.body)
	if err != nil {
		res.status, b = http.StatusInternalServerError, []byte(`"amtest: cannot encode answer"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(res.status)
	// Alertmanager's JSON answers end with a newline.
	_, _ = w.Write(append(b, '\n'))
}

func (s *Server) writeFault(w http.ResponseWriter, call Call, f Fault) {
	call.Status = f.Status
	s.record(call)
	body := f.Body
	if body == "" {
		b, _ := json.Marshal(fmt.Sprintf("amtest: injected %d", f.Status))
		body = string(b) + "\n"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, body)
}

func (s *Server) record(call Call) { s.calls.Add(call) }

func (s *Server) takeFault(op string) (Fault, bool) {
	return s.faults.Pop(op)
}

// newUUID returns a random (version 4) UUID, as Alertmanager's silence IDs are.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func copySilence(sil *Silence, now time.Time) Silence {
	out := *sil
	out.Matchers = slices.Clone(sil.Matchers)
	out.State = stateAt(sil, now)
	return out
}
