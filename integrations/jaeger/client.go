// Package jaeger is warroom's client for Jaeger's query service: it finds
// the failing traces of a service in a time window and builds links to the
// Jaeger UI. It asks the Query API v3 and falls back to the older internal
// HTTP API (/api/traces) when the v3 endpoints are not there. It holds no
// domain logic and imports no package of warroom.
//
// What was checked about Jaeger's APIs, and where, is written next to the
// code that depends on it (v3.go, v1.go, links.go).
package jaeger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Limits of the client.
const (
	// defaultTimeout bounds one call when New is given no http.Client; the
	// caller's context usually bounds it much sooner.
	defaultTimeout = 10 * time.Second
	// maxBody bounds an answer. A search answers whole traces, so a few
	// large ones can weigh megabytes; past this the call fails rather than
	// holding a war room's memory hostage.
	maxBody = 32 << 20
	// maxLimit bounds the traces one FailingTraces returns.
	maxLimit = 100
	// maxMessage is how much of an error message a Trace keeps, in runes.
	maxMessage = 200
	// v3Recheck is how long the client goes straight to the v1 API after
	// finding no Query API v3, before it asks v3 again (Jaeger may have been
	// upgraded meanwhile).
	v3Recheck = 10 * time.Minute
)

// Client asks one Jaeger query service. It is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
	now  func() time.Time

	mu          sync.Mutex
	v3MissingAt time.Time // when the Query API v3 was last found missing; zero: not seen missing
}

// New returns a client of the Jaeger query service at baseURL, the address
// of its UI and API (https://jaeger.example.com, or with the UI's base path,
// https://example.com/jaeger). hc nil: a client with a 10s timeout.
func New(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), hc: hc, now: time.Now}
}

// Trace is a failing trace as FailingTraces reports it.
type Trace struct {
	TraceID   string        // 32 lowercase hex digits
	Operation string        // the root span's operation
	Service   string        // the root span's service
	Start     time.Time     // when the earliest span started
	Duration  time.Duration // from the earliest start to the latest end
	Spans     int
	// ErrorSpan is "service: operation" of the span where the error began:
	// among the spans with an error, the earliest one none of whose
	// descendants has an error. When errors propagate up a call chain
	// (A → B → C, all marked), that is C, not the root A.
	ErrorSpan string
	// ErrorMessage is that span's status message, exception or error log;
	// when it has none, that of the nearest failing ancestor that has one.
	// White space is collapsed and it is cut to 200 characters.
	ErrorMessage string
}

// Error is Jaeger's answer to a failed call.
type Error struct {
	Path    string // "/api/v3/traces" or "/api/traces"
	Status  int
	Message string // Jaeger's own message, or the start of the body
}

func (e *Error) Error() string {
	return fmt.Sprintf("jaeger GET %s: HTTP %d: %s", e.Path, e.Status, e.Message)
}

// absentError reports that the query service does not serve the API asked
// at all: it answered with its UI page, a plain 404, 405 or 501.
type absentError struct {
	path, why string
}

func (e *absentError) Error() string {
	return fmt.Sprintf("jaeger GET %s: not served (%s)", e.path, e.why)
}

// FailingTraces returns up to limit traces of service with an error, whose
// failing span of service started in [start, end], newest first (by the
// trace's start; ties: the longer first). It asks the Query API v3 and,
// when the query service has none (Jaeger before v3, or one that answers
// /api/v3 with its UI page, a plain 404, 405 or 501), the v1 API. No
// failing trace is an empty result, not an error. limit ≤ 0 asks nothing;
// limit is at most 100. Having found no v3, the client asks v1 first for
// the next 10 minutes, and v3 again if v1 is not there either.
//
// A failure is an *Error when Jaeger answered one, or wraps the transport's
// error (context.DeadlineExceeded when ctx ran out).
func (c *Client) FailingTraces(ctx context.Context, service string, start, end time.Time, limit int) ([]Trace, error) {
	switch {
	case service == "":
		return nil, errors.New("jaeger: failing traces: no service")
	case !start.Before(end):
		return nil, fmt.Errorf("jaeger: failing traces of %q: empty window %s to %s",
			service, start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano))
	case limit <= 0:
		return nil, nil
	}
	limit = min(limit, maxLimit)

	type api struct {
		v3     bool
		search func(context.Context, string, time.Time, time.Time, int) ([]span, error)
	}
	order := []api{{true, c.searchV3}, {false, c.searchV1}}
	if c.skipV3() {
		order[0], order[1] = order[1], order[0]
	}
	var absent []error
	for _, a := range order {
		spans, err := a.search(ctx, service, start, end, limit)
		var ae *absentError
		if errors.As(err, &ae) {
			if a.v3 {
				c.setV3Missing(true)
			}
			absent = append(absent, err)
			continue
		}
		if err != nil {
			if len(absent) > 0 {
				// Only err is the cause; the APIs found absent are context and
				// must not change how the failure is classified.
				return nil, fmt.Errorf("jaeger: failing traces of %q: %w (%v)", service, err, errors.Join(absent...)) //nolint:errorlint // see above
			}
			return nil, fmt.Errorf("jaeger: failing traces of %q: %w", service, err)
		}
		if a.v3 {
			c.setV3Missing(false)
		}
		return failing(spans, service, limit), nil
	}
	return nil, fmt.Errorf("jaeger: failing traces of %q: no trace search API: %w", service, errors.Join(absent...))
}

func (c *Client) skipV3() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.v3MissingAt.IsZero() && c.now().Sub(c.v3MissingAt) < v3Recheck
}

func (c *Client) setV3Missing(missing bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if missing {
		c.v3MissingAt = c.now()
	} else {
		c.v3MissingAt = time.Time{}
	}
}

// answer is an HTTP answer read whole.
type answer struct {
	status      int
	contentType string // the media type, without parameters
	body        []byte
}

// get asks path with the query q and reads the answer, whatever its status.
func (c *Client) get(ctx context.Context, path string, q url.Values) (*answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("jaeger GET %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jaeger GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("jaeger GET %s: reading the answer: %w", path, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("jaeger GET %s: the answer is larger than %d MiB", path, maxBody>>20)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return &answer{status: resp.StatusCode, contentType: mt, body: body}, nil
}

// isPage reports an HTML answer: the Jaeger UI's index.html, which the
// query service of Jaeger 1.x serves for every path it has no route for
// with 200 (StaticAssetsHandler.notFound in cmd/query/app/static_handler.go,
// https://github.com/jaegertracing/jaeger), or a proxy's error page.
func (a *answer) isPage() bool {
	if a.contentType == "text/html" {
		return true
	}
	b := strings.TrimSpace(string(a.body[:min(len(a.body), 64)]))
	return strings.HasPrefix(b, "<")
}

// bodyMessage is the start of a body that is not Jaeger's JSON, for an
// error message: its first line, at most 200 characters.
func (a *answer) bodyMessage() string {
	if a.isPage() || len(strings.TrimSpace(string(a.body))) == 0 {
		return http.StatusText(a.status)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(a.body)), "\n")
	return cut(line, maxMessage)
}
