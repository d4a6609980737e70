package amtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/integrations/alertmanager/amtest"
)

// clock is a settable clock for the fake.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)

func newFake(t *testing.T, opts ...amtest.Option) (*amtest.Server, *clock) {
	t.Helper()
	c := &clock{t: t0}
	s := amtest.New(append([]amtest.Option{amtest.WithClock(c.now)}, opts...)...)
	t.Cleanup(s.Close)
	return s, c
}

type reply struct {
	status int
	body   string
}

func call(t *testing.T, s *amtest.Server, method, path, contentType, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
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
	return reply{resp.StatusCode, strings.TrimSpace(string(b))}
}

func post(t *testing.T, s *amtest.Server, body string) reply {
	t.Helper()
	return call(t, s, http.MethodPost, "/api/v2/silences", "application/json", body)
}

func ts(t time.Time) string { return t.Format(time.RFC3339Nano) }

// silenceJSON is a valid postable silence with one matcher.
func silenceJSON(matcher string, start, end time.Time, comment string) string {
	return `{"matchers":[` + matcher + `],"startsAt":"` + ts(start) + `","endsAt":"` + ts(end) +
		`","createdBy":"warroom","comment":"` + comment + `"}`
}

const svcCheckout = `{"name":"service","value":"checkout","isRegex":false,"isEqual":true}`

func createdID(t *testing.T, r reply) string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || out.SilenceID == "" {
		t.Fatalf("create answer %s: %v", r.body, err)
	}
	return out.SilenceID
}

func TestPostRefusesWhatAlertmanagerRefuses(t *testing.T) {
	s, _ := newFake(t)
	start, end := t0, t0.Add(time.Hour)
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		message                 string // the JSON string, or the "message" of a go-swagger error
	}{
		{"empty-string matcher", "application/json",
			silenceJSON(`{"name":"service","value":"","isRegex":false,"isEqual":true}`, start, end, "c"),
			400, "silence invalid: at least one matcher must not match the empty string"},
		{"regex matching empty", "application/json",
			silenceJSON(`{"name":"service","value":".*","isRegex":true,"isEqual":true}`, start, end, "c"),
			400, "silence invalid: at least one matcher must not match the empty string"},
		{"every matcher matches empty", "application/json",
			silenceJSON(`{"name":"a","value":"","isRegex":false},{"name":"b","value":"x|","isRegex":true}`, start, end, "c"),
			400, "silence invalid: at least one matcher must not match the empty string"},
		{"bad label name", "application/json",
			silenceJSON(`{"name":"ser-vice","value":"a","isRegex":false}`, start, end, "c"),
			400, `silence invalid: invalid label matcher 0: invalid label name "ser-vice"`},
		{"empty label name", "application/json",
			silenceJSON(`{"name":"","value":"a","isRegex":false}`, start, end, "c"),
			400, `silence invalid: invalid label matcher 0: invalid label name ""`},
		{"bad regex", "application/json",
			silenceJSON(`{"name":"service","value":"(","isRegex":true}`, start, end, "c"),
			400, "silence invalid: invalid label matcher 0: invalid regular expression \"(\": error parsing regexp: missing closing ): `(`"},
		{"end before start", "application/json",
			silenceJSON(svcCheckout, end, start, "c"), 400, "Failed to create silence: start time must be before end time"},
		{"end equals start", "application/json",
			silenceJSON(svcCheckout, start, start, "c"), 400, "Failed to create silence: start time must be before end time"},
		{"end in the past", "application/json",
			silenceJSON(svcCheckout, start.Add(-2*time.Hour), start.Add(-time.Minute), "c"), 400, "Failed to create silence: end time can't be in the past"},
		{"no matchers", "application/json",
			silenceJSON(``, start, end, "c"), 422, "matchers in body should have at least 1 items"},
		{"no isRegex", "application/json",
			silenceJSON(`{"name":"service","value":"a"}`, start, end, "c"), 422, "matchers.0.isRegex in body is required"},
		{"no comment", "application/json",
			`{"matchers":[` + svcCheckout + `],"startsAt":"` + ts(start) + `","endsAt":"` + ts(end) + `","createdBy":"w"}`,
			422, "comment in body is required"},
		{"two missing", "application/json",
			`{"matchers":[` + svcCheckout + `],"startsAt":"` + ts(start) + `","endsAt":"` + ts(end) + `"}`,
			422, "comment in body is required"}, // only the first, as Alertmanager answers
		{"empty body", "application/json", ``, 422, "silence in body is required"},
		{"wrong type", "application/json",
			silenceJSON(`{"name":"service","value":"a","isRegex":"no"}`, start, end, "c"), 400, ""},
		{"bad time", "application/json",
			`{"matchers":[` + svcCheckout + `],"startsAt":"yesterday","endsAt":"` + ts(end) + `","createdBy":"w","comment":"c"}`, 400, ""},
		{"not JSON", "application/x-www-form-urlencoded", `{}`, 415,
			`unsupported media type "application/x-www-form-urlencoded", only [application/json] are allowed`},
		{"unknown id", "application/json",
			`{"id":"6d1a2c5e-0000-4000-8000-000000000000","matchers":[` + svcCheckout + `],"startsAt":"` + ts(start) +
				`","endsAt":"` + ts(end) + `","createdBy":"w","comment":"c"}`, 404, "silence not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, s, http.MethodPost, "/api/v2/silences", tc.contentType, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d (%s), want %d", r.status, r.body, tc.status)
			}
			if tc.message != "" {
				if got := message(t, r.body); got != tc.message {
					t.Errorf("message %q, want %q", got, tc.message)
				}
			}
		})
	}
	if n := len(s.Silences()); n != 0 {
		t.Errorf("%d silences stored from refused creates", n)
	}
	if n := s.CallCount(amtest.OpPostSilences); n != 18 {
		t.Errorf("%d postSilences calls recorded, want 18", n)
	}
}

// message reads an error body: a JSON string, or go-swagger's object.
func message(t *testing.T, body string) string {
	t.Helper()
	var s string
	if json.Unmarshal([]byte(body), &s) == nil {
		return s
	}
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Code == 0 {
		t.Fatalf("error body %q is neither a JSON string nor {code, message}", body)
	}
	return e.Message
}

// A not-equal matcher does not count as matching the empty string, as in
// Alertmanager; a zero startsAt means now; a start in the past becomes now;
// isEqual defaults to true.
func TestPostAcceptsAndNormalises(t *testing.T) {
	s, c := newFake(t)
	id := createdID(t, post(t, s, silenceJSON(`{"name":"service","value":"a","isRegex":false,"isEqual":false}`, t0.Add(-time.Hour), t0.Add(time.Hour), "neq")))
	got, ok := s.Silence(id)
	if !ok || got.State != amtest.StateActive || !got.StartsAt.Equal(t0) || got.Matchers[0].IsEqual {
		t.Errorf("silence %+v (found %v): want active from now, not-equal matcher", got, ok)
	}
	c.add(time.Minute)
	id = createdID(t, post(t, s, `{"matchers":[{"name":"service","value":"b","isRegex":false}],"startsAt":"0001-01-01T00:00:00Z","endsAt":"`+ts(t0.Add(time.Hour))+`","createdBy":"","comment":""}`))
	got, _ = s.Silence(id)
	if !got.StartsAt.Equal(t0.Add(time.Minute)) || !got.Matchers[0].IsEqual || got.State != amtest.StateActive {
		t.Errorf("silence %+v: want a start of now and isEqual true", got)
	}
}

func TestStatesFollowTheClock(t *testing.T) {
	s, c := newFake(t)
	id := createdID(t, post(t, s, silenceJSON(svcCheckout, t0.Add(time.Hour), t0.Add(2*time.Hour), "later")))
	for _, step := range []struct {
		advance time.Duration
		state   string
	}{
		{0, "pending"},
		{time.Hour - time.Millisecond, "pending"},
		{time.Millisecond, "active"}, // the start is inclusive
		{time.Hour - time.Millisecond, "active"},
		{time.Millisecond, "expired"}, // the end is exclusive
	} {
		c.add(step.advance)
		r := call(t, s, http.MethodGet, "/api/v2/silence/"+id, "", "")
		var g struct {
			Status struct{ State string }
		}
		if err := json.Unmarshal([]byte(r.body), &g); err != nil || r.status != 200 {
			t.Fatalf("get: %d %s %v", r.status, r.body, err)
		}
		if g.Status.State != step.state {
			t.Errorf("at %s: state %q, want %q", c.now().Format(time.RFC3339Nano), g.Status.State, step.state)
		}
	}
	// Expired silences are kept for the retention, then forgotten.
	c.add(amtest.DefaultRetention)
	if r := call(t, s, http.MethodGet, "/api/v2/silence/"+id, "", ""); r.status != 200 {
		t.Errorf("get at the end of the retention: %d", r.status)
	}
	c.add(time.Millisecond)
	if r := call(t, s, http.MethodGet, "/api/v2/silence/"+id, "", ""); r.status != 404 || r.body != "" {
		t.Errorf("get after the retention: %d %q, want 404 with no body", r.status, r.body)
	}
	if r := call(t, s, http.MethodDelete, "/api/v2/silence/"+id, "", ""); r.status != 404 {
		t.Errorf("delete after the retention: %d, want 404", r.status)
	}
}

func TestDeleteExpires(t *testing.T) {
	s, c := newFake(t)
	active := createdID(t, post(t, s, silenceJSON(svcCheckout, t0, t0.Add(time.Hour), "active")))
	pending := createdID(t, post(t, s, silenceJSON(svcCheckout, t0.Add(time.Hour), t0.Add(2*time.Hour), "pending")))
	c.add(time.Minute)
	for _, id := range []string{active, pending} {
		if r := call(t, s, http.MethodDelete, "/api/v2/silence/"+id, "", ""); r.status != 200 || r.body != "" {
			t.Fatalf("delete %s: %d %q", id, r.status, r.body)
		}
	}
	now := t0.Add(time.Minute)
	a, _ := s.Silence(active)
	p, _ := s.Silence(pending)
	if a.State != "expired" || !a.EndsAt.Equal(now) || !a.StartsAt.Equal(t0) || !a.UpdatedAt.Equal(now) {
		t.Errorf("expired active silence %+v: want endsAt now, startsAt kept", a)
	}
	if p.State != "expired" || !p.EndsAt.Equal(now) || !p.StartsAt.Equal(now) {
		t.Errorf("expired pending silence %+v: want startsAt = endsAt = now", p)
	}
	// Again: already expired is a success that changes nothing.
	c.add(time.Minute)
	if r := call(t, s, http.MethodDelete, "/api/v2/silence/"+active, "", ""); r.status != 200 {
		t.Errorf("delete again: %d %s", r.status, r.body)
	}
	if again, _ := s.Silence(active); !again.EndsAt.Equal(now) {
		t.Errorf("delete of an expired silence moved its end to %s", again.EndsAt)
	}
	for _, tc := range []struct {
		id     string
		status int
	}{
		{"6d1a2c5e-0000-4000-8000-000000000000", 404},
		{"nope", 422},
	} {
		r := call(t, s, http.MethodDelete, "/api/v2/silence/"+tc.id, "", "")
		if r.status != tc.status {
			t.Errorf("delete %s: %d %s, want %d", tc.id, r.status, r.body, tc.status)
		}
	}
	if r := call(t, s, http.MethodGet, "/api/v2/silence/nope", "", ""); r.status != 422 ||
		message(t, r.body) != `silenceID in path must be of type uuid: "nope"` {
		t.Errorf("get nope: %d %s", r.status, r.body)
	}
}

// Posting with the ID of an existing silence updates it in place when that
// leaves its history alone, and otherwise replaces it and expires the old one.
func TestPostWithIDUpdatesOrReplaces(t *testing.T) {
	s, c := newFake(t)
	id := createdID(t, post(t, s, silenceJSON(svcCheckout, t0, t0.Add(time.Hour), "v1")))
	c.add(time.Minute)
	withID := func(matcher string, end time.Time, comment string) string {
		return `{"id":"` + id + `",` + strings.TrimPrefix(silenceJSON(matcher, t0, end, comment), "{")
	}
	if got := createdID(t, post(t, s, withID(svcCheckout, t0.Add(2*time.Hour), "v2"))); got != id {
		t.Errorf("extending an active silence made a new one %s", got)
	}
	if sil, _ := s.Silence(id); sil.Comment != "v2" || !sil.EndsAt.Equal(t0.Add(2*time.Hour)) || sil.State != "active" {
		t.Errorf("updated silence %+v", sil)
	}
	other := `{"name":"service","value":"cart","isRegex":false}`
	newID := createdID(t, post(t, s, withID(other, t0.Add(2*time.Hour), "v3")))
	if newID == id {
		t.Fatal("changing the matchers updated in place")
	}
	if old, _ := s.Silence(id); old.State != "expired" {
		t.Errorf("replaced silence is %s, want expired", old.State)
	}
	if n := len(s.Silences()); n != 2 {
		t.Errorf("%d silences, want 2", n)
	}
}

func TestListFiltersAndSorts(t *testing.T) {
	s, c := newFake(t)
	mk := func(matcher string, start, end time.Time, comment string) string {
		return createdID(t, post(t, s, silenceJSON(matcher, start, end, comment)))
	}
	activeLate := mk(svcCheckout, t0, t0.Add(3*time.Hour), "active-late")
	activeSoon := mk(`{"name":"service","value":"check.*","isRegex":true}`, t0, t0.Add(time.Hour), "active-soon")
	pending := mk(`{"name":"service","value":"checkout","isRegex":false,"isEqual":false}`, t0.Add(2*time.Hour), t0.Add(4*time.Hour), "pending")
	expired := mk(svcCheckout, t0, t0.Add(time.Minute), "expired")
	c.add(30 * time.Minute)

	list := func(q url.Values) []string {
		t.Helper()
		r := call(t, s, http.MethodGet, "/api/v2/silences?"+q.Encode(), "", "")
		if r.status != 200 {
			t.Fatalf("list %v: %d %s", q, r.status, r.body)
		}
		var got []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatal(err)
		}
		ids := make([]string, 0, len(got))
		for _, g := range got {
			ids = append(ids, g.ID)
		}
		return ids
	}
	for _, tc := range []struct {
		name string
		q    url.Values
		want []string
	}{
		{"all, in Alertmanager's order", nil, []string{activeSoon, activeLate, pending, expired}},
		{"equal filter: the same matcher only", url.Values{"filter": {`service="checkout"`}}, []string{activeLate, expired}},
		{"regex filter: the same regex only", url.Values{"filter": {`service=~"check.*"`}}, []string{activeSoon}},
		{"a regex that would match is not the same matcher", url.Values{"filter": {`service=~"chec.*"`}}, []string{}},
		{"not-equal filter", url.Values{"filter": {`service!="checkout"`}}, []string{pending}},
		{"two filters", url.Values{"filter": {`service="checkout"`, `team="x"`}}, []string{}},
		{"no expired", url.Values{"expired": {"false"}}, []string{activeSoon, activeLate, pending}},
		{"pending only", url.Values{"active": {"false"}, "expired": {"false"}}, []string{pending}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := list(tc.q)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		q      string
		status int
		msg    string
	}{
		{"filter=service", 400, "bad matcher format: service"},
		{"filter=" + url.QueryEscape(`service=~"("`), 400, "error parsing regexp: missing closing ): `^(?:()$`"},
		{"active=maybe", 422, `active in query must be of type boolean: "maybe"`},
	} {
		r := call(t, s, http.MethodGet, "/api/v2/silences?"+tc.q, "", "")
		if r.status != tc.status || message(t, r.body) != tc.msg {
			t.Errorf("list ?%s: %d %s, want %d %q", tc.q, r.status, r.body, tc.status, tc.msg)
		}
	}
}

func TestRoutes(t *testing.T) {
	s, _ := newFake(t)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodPut, "/api/v2/silences", 405},
		{http.MethodPost, "/api/v2/silence/6d1a2c5e-0000-4000-8000-000000000000", 405},
		{http.MethodGet, "/api/v1/silences", 404},
		{http.MethodGet, "/api/v2/silence/", 404},
	} {
		if r := call(t, s, tc.method, tc.path, "", ""); r.status != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.status)
		}
	}
}

func TestFaults(t *testing.T) {
	s, _ := newFake(t)
	body := silenceJSON(svcCheckout, t0, t0.Add(time.Hour), "lost")
	s.FailNext(amtest.OpPostSilences, amtest.Fault{Lost: true})
	s.FailNext(amtest.OpPostSilences, amtest.Fault{Status: 503, Body: "<html>upstream</html>"})
	if r := post(t, s, body); r.status != 500 || message(t, r.body) != "amtest: injected 500" {
		t.Errorf("lost create answered %d %s", r.status, r.body)
	}
	if n := len(s.Silences()); n != 1 {
		t.Errorf("lost create stored %d silences, want 1", n)
	}
	if r := post(t, s, body); r.status != 503 || r.body != "<html>upstream</html>" {
		t.Errorf("second fault answered %d %q", r.status, r.body)
	}
	if n := len(s.Silences()); n != 1 {
		t.Errorf("a failed create stored a silence (%d now)", n)
	}
	if r := post(t, s, body); r.status != 200 {
		t.Errorf("after the faults: %d %s", r.status, r.body)
	}

	// A delay past the client's patience: the call is recorded with no status.
	s.FailNext(amtest.OpGetSilences, amtest.Fault{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/api/v2/silences", nil)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("delayed call: %v, want a deadline error", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.CallCount(amtest.OpGetSilences) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	calls := s.Calls()
	last := calls[len(calls)-1]
	if last.Op != amtest.OpGetSilences || last.Status != 0 {
		t.Errorf("last call %+v, want getSilences with no status", last)
	}
	if calls[0].Op != amtest.OpPostSilences || calls[0].Status != 500 || !strings.Contains(calls[0].Body, `"comment":"lost"`) {
		t.Errorf("first call %+v", calls[0])
	}
}

// AddSilence seeds any state without Alertmanager's checks.
func TestAddSilence(t *testing.T) {
	s, _ := newFake(t)
	id := s.AddSilence(amtest.Silence{
		Matchers: []amtest.Matcher{{Name: "service", Value: "", IsEqual: true}},
		StartsAt: t0.Add(-2 * time.Hour), EndsAt: t0.Add(-time.Hour), Comment: "seeded",
	})
	r := call(t, s, http.MethodGet, "/api/v2/silence/"+id, "", "")
	if r.status != 200 || !strings.Contains(r.body, `"state":"expired"`) || !strings.Contains(r.body, `"endsAt":"2026-11-26T03:00:00.000Z"`) {
		t.Errorf("seeded silence: %d %s", r.status, r.body)
	}
}
