package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// warroom demo shows the whole job: the war room with the suspect deploy
// and the rollback command, the ticket, and the resolution.
func TestDemo(t *testing.T) {
	code, out, stderr := runCLI(t, "demo")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, out)
	}
	for _, want := range []string{
		"firing-high-error-rate.json                HTTP 200  opened INC-1",
		"firing-below-threshold.json                HTTP 200  recorded INC-2 (0.18% not above 0.8%)",
		"Slack: war room #inc-",
		"suspect 9f8e7d6 payment-gateway by alice, 12m before the alert",
		"Failing traces",
		"failed in ledger: INSERT payments",
		"API golden signals",
		"Prometheus 3.11% at the start, 2.43% now",
		"INC-1 resolved after",
		"Jira: OPS-",
		"[Highest, To Do]",
		"Rollback:       argocd app rollback payment-gateway 0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
		"resolved after",
		"is Done (resolution Done), with a closing comment",
		"The war room is archived at",
		"Postmortem draft: INC-1-postmortem-",
		"  │ # Postmortem: INC-1 ",
		"  │ | Started (first alert) | ",
		"  │ | Resolved | ",
		"Incident page (read-only, signed, linked from the war room and the ticket",
		"/incidents/INC-1?exp=",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	checkDemoStory(t, out, time.Now())
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

var (
	demoStarted  = regexp.MustCompile(`Started: (\d{4}-\d\d-\d\d \d\d:\d\d) UTC`)
	demoDeployed = regexp.MustCompile(`Deployed at:\* (\d{4}-\d\d-\d\d \d\d:\d\d) UTC, 12m before the alert`)
	demoBoard    = regexp.MustCompile(`API golden signals \(http://[^)]*from=(\d+)&to=(\d+)&`)
)

// checkDemoStory checks that the demo tells one story: the alert starts
// when the demo runs, the suspect deploy is 12 minutes before that start
// in every place, the boards show the alert window, and the war room of
// search's two pods is titled by the service.
func checkDemoStory(t *testing.T, out string, ranAt time.Time) {
	t.Helper()
	const layout = "2006-01-02 15:04"
	m := demoStarted.FindStringSubmatch(out)
	d := demoDeployed.FindStringSubmatch(out)
	if m == nil || d == nil {
		t.Fatalf("no Started (%v) or Deployed at (%v) in the output", m, d)
	}
	started, _ := time.Parse(layout, m[1])
	deployed, _ := time.Parse(layout, d[1])
	// Minutes are shown: the incident opens a moment after the alert starts.
	if gap := started.Sub(deployed); gap < 12*time.Minute || gap > 13*time.Minute {
		t.Errorf("Started %s but the suspect was deployed at %s, said to be 12m before the alert", m[1], d[1])
	}
	if off := ranAt.Sub(started); off < -time.Minute || off > 2*time.Minute {
		t.Errorf("Started %s, but the demo ran at %s: the alert should start now", m[1], ranAt.UTC().Format(layout))
	}
	b := demoBoard.FindStringSubmatch(out)
	if b == nil {
		t.Fatal("no API golden signals board link")
	}
	from, _ := strconv.ParseInt(b[1], 10, 64)
	to, _ := strconv.ParseInt(b[2], 10, 64)
	// The alert window: 15 minutes before the start, to now.
	if span := time.Duration(to-from) * time.Millisecond; span < 15*time.Minute || span > 17*time.Minute {
		t.Errorf("the board spans %s, want the alert window (15 minutes before the start to now)", span)
	}
	if !strings.Contains(out, "INC-3 search error rate is 5.107%") || strings.Contains(out, "search-0 error rate") {
		t.Errorf("search's war room is not titled by its service")
	}
}
