package main

import (
	"strings"
	"testing"
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
		"Jira: OPS-",
		"[Highest, To Do]",
		"Rollback:       argocd app rollback payment-gateway 0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
		"resolved after",
		"is Done (resolution Done), with a closing comment",
		"The war room is archived at",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
