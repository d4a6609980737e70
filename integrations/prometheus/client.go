// Package prometheus is warroom's typed client for Prometheus's HTTP API, on
// github.com/prometheus/client_golang's api client: it evaluates an alert's
// expression at a moment and returns the one number a war room shows (the
// value when the incident opened, the value now), with Prometheus's
// errorType and message when the query fails. It holds no domain logic and
// imports no package of warroom.
package prometheus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	"github.com/prometheus/common/model"
)

// Client evaluates expressions on one Prometheus (or anything serving its
// /api/v1/query: Thanos, Mimir, VictoriaMetrics).
//
// It sends its requests through client_golang's api.Client and decodes the
// answers into github.com/prometheus/common/model's types, but not through
// api/prometheus/v1: on Go before 1.27 that package needs
// github.com/json-iterator/go, which this module does not require. Doing
// the one call itself also keeps the HTTP status and Prometheus's
// errorType of every failure, which v1 reduces to "server_error" for
// anything but 400 and 422.
type Client struct {
	api api.Client
}

// New returns a client for the Prometheus at baseURL
// ("http://prometheus:9090", with its path prefix if it has one). A nil hc
// is a client with a 10s timeout; hc's timeout, transport and redirect
// policy are all used.
func New(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("prometheus: base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("prometheus: base URL %q: want http(s)://host[:port][/path]", baseURL)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	// api.Config.Client rather than RoundTripper: the latter would drop
	// hc.Timeout.
	c, err := api.NewClient(api.Config{Address: baseURL, Client: hc})
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	return &Client{api: c}, nil
}

// Evaluation is the single number of an instant query, and what came
// with it.
type Evaluation struct {
	Value float64
	// OK is false when there is no number to show: an empty vector (no
	// data), or NaN or ±Inf.
	OK bool
	// Labels are the labels of the vector's sample; nil for a scalar or
	// when there is no sample.
	Labels map[string]string
	// Warnings and Infos are the annotations Prometheus sent along
	// ("PromQL info: metric might not be a counter…"); they do not make
	// the answer wrong.
	Warnings, Infos []string
}

// Value evaluates expr at t and returns its single number: a scalar, or
// an instant vector with exactly one sample. More than one sample is an
// error naming how many series there were; none is ok=false with no error
// (Prometheus has no data for it); NaN and ±Inf are ok=false too. A zero
// t is Prometheus's now.
func (c *Client) Value(ctx context.Context, expr string, at time.Time) (v float64, ok bool, err error) {
	e, err := c.Evaluate(ctx, expr, at)
	return e.Value, e.OK, err
}

// Evaluate is Value with the labels and annotations of the answer.
//
// When ctx has a deadline, the time left is sent as the query's timeout,
// so that Prometheus stops evaluating when no one waits for the answer any
// more. Errors of the API are *Error, with Prometheus's errorType and
// message.
func (c *Client) Evaluate(ctx context.Context, expr string, at time.Time) (Evaluation, error) {
	if strings.TrimSpace(expr) == "" {
		return Evaluation{}, errors.New("prometheus: empty expression")
	}
	val, ann, err := c.query(ctx, expr, at)
	e := Evaluation{Warnings: ann.Warnings, Infos: ann.Infos}
	if err != nil {
		return e, err
	}
	switch v := val.(type) {
	case *model.Scalar:
		e.Value = float64(v.Value)
	case model.Vector:
		switch len(v) {
		case 0:
			return e, nil
		case 1:
		default:
			return e, fmt.Errorf("prometheus: query %s: %d series, want at most 1", short(expr), len(v))
		}
		e.Value = float64(v[0].Value)
		e.Labels = make(map[string]string, len(v[0].Metric))
		for k, lv := range v[0].Metric {
			e.Labels[string(k)] = string(lv)
		}
	default:
		return e, fmt.Errorf("prometheus: query %s: result is a %s, want a scalar or an instant vector", short(expr), val.Type())
	}
	e.OK = !math.IsNaN(e.Value) && !math.IsInf(e.Value, 0)
	return e, nil
}

// Error is a failed query: Prometheus's answer, with its errorType
// (bad_data, execution, timeout, canceled, internal, unavailable,
// not_found) and message. When the answer is not Prometheus's JSON (a
// proxy's page), Type is "client_error" or "server_error" as client_golang
// names them, and Message is the start of the body; an answer that cannot
// be read is "bad_response".
type Error struct {
	Expr    string
	Status  int // the HTTP status
	Type    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("prometheus: query %s: HTTP %d: %s: %s", short(e.Expr), e.Status, e.Type, e.Message)
}

// How much of an answer is kept for an error message.
const maxSnippet = 200

// annotations are the warnings and infos of an answer.
type annotations struct {
	Warnings []string `json:"warnings"`
	Infos    []string `json:"infos"`
}

// envelope is the JSON of every /api/v1 answer
// (https://prometheus.io/docs/prometheus/latest/querying/api/#format-overview).
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	annotations
}

// query asks GET|POST /api/v1/query, as client_golang's v1.API.Query does:
// a form POST, again as a GET when the POST is refused with 403, 405 or 501
// (a read-only proxy in front).
func (c *Client) query(ctx context.Context, expr string, at time.Time) (model.Value, annotations, error) {
	args := url.Values{"query": {expr}}
	if !at.IsZero() {
		// Prometheus keeps milliseconds; it reads seconds with a fraction.
		args.Set("time", strconv.FormatFloat(float64(at.UnixMilli())/1e3, 'f', 3, 64))
	}
	if d, ok := timeout(ctx); ok {
		args.Set("timeout", strconv.FormatFloat(d.Seconds(), 'f', 3, 64))
	}
	u := c.api.URL("/api/v1/query", nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(args.Encode()))
	if err != nil {
		return nil, annotations{}, fmt.Errorf("prometheus: query %s: %w", short(expr), err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body, err := c.api.Do(ctx, req)
	if err == nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusMethodNotAllowed ||
		resp.StatusCode == http.StatusNotImplemented) {
		u.RawQuery = args.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, annotations{}, fmt.Errorf("prometheus: query %s: %w", short(expr), err)
		}
		resp, body, err = c.api.Do(ctx, req)
	}
	if err != nil {
		return nil, annotations{}, fmt.Errorf("prometheus: query %s: %w", short(expr), err)
	}

	var env envelope
	jsonErr := json.Unmarshal(body, &env)
	if resp.StatusCode/100 != 2 || env.Status == "error" {
		e := &Error{Expr: expr, Status: resp.StatusCode}
		switch {
		case jsonErr == nil && env.Status == "error":
			e.Type, e.Message = env.ErrorType, env.Error
		case resp.StatusCode/100 == 4:
			e.Type, e.Message = "client_error", snippet(body, resp.StatusCode)
		default:
			e.Type, e.Message = "server_error", snippet(body, resp.StatusCode)
		}
		return nil, env.annotations, e
	}
	if jsonErr != nil || env.Status != "success" {
		return nil, env.annotations, &Error{Expr: expr, Status: resp.StatusCode, Type: "bad_response",
			Message: "not Prometheus's JSON: " + snippet(body, resp.StatusCode)}
	}
	val, err := decodeResult(env.Data)
	if err != nil {
		return nil, env.annotations, &Error{Expr: expr, Status: resp.StatusCode, Type: "bad_response", Message: err.Error()}
	}
	return val, env.annotations, nil
}

// decodeResult reads data: {"resultType": …, "result": …}.
func decodeResult(data json.RawMessage) (model.Value, error) {
	var d struct {
		Type   model.ValueType `json:"resultType"`
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var v model.Value
	switch d.Type {
	case model.ValScalar:
		v = new(model.Scalar)
	case model.ValVector:
		v = new(model.Vector)
	case model.ValMatrix:
		v = new(model.Matrix)
	case model.ValString:
		v = new(model.String)
	default:
		return nil, fmt.Errorf("unknown resultType %q", d.Type)
	}
	if err := json.Unmarshal(d.Result, v); err != nil {
		return nil, fmt.Errorf("%s result: %w", d.Type, err)
	}
	switch v := v.(type) {
	case *model.Vector:
		return *v, nil
	case *model.Matrix:
		return *v, nil
	}
	return v, nil
}

// timeout is the time left before ctx's deadline, in whole milliseconds.
func timeout(ctx context.Context) (time.Duration, bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	d := time.Until(deadline).Truncate(time.Millisecond)
	return d, d > 0
}

// snippet is the start of body on one line, or the status text when the
// body is empty.
func snippet(body []byte, status int) string {
	s := strings.Join(strings.Fields(string(bytes.ToValidUTF8(body, nil))), " ")
	if s == "" {
		return http.StatusText(status)
	}
	if r := []rune(s); len(r) > maxSnippet {
		s = string(r[:maxSnippet]) + "…"
	}
	return s
}

// short is expr on one line, quoted and cut to 200 characters, for error
// messages.
func short(expr string) string {
	s := strings.Join(strings.Fields(expr), " ")
	if r := []rune(s); len(r) > maxSnippet {
		s = string(r[:maxSnippet]) + "…"
	}
	return strconv.Quote(s)
}
