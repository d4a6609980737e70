package actions

import (
	"regexp"
	"testing"

	"github.com/warroom/warroom/incident"
)

// The alertname matcher of a silence matches exactly the incident's alert
// names, also when a name carries regex metacharacters, compiled the way
// Alertmanager compiles it (RE2, anchored).
func TestSilenceMatchersQuoteAlertNames(t *testing.T) {
	t.Parallel()
	names := []string{`API error rate (5xx)`, `a.b+c*?`, `x|y`, `[z]{1}^$\`}
	var alerts []incident.Alert
	for _, n := range names {
		alerts = append(alerts, incident.Alert{Labels: map[string]string{"alertname": n}})
	}
	ms := silenceMatchers(&incident.Incident{Service: "payments", Env: "prod"}, alerts)
	var value string
	for _, m := range ms {
		if m.Name == "alertname" {
			if !m.IsRegex || !m.IsEqual {
				t.Fatalf("alertname matcher %+v: want =~", m)
			}
			value = m.Value
		}
	}
	if value == "" {
		t.Fatalf("no alertname matcher in %+v", ms)
	}
	re, err := regexp.Compile("^(?:" + value + ")$")
	if err != nil {
		t.Fatalf("matcher %q does not compile: %v", value, err)
	}
	for _, n := range names {
		if !re.MatchString(n) {
			t.Errorf("matcher %q does not match its alert name %q", value, n)
		}
	}
	for _, other := range []string{"API error rate 5xx", "aXb+c", "abbbc", "x", "y", "z", "zz", "", `[z]{1}^$`} {
		if re.MatchString(other) {
			t.Errorf("matcher %q matches %q, which is not an alert of the incident", value, other)
		}
	}
}
