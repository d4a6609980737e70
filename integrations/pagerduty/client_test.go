package pagerduty_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/integrations/pagerduty"
	"github.com/warroom/warroom/integrations/pagerduty/pagerdutytest"
)

func trigger(key string) pagerduty.Event {
	return pagerduty.Event{Action: pagerduty.Trigger, DedupKey: key,
		Payload: &pagerduty.Payload{Summary: "checkout: error rate 2.3% vs 0.8%", Source: "checkout/prod", Severity: pagerduty.Critical},
		Links:   []pagerduty.Link{{Href: "https://slack.example/archives/C1", Text: "War room"}}}
}

// newClient returns a client of s whose waits are recorded, not slept.
func newClient(s *pagerdutytest.Server, waits *[]time.Duration) *pagerduty.Client {
	return pagerduty.New(pagerduty.Options{URL: s.URL(), RoutingKey: pagerdutytest.RoutingKey,
		Sleep: func(_ context.Context, d time.Duration) error { *waits = append(*waits, d); return nil }})
}

func TestTriggerAcknowledgeResolve(t *testing.T) {
	s := pagerdutytest.New(t)
	var waits []time.Duration
	c := newClient(s, &waits)
	ctx := context.Background()
	for _, e := range []pagerduty.Event{trigger("INC-1"), {Action: pagerduty.Acknowledge, DedupKey: "INC-1"}} {
		key, err := c.Send(ctx, e)
		if err != nil || key != "INC-1" {
			t.Fatalf("%s = %q, %v; want INC-1", e.Action, key, err)
		}
	}
	if got := s.Status("INC-1"); got != pagerdutytest.Acknowledged {
		t.Errorf("after acknowledge: %q, want acknowledged", got)
	}
	if _, err := c.Send(ctx, pagerduty.Event{Action: pagerduty.Resolve, DedupKey: "INC-1"}); err != nil {
		t.Fatal(err)
	}
	if got := s.Status("INC-1"); got != pagerdutytest.Resolved {
		t.Errorf("after resolve: %q, want resolved", got)
	}
	evs := s.Events()
	if len(evs) != 3 || evs[0].RoutingKey != pagerdutytest.RoutingKey || evs[0].Links[0].Text != "War room" {
		t.Errorf("events = %+v", evs)
	}
	if len(waits) != 0 {
		t.Errorf("waited %v without a fault", waits)
	}
}

func TestTriggerWithoutDedupKeyGetsOne(t *testing.T) {
	s := pagerdutytest.New(t)
	var waits []time.Duration
	key, err := newClient(s, &waits).Send(context.Background(), trigger(""))
	if err != nil || len(key) != 32 || s.Status(key) != pagerdutytest.Triggered {
		t.Errorf("Send = %q, %v; status %q", key, err, s.Status(key))
	}
}

func TestInvalidEventsAreRefusedWithTheAPIsErrorShape(t *testing.T) {
	long := strings.Repeat("x", pagerduty.MaxSummary+1)
	withPayload := func(f func(p *pagerduty.Payload)) pagerduty.Event {
		e := trigger("INC-2")
		p := *e.Payload
		f(&p)
		e.Payload = &p
		return e
	}
	cases := []struct {
		name string
		e    pagerduty.Event
		key  string // the client's routing key
		want string
	}{
		{"no routing key", trigger("INC-2"), "", "'routing_key' must be 32 characters"},
		{"short routing key", trigger("INC-2"), "R012", "'routing_key' must be 32 characters"},
		{"bad action", pagerduty.Event{Action: "escalate", DedupKey: "INC-2"}, pagerdutytest.RoutingKey, "'event_action' is invalid"},
		{"trigger without payload", pagerduty.Event{Action: pagerduty.Trigger, DedupKey: "INC-2"}, pagerdutytest.RoutingKey, "'payload' is missing"},
		{"no summary", withPayload(func(p *pagerduty.Payload) { p.Summary = "" }), pagerdutytest.RoutingKey, "'payload.summary' is missing"},
		{"no source", withPayload(func(p *pagerduty.Payload) { p.Source = "" }), pagerdutytest.RoutingKey, "'payload.source' is missing"},
		{"no severity", withPayload(func(p *pagerduty.Payload) { p.Severity = "" }), pagerdutytest.RoutingKey, "'payload.severity' is missing"},
		{"bad severity", withPayload(func(p *pagerduty.Payload) { p.Severity = "major" }), pagerdutytest.RoutingKey, "'payload.severity' is invalid"},
		{"long summary", withPayload(func(p *pagerduty.Payload) { p.Summary = long }), pagerdutytest.RoutingKey, "'payload.summary' must be at most 1024"},
		{"resolve without dedup key", pagerduty.Event{Action: pagerduty.Resolve}, pagerdutytest.RoutingKey, "'dedup_key' is missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := pagerdutytest.New(t)
			var waits []time.Duration
			c := pagerduty.New(pagerduty.Options{URL: s.URL(), RoutingKey: tc.key,
				Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }})
			_, err := c.Send(context.Background(), tc.e)
			var pe *pagerduty.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *pagerduty.Error", err)
			}
			if pe.Status != http.StatusBadRequest || pe.Message != "Event object is invalid" || len(pe.Errors) == 0 || !strings.Contains(pe.Errors[0], tc.want) {
				t.Errorf("error = %+v, want 400 with %q", pe, tc.want)
			}
			if pagerduty.Retryable(err) || len(waits) != 0 || len(s.Calls()) != 1 {
				t.Errorf("a 400 was retried: %d calls, waits %v", len(s.Calls()), waits)
			}
			if len(s.Events()) != 0 {
				t.Errorf("the fake kept an invalid event: %+v", s.Events())
			}
		})
	}
}

func TestRetriesHonourRetryAfterWithinTheBound(t *testing.T) {
	s := pagerdutytest.New(t)
	s.FailNext(pagerdutytest.Fault{Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second})
	s.FailNext(pagerdutytest.Fault{Status: http.StatusServiceUnavailable})
	var waits []time.Duration
	key, err := newClient(s, &waits).Send(context.Background(), trigger("INC-3"))
	if err != nil || key != "INC-3" {
		t.Fatalf("Send = %q, %v", key, err)
	}
	// Retry-After as said, then the back-off of the second retry.
	if want := []time.Duration{3 * time.Second, 2 * time.Second}; len(waits) != 2 || waits[0] != want[0] || waits[1] != want[1] {
		t.Errorf("waits = %v, want %v", waits, want)
	}
	if s.Count(pagerduty.Trigger, "INC-3") != 1 || len(s.Calls()) != 3 {
		t.Errorf("%d calls, %d triggers kept", len(s.Calls()), s.Count(pagerduty.Trigger, "INC-3"))
	}
}

func TestRetryAfterPastTheBoundIsReturned(t *testing.T) {
	s := pagerdutytest.New(t)
	s.FailNext(pagerdutytest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Minute})
	var waits []time.Duration
	_, err := newClient(s, &waits).Send(context.Background(), trigger("INC-4"))
	var pe *pagerduty.Error
	if !errors.As(err, &pe) || pe.Status != http.StatusTooManyRequests || pe.RetryAfter != time.Minute || !pagerduty.Retryable(err) {
		t.Fatalf("err = %v, want a 429 with Retry-After 1m", err)
	}
	if len(waits) != 0 || len(s.Calls()) != 1 {
		t.Errorf("waited %v over %d calls: a wait past MaxWait is the job's", waits, len(s.Calls()))
	}
}

func TestRetriesAreBounded(t *testing.T) {
	s := pagerdutytest.New(t)
	for range 5 {
		s.FailNext(pagerdutytest.Fault{Status: http.StatusInternalServerError})
	}
	var waits []time.Duration
	_, err := newClient(s, &waits).Send(context.Background(), trigger("INC-5"))
	var pe *pagerduty.Error
	if !errors.As(err, &pe) || pe.Status != http.StatusInternalServerError {
		t.Fatalf("err = %v, want the 500", err)
	}
	if len(s.Calls()) != 3 || len(s.Events()) != 0 {
		t.Errorf("%d calls, want 3 (two retries)", len(s.Calls()))
	}
}
