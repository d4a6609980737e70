package alertmanager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/integrations/alertmanager"
	"github.com/warroom/warroom/integrations/alertmanager/amtest"
)

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

// The fake's clock starts now, so that the client's times (which it sends
// as given) are in the fake's present.
func newFake(t *testing.T) (*amtest.Server, *clock, *alertmanager.SilenceClient) {
	t.Helper()
	c := &clock{t: time.Now().UTC().Truncate(time.Millisecond)}
	s := amtest.New(amtest.WithClock(c.now))
	t.Cleanup(s.Close)
	return s, c, alertmanager.NewSilenceClient(s.URL()+"/", nil)
}

func checkout(comment string, start, end time.Time) alertmanager.Silence {
	return alertmanager.Silence{
		Matchers: []alertmanager.Matcher{
			{Name: "service", Value: "checkout", IsEqual: true},
			{Name: "alertname", Value: "High.*", IsRegex: true, IsEqual: true},
			{Name: "env", Value: "staging", IsEqual: false},
		},
		StartsAt: start, EndsAt: end, CreatedBy: "warroom", Comment: comment,
	}
}

func TestCreateSendsAPIv2Silence(t *testing.T) {
	s, c, client := newFake(t)
	now := c.now()
	id, err := client.Create(context.Background(), checkout("warroom INC-7", time.Time{}, now.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	calls := s.Calls()
	if len(calls) != 1 || calls[0].Op != amtest.OpPostSilences {
		t.Fatalf("calls %+v", calls)
	}
	var sent map[string]any
	if err := json.Unmarshal([]byte(calls[0].Body), &sent); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"matchers": []any{
			map[string]any{"name": "service", "value": "checkout", "isRegex": false, "isEqual": true},
			map[string]any{"name": "alertname", "value": "High.*", "isRegex": true, "isEqual": true},
			map[string]any{"name": "env", "value": "staging", "isRegex": false, "isEqual": false},
		},
		"startsAt":  "0001-01-01T00:00:00Z",
		"endsAt":    now.Add(time.Hour).Format(time.RFC3339Nano),
		"createdBy": "warroom",
		"comment":   "warroom INC-7",
	}
	if got, _ := json.Marshal(sent); !bytes.Equal(got, mustJSON(t, want)) {
		t.Errorf("sent %s\nwant %s", got, mustJSON(t, want))
	}
	stored, ok := s.Silence(id)
	if !ok || stored.State != amtest.StateActive || !stored.StartsAt.Equal(now) {
		t.Errorf("stored %+v: want active from now (zero start)", stored)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGetAndStates(t *testing.T) {
	_, c, client := newFake(t)
	ctx := context.Background()
	start := c.now().Add(time.Hour)
	in := checkout("later", start, start.Add(time.Hour))
	id, err := client.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	in.ID, in.State = id, alertmanager.StatePending
	if !equalSilence(got, in) {
		t.Errorf("got  %+v\nwant %+v", got, in)
	}
	for _, step := range []struct {
		d     time.Duration
		state string
	}{{time.Hour, alertmanager.StateActive}, {time.Hour, alertmanager.StateExpired}} {
		c.add(step.d)
		if got, err := client.Get(ctx, id); err != nil || got.State != step.state {
			t.Errorf("after %s more: %q, %v; want %q", step.d, got.State, err, step.state)
		}
	}
}

func equalSilence(a, b alertmanager.Silence) bool {
	return a.ID == b.ID && a.State == b.State && a.Comment == b.Comment && a.CreatedBy == b.CreatedBy &&
		a.StartsAt.Equal(b.StartsAt) && a.EndsAt.Equal(b.EndsAt) &&
		fmt.Sprint(a.Matchers) == fmt.Sprint(b.Matchers)
}

func TestCreateRefusals(t *testing.T) {
	s, c, client := newFake(t)
	now := c.now()
	for _, tc := range []struct {
		name    string
		sil     alertmanager.Silence
		status  int // 0: refused before any call
		message string
	}{
		{"matches the empty string", alertmanager.Silence{Matchers: []alertmanager.Matcher{{Name: "service", Value: "", IsEqual: true}},
			EndsAt: now.Add(time.Hour)}, 400, "silence invalid: at least one matcher must not match the empty string"},
		{"bad label name", alertmanager.Silence{Matchers: []alertmanager.Matcher{{Name: "ser vice", Value: "x", IsEqual: true}},
			EndsAt: now.Add(time.Hour)}, 400, `silence invalid: invalid label matcher 0: invalid label name "ser vice"`},
		{"ends in the past", checkout("c", now.Add(-2*time.Hour), now.Add(-time.Hour)), 400,
			"Failed to create silence: end time can't be in the past"},
		{"ends before it starts", checkout("c", now.Add(2*time.Hour), now.Add(time.Hour)), 400,
			"Failed to create silence: start time must be before end time"},
		{"no matchers", alertmanager.Silence{EndsAt: now.Add(time.Hour)}, 0, "no matchers"},
		{"no end", checkout("c", now, time.Time{}), 0, "no end time"},
		{"has an ID", func() alertmanager.Silence { s := checkout("c", now, now.Add(time.Hour)); s.ID = "x"; return s }(), 0, "has ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.CallCount(amtest.OpPostSilences)
			_, err := client.Create(context.Background(), tc.sil)
			if err == nil {
				t.Fatal("created")
			}
			if !strings.Contains(err.Error(), tc.message) {
				t.Errorf("error %q does not say %q", err, tc.message)
			}
			var ae *alertmanager.Error
			if tc.status == 0 {
				if errors.As(err, &ae) || s.CallCount(amtest.OpPostSilences) != before {
					t.Errorf("refused by Alertmanager (%v), want refused before the call", err)
				}
				return
			}
			if !errors.As(err, &ae) || ae.Status != tc.status || ae.Message != tc.message {
				t.Errorf("error %#v, want status %d message %q", ae, tc.status, tc.message)
			}
		})
	}
	if n := len(s.Silences()); n != 0 {
		t.Errorf("%d silences made", n)
	}
}

// The retry story: a create whose answer is lost has an unknown outcome,
// and Find by the comment's marker finds the silence it made.
func TestLostCreateIsFoundByComment(t *testing.T) {
	s, c, client := newFake(t)
	ctx := context.Background()
	now := c.now()
	if _, err := client.Create(ctx, checkout("other incident warroom:INC-1", now, now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	s.FailNext(amtest.OpPostSilences, amtest.Fault{Lost: true, Status: 502, Body: "<html>bad gateway</html>"})
	_, err := client.Create(ctx, checkout("deploy rollback warroom:INC-2", now, now.Add(time.Hour)))
	if err == nil {
		t.Fatal("lost create: no error")
	}
	if !strings.Contains(err.Error(), "HTTP 502: <html>bad gateway</html>") {
		t.Errorf("error %q does not carry the proxy's answer", err)
	}
	found, err := client.Find(ctx, "warroom:INC-2")
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Comment != "deploy rollback warroom:INC-2" || found[0].State != alertmanager.StateActive {
		t.Fatalf("found %+v, want the one lost silence", found)
	}
	if stored, ok := s.Silence(found[0].ID); !ok || stored.Comment != found[0].Comment {
		t.Errorf("found ID %s is not the fake's silence", found[0].ID)
	}
	if q := s.Calls()[len(s.Calls())-1].Query; q.Get("expired") != "false" {
		t.Errorf("find asked %v, want expired=false", q)
	}
}

func TestFindSkipsExpiredAndOthers(t *testing.T) {
	s, c, client := newFake(t)
	ctx := context.Background()
	now := c.now()
	mk := func(comment string, start, end time.Time) string {
		id, err := client.Create(ctx, checkout(comment, start, end))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	late := mk("warroom:INC-9 late", now, now.Add(3*time.Hour))
	soon := mk("warroom:INC-9 soon", now, now.Add(time.Hour))
	pending := mk("warroom:INC-9 pending", now.Add(time.Hour), now.Add(2*time.Hour))
	gone := mk("warroom:INC-9 expired", now, now.Add(2*time.Hour))
	mk("warroom:INC-90", now, now.Add(time.Hour)) // contains the text too
	mk("warroom:INC-8", now, now.Add(time.Hour))
	if err := client.Expire(ctx, gone); err != nil {
		t.Fatal(err)
	}
	// Alertmanagers that ignore expired=false (0.25) send expired ones anyway.
	s.AddSilence(amtest.Silence{Matchers: []amtest.Matcher{{Name: "a", Value: "b", IsEqual: true}},
		StartsAt: now.Add(-time.Hour), EndsAt: now.Add(-time.Minute), Comment: "warroom:INC-9 seeded expired"})
	found, err := client.Find(ctx, "warroom:INC-9 ")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range found {
		ids = append(ids, f.ID)
	}
	if want := []string{soon, late, pending}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("found %v, want %v (active soonest-ending first, then pending)", ids, want)
	}
	if _, err := client.Find(ctx, ""); err == nil {
		t.Error("Find with no text found something")
	}
}

func TestExpire(t *testing.T) {
	s, c, client := newFake(t)
	ctx := context.Background()
	now := c.now()
	id, err := client.Create(ctx, checkout("c", now, now.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	c.add(time.Minute)
	if err := client.Expire(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Silence(id); got.State != amtest.StateExpired || !got.EndsAt.Equal(now.Add(time.Minute)) {
		t.Errorf("after Expire: %+v", got)
	}
	if err := client.Expire(ctx, id); err != nil {
		t.Errorf("expiring an expired silence: %v", err)
	}
	if n := s.CallCount(amtest.OpDeleteSilence); n != 2 {
		t.Errorf("%d DELETE calls, want 2", n)
	}

	const unknown = "6d1a2c5e-0000-4000-8000-000000000000"
	for _, tc := range []struct {
		name     string
		fault    *amtest.Fault
		id       string
		notFound bool
		ok       bool
	}{
		{name: "unknown: 404", id: unknown, notFound: true},
		{name: "unknown, the 0.25 way", id: unknown, fault: &amtest.Fault{Status: 500, Body: "\"silence not found\"\n"}, notFound: true},
		{name: "already expired, the old way", id: id, fault: &amtest.Fault{Status: 500, Body: `"silence ` + id + ` already expired"`}, ok: true},
		{name: "not a UUID", id: "nope"},
		{name: "server error", id: id, fault: &amtest.Fault{Status: 500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != nil {
				s.FailNext(amtest.OpDeleteSilence, *tc.fault)
			}
			err := client.Expire(ctx, tc.id)
			if tc.ok != (err == nil) {
				t.Fatalf("err %v", err)
			}
			if got := errors.Is(err, alertmanager.ErrSilenceNotFound); got != tc.notFound {
				t.Errorf("Is(ErrSilenceNotFound) = %v for %v", got, err)
			}
		})
	}
	if _, err := client.Get(ctx, unknown); !errors.Is(err, alertmanager.ErrSilenceNotFound) {
		t.Errorf("Get unknown: %v", err)
	}
}

func TestTransportFailures(t *testing.T) {
	s, c, client := newFake(t)
	now := c.now()
	s.FailNext(amtest.OpPostSilences, amtest.Fault{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := client.Create(ctx, checkout("c", now, now.Add(time.Hour)))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timed-out create: %v", err)
	}
	s.FailNext(amtest.OpGetSilences, amtest.Fault{Status: 429})
	var ae *alertmanager.Error
	if _, err := client.Find(context.Background(), "x"); !errors.As(err, &ae) || ae.Status != 429 {
		t.Errorf("429: %v, want Alertmanager's 429", err)
	}
	s.FailNext(amtest.OpGetSilence, amtest.Fault{Status: 200, Body: "{not json"})
	if _, err := client.Get(context.Background(), "6d1a2c5e-0000-4000-8000-000000000000"); err == nil ||
		!strings.Contains(err.Error(), "decode answer") {
		t.Errorf("garbled answer: %v", err)
	}

	closed := amtest.New()
	closed.Close()
	_, err = alertmanager.NewSilenceClient(closed.URL(), nil).Find(context.Background(), "x")
	if err == nil {
		t.Error("closed server: no error")
	}
}

func TestMatcherString(t *testing.T) {
	for _, tc := range []struct {
		m    alertmanager.Matcher
		want string
	}{
		{alertmanager.Matcher{Name: "a", Value: "b", IsEqual: true}, `a="b"`},
		{alertmanager.Matcher{Name: "a", Value: "b.*", IsRegex: true, IsEqual: true}, `a=~"b.*"`},
		{alertmanager.Matcher{Name: "a", Value: `q"`}, `a!="q\""`},
		{alertmanager.Matcher{Name: "a", Value: "b", IsRegex: true}, `a!~"b"`},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.m, got, tc.want)
		}
	}
}

// The real thing: the same client against the Alertmanager installed here.

// startAlertmanager runs prometheus-alertmanager on a free loopback port with
// a config and storage in a temporary directory, clustering off, and
// returns its URL. It skips when the binary is missing, unless
// WARROOM_REQUIRE_E2E=1 (as in CI) makes that a failure.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	var bin string
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("WARROOM_REQUIRE_E2E") == "1" {
			t.Fatal("prometheus-alertmanager not found on PATH and WARROOM_REQUIRE_E2E=1")
		}
		t.Skip("prometheus-alertmanager not found on PATH (set WARROOM_REQUIRE_E2E=1 to make this a failure)")
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(config, []byte("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A port found free may be taken before Alertmanager binds it: try again then.
	for attempt := 1; ; attempt++ {
		addr := freeAddr(t)
		var log bytes.Buffer
		cmd := exec.Command(bin,
			"--config.file="+config,
			"--storage.path="+filepath.Join(dir, "data"),
			"--web.listen-address="+addr,
			"--cluster.listen-address=",
		)
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		base := "http://" + addr
		if err := waitReady(base+"/-/ready", exited); err == nil {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("alertmanager log:\n%s", log.String())
				}
			})
			return base
		} else if attempt == 3 {
			stop()
			t.Fatalf("alertmanager did not become ready: %v\n%s", err, log.String())
		}
		stop()
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitReady(url string, exited <-chan struct{}) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("exited")
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("timed out")
}

// TestSilencesEndToEnd runs the client's whole story against the real
// Alertmanager and against the fake, which must agree.
func TestSilencesEndToEnd(t *testing.T) {
	live := startAlertmanager(t)
	fake := amtest.New()
	defer fake.Close()
	for _, target := range []struct{ name, url string }{{"alertmanager", live}, {"amtest", fake.URL()}} {
		t.Run(target.name, func(t *testing.T) {
			client := alertmanager.NewSilenceClient(target.url, &http.Client{Timeout: 10 * time.Second})
			ctx := context.Background()
			marker := fmt.Sprintf("warroom:INC-%d", time.Now().UnixNano())
			in := checkout("rollback of checkout "+marker, time.Time{}, time.Now().Add(time.Hour).Truncate(time.Millisecond))
			id, err := client.Create(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := client.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != id || got.State != alertmanager.StateActive || got.Comment != in.Comment || got.CreatedBy != "warroom" ||
				!got.EndsAt.Equal(in.EndsAt) || fmt.Sprint(got.Matchers) != fmt.Sprint(in.Matchers) ||
				time.Since(got.StartsAt).Abs() > time.Minute {
				t.Errorf("got %+v\nfrom %+v", got, in)
			}
			found, err := client.Find(ctx, marker)
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != 1 || found[0].ID != id {
				t.Fatalf("Find(%q) = %+v, want the one silence %s", marker, found, id)
			}
			if err := client.Expire(ctx, id); err != nil {
				t.Fatal(err)
			}
			if got, err := client.Get(ctx, id); err != nil || got.State != alertmanager.StateExpired {
				t.Errorf("after Expire: %+v, %v", got, err)
			}
			if err := client.Expire(ctx, id); err != nil {
				t.Errorf("expiring again: %v", err)
			}
			if found, err := client.Find(ctx, marker); err != nil || len(found) != 0 {
				t.Errorf("Find after Expire: %+v, %v", found, err)
			}

			const unknown = "6d1a2c5e-0000-4000-8000-000000000000"
			if _, err := client.Get(ctx, unknown); !errors.Is(err, alertmanager.ErrSilenceNotFound) {
				t.Errorf("Get unknown: %v", err)
			}
			if err := client.Expire(ctx, unknown); !errors.Is(err, alertmanager.ErrSilenceNotFound) {
				t.Errorf("Expire unknown: %v", err)
			}
			_, err = client.Create(ctx, alertmanager.Silence{
				Matchers: []alertmanager.Matcher{{Name: "service", Value: ".*", IsRegex: true, IsEqual: true}},
				EndsAt:   time.Now().Add(time.Hour), Comment: marker,
			})
			var ae *alertmanager.Error
			if !errors.As(err, &ae) || ae.Status != 400 || !strings.Contains(ae.Message, "must not match the empty string") {
				t.Errorf("silence of everything: %v", err)
			}
		})
	}
}

// TestFakeAgreesWithAlertmanager sends the same raw requests to the real
// Alertmanager and to the fake and compares the answers: status, and the
// message for refusals.
func TestFakeAgreesWithAlertmanager(t *testing.T) {
	live := startAlertmanager(t)
	fake := amtest.New()
	defer fake.Close()

	now := time.Now().UTC()
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	sil := func(matchers, start, end string) string {
		return `{"matchers":[` + matchers + `],"startsAt":"` + start + `","endsAt":"` + end + `","createdBy":"w","comment":"conformance"}`
	}
	const eq = `{"name":"service","value":"checkout","isRegex":false,"isEqual":true}`
	type request struct{ name, method, path, contentType, body string }
	requests := []request{
		{"create", "POST", "/api/v2/silences", "application/json", sil(eq, at(0), at(time.Hour))},
		{"create pending", "POST", "/api/v2/silences", "application/json", sil(eq, at(time.Hour), at(2*time.Hour))},
		{"zero start", "POST", "/api/v2/silences", "application/json", sil(eq, "0001-01-01T00:00:00Z", at(time.Hour))},
		{"isEqual missing", "POST", "/api/v2/silences", "application/json", sil(`{"name":"service","value":"x","isRegex":false}`, at(0), at(time.Hour))},
		{"not-equal alone", "POST", "/api/v2/silences", "application/json", sil(`{"name":"service","value":"x","isRegex":false,"isEqual":false}`, at(0), at(time.Hour))},
		{"empty value", "POST", "/api/v2/silences", "application/json", sil(`{"name":"service","value":"","isRegex":false,"isEqual":true}`, at(0), at(time.Hour))},
		{"regex matching empty", "POST", "/api/v2/silences", "application/json", sil(`{"name":"service","value":"a|","isRegex":true,"isEqual":true}`, at(0), at(time.Hour))},
		{"bad name", "POST", "/api/v2/silences", "application/json", sil(`{"name":"1x","value":"a","isRegex":false}`, at(0), at(time.Hour))},
		{"bad regex", "POST", "/api/v2/silences", "application/json", sil(`{"name":"x","value":"[","isRegex":true}`, at(0), at(time.Hour))},
		{"no matchers", "POST", "/api/v2/silences", "application/json", sil(``, at(0), at(time.Hour))},
		{"no isRegex", "POST", "/api/v2/silences", "application/json", sil(`{"name":"x","value":"a"}`, at(0), at(time.Hour))},
		{"end before start", "POST", "/api/v2/silences", "application/json", sil(eq, at(time.Hour), at(0))},
		{"end in the past", "POST", "/api/v2/silences", "application/json", sil(eq, at(-2*time.Hour), at(-time.Hour))},
		{"missing two", "POST", "/api/v2/silences", "application/json", `{"matchers":[` + eq + `],"startsAt":"` + at(0) + `","endsAt":"` + at(time.Hour) + `"}`},
		{"missing times", "POST", "/api/v2/silences", "application/json", `{"matchers":[` + eq + `],"createdBy":"w","comment":"c"}`},
		{"empty body", "POST", "/api/v2/silences", "application/json", ``},
		{"form body", "POST", "/api/v2/silences", "application/x-www-form-urlencoded", `{}`},
		{"unknown id", "POST", "/api/v2/silences", "application/json", `{"id":"6d1a2c5e-0000-4000-8000-000000000000",` + sil(eq, at(0), at(time.Hour))[1:]},
		{"get unknown", "GET", "/api/v2/silence/6d1a2c5e-0000-4000-8000-000000000000", "", ""},
		{"get not a uuid", "GET", "/api/v2/silence/nope", "", ""},
		{"delete not a uuid", "DELETE", "/api/v2/silence/nope", "", ""},
		{"list", "GET", "/api/v2/silences", "", ""},
		{"list bad filter", "GET", "/api/v2/silences?filter=service", "", ""},
		{"list bad regex filter", "GET", `/api/v2/silences?filter=service%3D~%22%28%22`, "", ""},
	}
	send := func(base string, r request) (int, string) {
		req, err := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if r.contentType != "" {
			req.Header.Set("Content-Type", r.contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	for _, r := range requests {
		rs, rb := send(live, r)
		fs, fb := send(fake.URL(), r)
		if rs != fs {
			t.Errorf("%s: alertmanager %d %s; amtest %d %s", r.name, rs, rb, fs, fb)
			continue
		}
		if rs == http.StatusOK {
			continue // IDs and times differ; the end-to-end test reads them
		}
		if strings.HasPrefix(rb, `{"code":400,"message":"parsing silence body`) {
			continue // Go's JSON errors name Alertmanager's types
		}
		if rb != fb {
			t.Errorf("%s: %d\nalertmanager %s\namtest       %s", r.name, rs, rb, fb)
		}
	}
}
