// Package alertmanager is a small typed client of Alertmanager's API v2
// for silences: create, find, expire. The webhook payloads Alertmanager
// sends are in package payload below it.
package alertmanager

// Silences through Alertmanager's API v2 (api/v2/openapi.yaml): four calls
// on a small typed client rather than the generated go-openapi client, whose
// runtime brings some thirty modules (go-openapi/*, OpenTelemetry) for what
// is four JSON endpoints here.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Silence states as Alertmanager reports them: pending before startsAt,
// active from startsAt (inclusive) to endsAt (exclusive), expired after.
const (
	StatePending = "pending"
	StateActive  = "active"
	StateExpired = "expired"
)

// Limits on what the client reads back; a silence list is small JSON, an
// error a line of text.
const (
	maxListBody  = 32 << 20
	maxBody      = 1 << 20
	maxErrorBody = 4 << 10
)

// DefaultTimeout bounds one call when NewSilenceClient is given no client.
const DefaultTimeout = 15 * time.Second

// ErrSilenceNotFound is what Get and Expire return (wrapped in an *Error)
// for a silence Alertmanager does not know: never made, or expired longer
// ago than its retention (--data.retention, 120h by default).
var ErrSilenceNotFound = errors.New("silence not found")

// Matcher is one matcher of a silence, as API v2 spells it. The zero IsEqual
// is a negative matcher (!= or !~): set it for = and =~.
type Matcher struct {
	Name, Value      string
	IsRegex, IsEqual bool
}

// String renders the matcher in Alertmanager's matcher syntax, as the
// filter parameter and amtool take it: name="value", name!~"regex".
func (m Matcher) String() string {
	var op string
	switch {
	case m.IsEqual && m.IsRegex:
		op = "=~"
	case m.IsEqual:
		op = "="
	case m.IsRegex:
		op = "!~"
	default:
		op = "!="
	}
	return m.Name + op + strconv.Quote(m.Value)
}

// Silence is a silence as sent to and read from Alertmanager. ID and State
// are Alertmanager's: Get and Find fill them in, Create takes neither.
type Silence struct {
	ID                 string
	Matchers           []Matcher
	StartsAt, EndsAt   time.Time
	CreatedBy, Comment string
	State              string // StatePending, StateActive or StateExpired
}

// SilenceClient calls the silence endpoints of one Alertmanager. It is safe
// for concurrent use.
type SilenceClient struct {
	base string // scheme://host[/prefix], no trailing slash
	hc   *http.Client
}

// NewSilenceClient returns a client for the Alertmanager at baseURL (its
// external URL, with the route prefix if it has one:
// "http://alertmanager:9093" or "https://example.org/alertmanager"). A nil
// hc means a client with a 15 s timeout; pass one with a Transport to add
// authentication.
func NewSilenceClient(baseURL string, hc *http.Client) *SilenceClient {
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	return &SilenceClient{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// Create makes a new silence and returns its ID. A zero StartsAt means now,
// by Alertmanager's clock (which also moves a start in the past to now);
// EndsAt is required and must be in the future. Alertmanager answers 400 with its
// reason for invalid matchers (a bad label name or regular expression, or
// matchers that all match the empty string) and bad times, 422 for a
// missing field: both come back as an *Error with its status and reason.
//
// s.ID must be empty: Alertmanager would take an ID as "update that
// silence", which is not what a create means. A create whose outcome is
// unknown (a 5xx, or no answer) may have made the silence: Find it by
// the comment before creating again.
func (c *SilenceClient) Create(ctx context.Context, s Silence) (string, error) {
	if s.ID != "" {
		return "", fmt.Errorf("alertmanager: create silence: has ID %q already", s.ID)
	}
	if len(s.Matchers) == 0 {
		return "", errors.New("alertmanager: create silence: no matchers")
	}
	if s.EndsAt.IsZero() {
		return "", errors.New("alertmanager: create silence: no end time")
	}
	body := postableSilence{
		Matchers:  make([]wireMatcher, 0, len(s.Matchers)),
		StartsAt:  s.StartsAt.UTC(),
		EndsAt:    s.EndsAt.UTC(),
		CreatedBy: s.CreatedBy,
		Comment:   s.Comment,
	}
	for _, m := range s.Matchers {
		isEqual := m.IsEqual
		body.Matchers = append(body.Matchers, wireMatcher{Name: m.Name, Value: m.Value, IsRegex: m.IsRegex, IsEqual: &isEqual})
	}
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/v2/silences", nil, body, &out, maxBody); err != nil {
		return "", fmt.Errorf("alertmanager: create silence: %w", err)
	}
	if out.SilenceID == "" {
		return "", errors.New("alertmanager: create silence: answer has no silenceID")
	}
	return out.SilenceID, nil
}

// Expire ends the silence now (DELETE /api/v2/silence/{id}); a pending one
// never starts. Expiring a silence that has expired already is success:
// Alertmanager answers 200 to it (seen on 0.25; 0.35's code returns nil
// for it too), and a 500 whose message says "already expired", as older
// releases may answer, counts as success as well. An unknown ID is
// ErrSilenceNotFound: Alertmanager 0.35 answers 404, as its OpenAPI spec
// says, while 0.25 answers 500 "silence not found". An ID that is not a
// UUID is refused with 422.
func (c *SilenceClient) Expire(ctx context.Context, id string) error {
	err := c.do(ctx, http.MethodDelete, "/api/v2/silence/"+url.PathEscape(id), nil, nil, nil, maxBody)
	var ae *Error
	if errors.As(err, &ae) && ae.Status == http.StatusInternalServerError && strings.Contains(ae.Message, "already expired") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("alertmanager: expire silence %s: %w", id, err)
	}
	return nil
}

// Get reads one silence (GET /api/v2/silence/{id}), expired ones included
// until Alertmanager forgets them. An unknown ID is ErrSilenceNotFound.
func (c *SilenceClient) Get(ctx context.Context, id string) (Silence, error) {
	var g gettableSilence
	if err := c.do(ctx, http.MethodGet, "/api/v2/silence/"+url.PathEscape(id), nil, nil, &g, maxBody); err != nil {
		return Silence{}, fmt.Errorf("alertmanager: get silence %s: %w", id, err)
	}
	return g.silence(), nil
}

// Find returns the active and pending silences whose comment contains text,
// in Alertmanager's order (active ones first, soonest to end first; then
// pending ones, soonest to start first). It is how a create that may have
// happened finds the silence: put a unique marker in the comment. An empty
// text is refused, since it would match every silence.
func (c *SilenceClient) Find(ctx context.Context, text string) ([]Silence, error) {
	if text == "" {
		return nil, errors.New("alertmanager: find silences: empty comment text")
	}
	// expired=false spares reading the expired ones where Alertmanager
	// knows the parameter (0.35 does); 0.25 ignores it, so the state is
	// checked here as well.
	q := url.Values{"expired": {"false"}}
	var list []gettableSilence
	if err := c.do(ctx, http.MethodGet, "/api/v2/silences", q, nil, &list, maxListBody); err != nil {
		return nil, fmt.Errorf("alertmanager: find silences: %w", err)
	}
	var out []Silence
	for _, g := range list {
		s := g.silence()
		if (s.State == StateActive || s.State == StatePending) && strings.Contains(s.Comment, text) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Error is Alertmanager's answer to a failed call: the HTTP status and its
// message. Alertmanager's handlers send the message as a JSON string
// ("silence invalid: ..."); its request validation sends
// {"code":602,"message":"comment in body is required"} with 422.
type Error struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, msg)
}

// Is makes errors.Is(err, ErrSilenceNotFound) hold for Alertmanager's two
// ways of saying so.
func (e *Error) Is(target error) bool {
	return target == ErrSilenceNotFound && e.notFound()
}

func (e *Error) notFound() bool {
	return e.Status == http.StatusNotFound ||
		e.Status == http.StatusInternalServerError && e.Message == "silence not found"
}

// Wire types of api/v2/openapi.yaml.

type wireMatcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	// isEqual defaults to true; Alertmanager before 0.22 does not send it.
	IsEqual *bool `json:"isEqual,omitempty"`
}

type postableSilence struct {
	Matchers  []wireMatcher `json:"matchers"`
	StartsAt  time.Time     `json:"startsAt"`
	EndsAt    time.Time     `json:"endsAt"`
	CreatedBy string        `json:"createdBy"`
	Comment   string        `json:"comment"`
}

type gettableSilence struct {
	ID     string `json:"id"`
	Status struct {
		State string `json:"state"`
	} `json:"status"`
	UpdatedAt time.Time     `json:"updatedAt"`
	Matchers  []wireMatcher `json:"matchers"`
	StartsAt  time.Time     `json:"startsAt"`
	EndsAt    time.Time     `json:"endsAt"`
	CreatedBy string        `json:"createdBy"`
	Comment   string        `json:"comment"`
}

func (g *gettableSilence) silence() Silence {
	s := Silence{
		ID:        g.ID,
		Matchers:  make([]Matcher, 0, len(g.Matchers)),
		StartsAt:  g.StartsAt,
		EndsAt:    g.EndsAt,
		CreatedBy: g.CreatedBy,
		Comment:   g.Comment,
		State:     g.Status.State,
	}
	for _, m := range g.Matchers {
		isEqual := m.IsEqual == nil || *m.IsEqual
		s.Matchers = append(s.Matchers, Matcher{Name: m.Name, Value: m.Value, IsRegex: m.IsRegex, IsEqual: isEqual})
	}
	return s
}

// do sends one request with an optional JSON body and decodes a 200 answer
// into out (when not nil). Any other status is an *Error.
func (c *SilenceClient) do(ctx context.Context, method, path string, q url.Values, in, out any, limit int64) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Message: errorMessage(b)}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return nil
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, limit))
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// errorMessage reads Alertmanager's error body: a JSON string from its
// handlers, {"code":…,"message":…} from request validation, or anything
// else (a proxy's page) as trimmed text.
func errorMessage(b []byte) string {
	b = bytes.TrimSpace(b)
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	var v struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &v) == nil && v.Message != "" {
		return v.Message
	}
	const maxShown = 512
	if len(b) > maxShown {
		b = append(b[:maxShown:maxShown], "…"...)
	}
	return strings.ToValidUTF8(string(b), "")
}
