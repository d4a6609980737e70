// Package pagerduty is warroom's typed client of PagerDuty's Events API v2
// (https://developer.pagerduty.com/docs/events-api-v2/overview/): trigger,
// acknowledge and resolve an alert by its dedup_key. It retries a 429 and
// a 5xx a bounded number of times, honouring Retry-After up to a bound, and
// reports what is left as an *Error a job can sort (retry, wait, give up).
// It holds no domain logic and imports no package of warroom.
package pagerduty

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultURL is the Events API's host; the client posts to {url}/v2/enqueue.
const DefaultURL = "https://events.pagerduty.com"

// Event actions.
const (
	Trigger     = "trigger"
	Acknowledge = "acknowledge"
	Resolve     = "resolve"
)

// Severities a trigger's payload may carry.
const (
	Critical = "critical"
	Err      = "error"
	Warning  = "warning"
	Info     = "info"
)

// Limits the Events API documents
// (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).
const (
	// RoutingKeyLen is the length of an integration's routing key.
	RoutingKeyLen = 32
	// MaxSummary is the longest payload.summary, in characters.
	MaxSummary = 1024
	// MaxDedupKey is the longest dedup_key, in characters.
	MaxDedupKey = 255
)

// Event is one event as the Events API v2 takes it.
type Event struct {
	RoutingKey string   `json:"routing_key"`
	Action     string   `json:"event_action"`
	DedupKey   string   `json:"dedup_key,omitempty"`
	Payload    *Payload `json:"payload,omitempty"` // a trigger's only
	Client     string   `json:"client,omitempty"`
	ClientURL  string   `json:"client_url,omitempty"`
	Links      []Link   `json:"links,omitempty"`
}

// Payload describes a trigger's alert.
type Payload struct {
	Summary       string            `json:"summary"`
	Source        string            `json:"source"`
	Severity      string            `json:"severity"`
	Timestamp     string            `json:"timestamp,omitempty"` // RFC 3339
	Component     string            `json:"component,omitempty"`
	Group         string            `json:"group,omitempty"`
	Class         string            `json:"class,omitempty"`
	CustomDetails map[string]string `json:"custom_details,omitempty"`
}

// Link is a link shown on the alert.
type Link struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// Error is an answer other than 202: PagerDuty's status, message and
// errors ("Event object is invalid", ["'payload.summary' is missing..."]),
// and how long it asked to wait.
type Error struct {
	Status     int
	Message    string
	Errors     []string
	RetryAfter time.Duration // 0: not said
}

func (e *Error) Error() string {
	s := fmt.Sprintf("pagerduty: HTTP %d", e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if len(e.Errors) > 0 {
		s += ": " + strings.Join(e.Errors, "; ")
	}
	return s
}

// Retryable reports whether sending the event again may succeed: 429 or a
// 5xx, or no answer at all.
func Retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status == http.StatusTooManyRequests || e.Status >= 500
	}
	return err != nil && !errors.Is(err, context.Canceled)
}

// Options configure a Client.
type Options struct {
	// URL is the Events API's base URL; "" is DefaultURL.
	URL string
	// RoutingKey is the integration key of the PagerDuty service; an
	// event that carries none is given it.
	RoutingKey string
	// HTTP makes the calls; nil is a client with a 10 s timeout.
	HTTP *http.Client
	// Retries is how many times a 429 or a 5xx is retried at once; 0 is 2,
	// a negative value none.
	Retries int
	// MaxWait bounds one wait between tries (a longer Retry-After is not
	// waited: the error carries it for the job to snooze); 0 is 5 s.
	MaxWait time.Duration
	// Sleep waits between tries; nil waits on a timer, ended by ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client sends events. It is safe for concurrent use.
type Client struct {
	url, key string
	hc       *http.Client
	retries  int
	maxWait  time.Duration
	sleep    func(context.Context, time.Duration) error
}

// New returns a client of the Events API.
func New(o Options) *Client {
	c := &Client{url: strings.TrimRight(o.URL, "/"), key: o.RoutingKey, hc: o.HTTP, retries: o.Retries, maxWait: o.MaxWait, sleep: o.Sleep}
	if c.url == "" {
		c.url = DefaultURL
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 10 * time.Second}
	}
	switch {
	case c.retries == 0:
		c.retries = 2
	case c.retries < 0:
		c.retries = 0
	}
	if c.maxWait <= 0 {
		c.maxWait = 5 * time.Second
	}
	if c.sleep == nil {
		c.sleep = sleep
	}
	return c
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send posts e to {url}/v2/enqueue and returns the dedup_key PagerDuty
// filed it under. The same dedup_key makes a repeated trigger one alert,
// so a retry of an event whose answer was lost is harmless.
func (c *Client) Send(ctx context.Context, e Event) (string, error) {
	if e.RoutingKey == "" {
		e.RoutingKey = c.key
	}
	body, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("pagerduty: %s %s: %w", e.Action, e.DedupKey, err)
	}
	for try := 0; ; try++ {
		key, err := c.post(ctx, body)
		if err == nil {
			return key, nil
		}
		if try >= c.retries || !Retryable(err) || ctx.Err() != nil {
			return "", fmt.Errorf("pagerduty: %s %s: %w", e.Action, e.DedupKey, err)
		}
		wait := time.Duration(1<<try) * time.Second // PagerDuty asks for a back-off
		var pe *Error
		if errors.As(err, &pe) && pe.RetryAfter > 0 {
			wait = pe.RetryAfter
		}
		if wait > c.maxWait {
			return "", fmt.Errorf("pagerduty: %s %s: %w", e.Action, e.DedupKey, err)
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return "", fmt.Errorf("pagerduty: %s %s: %w", e.Action, e.DedupKey, err)
		}
	}
}

// maxBody bounds what is read of an answer.
const maxBody = 64 << 10

func (c *Client) post(ctx context.Context, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/v2/enqueue", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	var ans struct {
		Status   string   `json:"status"`
		Message  string   `json:"message"`
		DedupKey string   `json:"dedup_key"`
		Errors   []string `json:"errors"`
	}
	_ = json.Unmarshal(raw, &ans) // a proxy's HTML page has no fields
	if resp.StatusCode == http.StatusAccepted {
		return ans.DedupKey, nil
	}
	e := &Error{Status: resp.StatusCode, Message: ans.Message, Errors: ans.Errors}
	if s := strings.TrimSpace(resp.Header.Get("Retry-After")); s != "" {
		if n, perr := strconv.Atoi(s); perr == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		} else if t, perr := http.ParseTime(s); perr == nil {
			e.RetryAfter = max(time.Until(t), 0)
		}
	}
	return "", e
}
