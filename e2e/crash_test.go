package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fixture is the Alertmanager delivery the crash test's deliveries are made
// from, a real webhook captured from Alertmanager.
const fixture = "../internal/fixtures/alertmanager/firing-high-error-rate.json"

// delivery is one webhook the crash test sends, and what became of it.
type delivery struct {
	index       int
	service     string
	fingerprint string
	payload     []byte
	status      int   // HTTP status, 0 if no answer
	err         error // transport error: the outcome is unknown
}

func (d *delivery) acked() bool { return d.status == http.StatusOK }

// TestCrashSafety kills warroom with SIGKILL in the middle of a stream of
// webhooks and again while its side-effect jobs run, restarts it on the same
// files each time, and checks that every delivery answered 200 is stored,
// that every war room ran its opening steps, and that every job appears
// exactly once in the dry-run log.
func TestCrashSafety(t *testing.T) {
	dir := t.TempDir()
	tmpl, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	w := newWarroom(t, dir)
	w.start()

	// torn records where each kill left an unfinished last line in the
	// dry-run log, and that line.
	torn := map[int64]string{}
	noteTorn := func(when string) {
		if off, frag, ok := tornTail(w.dryRunLog); ok {
			torn[off] = frag
			t.Logf("%s: the dry-run log ends in a torn line at offset %d: %q", when, off, frag)
		}
	}

	// A delivery without the token, or with a wrong one, is refused with
	// 401 and stores nothing (checkAlertsStored finds any alert not sent).
	intruder := newDelivery(t, tmpl, 9999, "svc-intruder")
	for _, token := range []string{"", "Bearer wrong-" + w.token, w.token} {
		code, body, err := w.request(context.Background(), http.MethodPost, "/api/v1/alerts/alertmanager", intruder.payload, token)
		if err != nil || code != http.StatusUnauthorized {
			t.Errorf("delivery with Authorization %q: status %d, error %v, want 401; body %s", token, code, err, truncate(string(body), 200))
		}
	}

	// Phase 1: 300 deliveries of one alert each over 30 services; SIGKILL
	// once 100 of them were answered 200; the rest are never resent.
	const services, total, killAfter, ackWait = 30, 300, 100, 60 * time.Second
	rng := rand.New(rand.NewPCG(1, 2)) // fixed: the same stream every run
	var all []*delivery
	for i := range total {
		all = append(all, newDelivery(t, tmpl, i, fmt.Sprintf("svc-%02d", rng.IntN(services))))
	}
	start := time.Now()
	var acked atomic.Int64
	reached := make(chan struct{})
	var once sync.Once
	send(w, all, 4, func(d *delivery) {
		if d.acked() && acked.Add(1) == killAfter {
			once.Do(func() { close(reached) })
		}
	}, func() {
		select {
		case <-reached:
		case <-time.After(ackWait):
			t.Errorf("only %d of %d deliveries answered 200 within %s", acked.Load(), killAfter, ackWait)
		}
		w.proc.kill()
	})
	linesAtKill := countLines(w.dryRunLog)
	noteTorn("first kill")
	t.Logf("first kill after %s: %s; %d lines in the dry-run log", time.Since(start).Round(time.Millisecond), outcomes(all), linesAtKill)
	checkStatuses(t, all)
	if t.Failed() {
		t.FailNow()
	}

	// Phase 2: restart; a burst of 30 new services opens 30 war rooms
	// (some 350 jobs); then SIGKILL three times while their jobs run, each
	// time once 20 more lines are in the dry-run log, restarting after each.
	w.start()
	var burst []*delivery
	for i := range services {
		burst = append(burst, newDelivery(t, tmpl, total+i, fmt.Sprintf("svc-%02d", services+i)))
	}
	last := countLines(w.dryRunLog)
	send(w, burst, 2, nil, func() {})
	t.Logf("burst after the restart: %s", outcomes(burst))
	for _, d := range burst {
		if d.err != nil {
			t.Errorf("delivery %d to a running server: %v", d.index, d.err)
		}
	}
	checkStatuses(t, burst)
	all = append(all, burst...)
	var kills []string
	for k := range 3 {
		if k > 0 {
			w.start()
		}
		grew := killWhenLogGrows(w, last+20, 5*time.Second)
		noteTorn(fmt.Sprintf("kill %d", k+2))
		n := countLines(w.dryRunLog)
		note := fmt.Sprintf("%d→%d", last, n)
		if !grew {
			note += " (jobs had stopped)"
		}
		kills, last = append(kills, note), n
	}

	// Last run: let every job settle.
	w.start()
	details := settle(t, w, 120*time.Second)
	lines, _, err := readDryRunLog(w.dryRunLog)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kills while jobs ran (dry-run log lines from the previous kill to this one): %v; %d lines after the last kill",
		kills, len(lines)-last)
	t.Logf("settled after %s in run %d: %d incidents, %d lines in the dry-run log",
		time.Since(start).Round(time.Millisecond), w.runs, len(details), len(lines))

	checkAlertsStored(t, all, details)
	checkDryRunLog(t, lines, torn, details)

	// SIGTERM ends the server cleanly.
	if err := w.proc.terminate(15 * time.Second); err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
}

// killWhenLogGrows kills the server once the dry-run log has at least lines
// lines, or after timeout; it reports whether the log got there.
func killWhenLogGrows(w *warroom, lines int, timeout time.Duration) bool {
	defer w.proc.kill()
	deadline := time.Now().Add(timeout)
	var size int64 = -1
	for time.Now().Before(deadline) && !w.proc.exited() {
		if fi, err := os.Stat(w.dryRunLog); err == nil && fi.Size() != size {
			size = fi.Size()
			if countLines(w.dryRunLog) >= lines {
				return true
			}
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// newDelivery makes delivery i from the fixture: one firing HighErrorRate
// alert for service at 3% errors with a fingerprint of its own.
func newDelivery(t *testing.T, tmpl []byte, i int, service string) *delivery {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(tmpl, &p); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	alerts, _ := p["alerts"].([]any)
	if len(alerts) != 1 {
		t.Fatalf("fixture: want one alert, have %d", len(alerts))
	}
	alert, _ := alerts[0].(map[string]any)
	labels, _ := alert["labels"].(map[string]any)
	annotations, _ := alert["annotations"].(map[string]any)
	groupLabels, _ := p["groupLabels"].(map[string]any)
	commonLabels, _ := p["commonLabels"].(map[string]any)
	commonAnnotations, _ := p["commonAnnotations"].(map[string]any)
	if labels == nil || annotations == nil || groupLabels == nil || commonLabels == nil || commonAnnotations == nil {
		t.Fatalf("fixture: unexpected shape")
	}
	fp := fmt.Sprintf("e2e%013x", i)
	pod := fmt.Sprintf("%s-%d", service, i)
	for _, m := range []map[string]any{labels, commonLabels} {
		m["service"], m["pod"] = service, pod
	}
	groupLabels["service"] = service
	for _, m := range []map[string]any{annotations, commonAnnotations} {
		m["error_rate"] = "0.03"
		m["summary"] = service + " error rate is 3%"
		m["description"] = "5xx ratio for " + service + " in prod has been above 0.8% for 3s."
	}
	alert["fingerprint"] = fp
	alert["startsAt"] = time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	p["groupKey"] = fmt.Sprintf(`{}/{alertname=~".+"}:{alertname="HighErrorRate", env="prod", service=%q}`, service)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return &delivery{index: i, service: service, fingerprint: fp, payload: b}
}

// send posts the deliveries with n concurrent senders, calling done after
// each. During the stream it runs during() in the calling goroutine (which
// kills the server); it returns when both have finished. A transport error
// leaves the delivery's outcome unknown; nothing is retried.
func send(w *warroom, ds []*delivery, n int, done func(*delivery), during func()) {
	next := make(chan *delivery)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range next {
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				d.status, _, d.err = w.postAlertmanager(ctx, d.payload)
				cancel()
				if done != nil {
					done(d)
				}
			}
		}()
	}
	go func() {
		for _, d := range ds {
			next <- d
		}
		close(next)
	}()
	during()
	wg.Wait()
}

// outcomes counts the answers to deliveries.
func outcomes(ds []*delivery) string {
	var ok, unknown, other int
	var firstErr error
	for _, d := range ds {
		switch {
		case d.acked():
			ok++
		case d.err != nil:
			unknown++
			if firstErr == nil {
				firstErr = d.err
			}
		default:
			other++
		}
	}
	s := fmt.Sprintf("%d answered 200, %d other answers, %d without an answer", ok, other, unknown)
	if firstErr != nil {
		s += fmt.Sprintf(" (first: %v)", firstErr)
	}
	return s
}

// checkStatuses fails on answers other than 200 to valid deliveries. A 503
// is allowed by the contract (the sender retries) but the test does not
// retry, so it says so.
func checkStatuses(t *testing.T, ds []*delivery) {
	t.Helper()
	for _, d := range ds {
		if d.err == nil && !d.acked() {
			t.Errorf("delivery %d (%s, fingerprint %s): status %d, want 200", d.index, d.service, d.fingerprint, d.status)
		}
	}
}

// settle waits until no job of any incident is pending or running, the
// dry-run log has stopped growing, and every war room's opening steps are in
// it; it returns every incident in detail.
func settle(t *testing.T, w *warroom, timeout time.Duration) map[string]*apiIncidentDetail {
	t.Helper()
	var details map[string]*apiIncidentDetail
	lastSize, lastChange := int64(-1), time.Now()
	waitFor(t, timeout, "every job to settle", func() (bool, string) {
		lines, size, err := readDryRunLog(w.dryRunLog)
		if err != nil {
			return false, err.Error()
		}
		if size != lastSize {
			lastSize, lastChange = size, time.Now()
		}
		incs, err := w.incidents(true)
		if err != nil {
			return false, err.Error()
		}
		details = map[string]*apiIncidentDetail{}
		logged := map[string]bool{}
		for _, l := range lines {
			logged[l.entry.Key] = true
		}
		var pending, missing []string
		for _, inc := range incs {
			d, err := w.incident(inc.ID)
			if err != nil {
				return false, err.Error()
			}
			details[inc.ID] = d
			for _, j := range d.Jobs {
				if !j.terminal() {
					pending = append(pending, fmt.Sprintf("%s(%s, attempt %d, %q)", j.Key, j.State, j.Attempt, j.LastError))
				}
			}
			if d.WarRoom {
				for _, k := range openingSteps(inc.ID) {
					if !logged[k] {
						missing = append(missing, k)
					}
				}
			}
		}
		quiet := time.Since(lastChange)
		status := fmt.Sprintf("%d incidents, %d log lines, log quiet for %s; %d jobs not finished %v; %d opening steps not in the log %v",
			len(incs), len(lines), quiet.Round(time.Millisecond), len(pending), first(pending, 10), len(missing), first(missing, 10))
		return len(pending) == 0 && len(missing) == 0 && quiet > 1500*time.Millisecond, status
	}, w.proc)
	return details
}

// checkAlertsStored checks that every delivery answered 200 is stored on
// one incident of its service, that no alert appears that was never sent,
// and that each service has one war room.
func checkAlertsStored(t *testing.T, ds []*delivery, details map[string]*apiIncidentDetail) {
	t.Helper()
	stored := map[string]string{} // fingerprint → incident
	perService := map[string][]string{}
	for id, d := range details {
		perService[d.Service] = append(perService[d.Service], id)
		for _, a := range d.Alerts {
			if prev, dup := stored[a.Fingerprint]; dup && prev != id {
				t.Errorf("alert %s is on both %s and %s", a.Fingerprint, prev, id)
			}
			stored[a.Fingerprint] = id
		}
		if !d.WarRoom && d.Storm == "" {
			t.Errorf("%s: every alert was at 3%%, want a war room or a storm's child", d.apiIncident)
		}
	}
	// Past storm.threshold (5) war rooms within storm.window (5m), the
	// next declares one storm that the rest join, whoever was killed when.
	var storms, rooms []string
	for id, d := range details {
		switch {
		case d.Kind == "storm":
			storms = append(storms, id)
		case d.WarRoom:
			rooms = append(rooms, id)
		}
	}
	if len(storms) > 1 || len(storms) == 1 && len(rooms) != 5 || len(storms) == 0 && len(rooms) > 5 {
		t.Errorf("%d storms %v and %d war rooms %v; want five war rooms, then one storm", len(storms), storms, len(rooms), rooms)
	}
	sent := map[string]*delivery{}
	var lost []string
	for _, d := range ds {
		sent[d.fingerprint] = d
		id, ok := stored[d.fingerprint]
		switch {
		case d.acked() && !ok:
			lost = append(lost, fmt.Sprintf("%s (delivery %d, %s)", d.fingerprint, d.index, d.service))
		case ok && details[id].Service != d.service:
			t.Errorf("alert %s of %s is on %s", d.fingerprint, d.service, details[id].apiIncident)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d deliveries answered 200 are not stored: %v", len(lost), lost)
	}
	for fp, id := range stored {
		if sent[fp] == nil {
			t.Errorf("%s has alert %s, which was never sent", id, fp)
		}
	}
	for _, d := range ds {
		if d.acked() && len(perService[d.service]) != 1 { // the storm's service is "storm", no delivery's
			t.Errorf("service %s: want one incident, have %v", d.service, perService[d.service])
		}
	}
}

// checkDryRunLog checks that every line of the log is a complete record
// (except a torn line a kill left, if the restart kept it apart), that
// every job is logged exactly once (each call of its plan once, in order),
// that every war room's opening steps are there, and that the log and the
// jobs the API lists agree.
func checkDryRunLog(t *testing.T, lines []dryRunLine, torn map[int64]string, details map[string]*apiIncidentDetail) {
	t.Helper()
	count := map[string][]string{}
	calls := map[string][]dryRunEntry{}
	for _, l := range lines {
		if l.err != nil {
			if frag, ok := torn[l.offset]; ok && frag == l.text {
				continue // cut by a kill, and nothing was appended to it
			}
			if _, ok := torn[l.offset]; ok {
				t.Errorf("dry-run log: the line torn by a kill at offset %d was continued by a later write, hiding that record: %q (%v)", l.offset, truncate(l.text, 400), l.err)
			} else {
				t.Errorf("dry-run log: broken line at offset %d: %q (%v)", l.offset, truncate(l.text, 400), l.err)
			}
			continue
		}
		count[l.entry.Key] = append(count[l.entry.Key], l.text)
		calls[l.entry.Key] = append(calls[l.entry.Key], l.entry)
		if _, ok := details[l.entry.Incident]; !ok {
			t.Errorf("dry-run log: %s names an unknown incident %q", l.entry.Key, l.entry.Incident)
		} else if !keyOf(l.entry.Key, l.entry.Job, l.entry.Incident) {
			t.Errorf("dry-run log: key %q does not match job %q and incident %q", l.entry.Key, l.entry.Job, l.entry.Incident)
		}
	}
	// A record cut by a kill was not done: its job runs again after the
	// restart and must be logged then, once.
	for off, frag := range torn {
		if m := keyRE.FindStringSubmatch(frag); m != nil && len(count[m[1]]) == 0 {
			t.Errorf("dry-run log: job %s, cut off by a kill at offset %d, never appears as a complete line", m[1], off)
		}
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !loggedOnce(calls[k]) {
			t.Errorf("dry-run log: job %s is not logged once, each call of its plan in order:\n%s", k, strings.Join(count[k], "\n"))
		}
	}
	ids := make([]string, 0, len(details))
	for id := range details {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		d := details[id]
		if d.WarRoom {
			for _, k := range openingSteps(id) {
				if len(count[k]) == 0 {
					t.Errorf("%s: opening step %s is not in the dry-run log", id, k)
				}
			}
		}
		if d.Jobs == nil {
			continue
		}
		listed := map[string]bool{}
		for _, j := range d.Jobs {
			listed[j.Key] = true
			switch {
			case j.State == "failed":
				t.Errorf("%s: job %s failed (attempt %d): %s", id, j.Key, j.Attempt, j.LastError)
			case j.State == "completed" && len(count[j.Key]) == 0 && !strings.HasPrefix(j.Key, "correlate.") && !strings.HasPrefix(j.Key, "storm."):
				// The evidence only reads; storm.settle is the domain's.
				t.Errorf("%s: job %s is completed but not in the dry-run log", id, j.Key)
			}
		}
		for _, k := range keys {
			var e dryRunEntry
			_ = json.Unmarshal([]byte(count[k][0]), &e)
			if e.Incident == id && !listed[k] {
				t.Errorf("%s: the dry-run log has %s, which the API does not list among the incident's jobs", id, k)
			}
		}
	}
}

// loggedOnce reports whether the lines of one job are its plan logged
// once: calls 1 to Of in order, or a single line for a plan of none.
func loggedOnce(lines []dryRunEntry) bool {
	if len(lines) == 0 || len(lines) != max(lines[0].Of, 1) {
		return false
	}
	for i, l := range lines {
		if l.Of != lines[0].Of || l.Of > 0 && l.N != i+1 {
			return false
		}
	}
	return true
}

// keyOf reports whether key is a key of a job of kind for incident:
// "kind:INC-n", optionally followed by a suffix (an event ID) that does not
// start with a digit, so that INC-1 does not claim INC-12's keys.
func keyOf(key, kind, incident string) bool {
	rest, ok := strings.CutPrefix(key, kind+":"+incident)
	return ok && (rest == "" || rest[0] < '0' || rest[0] > '9')
}

// keyRE finds the job key in a (possibly torn) dry-run log line.
var keyRE = regexp.MustCompile(`"key":"([^"\\]+)"`)

// first returns up to n elements of s.
func first(s []string, n int) []string {
	return s[:min(n, len(s))]
}
