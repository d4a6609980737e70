package render_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/render/jirawiki"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

// Values and thresholds show in the unit of the rule's value everywhere the
// war room and the ticket show them, never as a percentage of seconds.
func TestValuesRenderInTheirUnit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                  string
		unit                  incident.Unit
		value, peak, thresh   float64
		alert                 float64
		facts, fallback, jira string
		topic                 string
		alertText             string
	}{
		{
			name: "seconds", unit: incident.UnitSeconds, value: 0.75, peak: 1.2, thresh: 0.5, alert: 0.75,
			facts:     "now 750 ms (peak 1.2 s) vs 500 ms threshold",
			fallback:  "INC-7 payment-gateway at 750 ms &gt; 500 ms (triggered)",
			jira:      "[INC-7] payment-gateway at 750 ms vs 500 ms (prod)",
			topic:     "750 ms vs 500 ms threshold",
			alertText: "750 ms",
		},
		{
			name: "count", unit: incident.CountOf("failure"), value: 63, peak: 63, thresh: 50, alert: 1,
			facts:     "now 63 failures (peak 63 failures) vs 50 failures threshold",
			fallback:  "INC-7 payment-gateway at 63 failures &gt; 50 (triggered)",
			jira:      "[INC-7] payment-gateway at 63 failures vs 50 (prod)",
			topic:     "63 failures vs 50 threshold",
			alertText: "1 failure",
		},
		{
			name: "named seconds", unit: incident.UnitSeconds.Named("P99 latency"), value: 1.8, peak: 1.8, thresh: 0.5, alert: 1.8,
			facts:     "now 1.8 s (peak 1.8 s) vs 500 ms threshold",
			fallback:  "INC-7 payment-gateway P99 latency 1.8 s &gt; 500 ms (triggered)",
			jira:      "[INC-7] payment-gateway P99 latency 1.8 s vs 500 ms (prod)",
			topic:     "P99 latency 1.8 s vs 500 ms threshold",
			alertText: "1.8 s",
		},
		{
			name: "count in a window", unit: incident.CountOf("auth failure").Over(10 * time.Minute), value: 63, peak: 70, thresh: 50, alert: 63,
			facts:     "now 63 auth failures (peak 70 auth failures) vs 50 auth failures threshold",
			fallback:  "INC-7 payment-gateway 63 auth failures in 10 min &gt; 50 (triggered)",
			jira:      "[INC-7] payment-gateway 63 auth failures in 10 min vs 50 (prod)",
			topic:     "63 auth failures in 10 min vs 50 threshold",
			alertText: "63 auth failures",
		},
		{
			name: "ratio", unit: incident.UnitRatio, value: 0.0311, peak: 0.035, thresh: 0.008, alert: 0.0311,
			facts:     "now 3.11% (peak 3.5%) vs 0.8% threshold",
			fallback:  "INC-7 payment-gateway error rate 3.11% &gt; 0.8% (triggered)",
			jira:      "[INC-7] payment-gateway error rate 3.11% vs 0.8% (prod)",
			topic:     "3.11% vs 0.8% threshold",
			alertText: "3.11%",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inc := oddIncident()
			inc.Unit, inc.Value, inc.PeakValue, inc.Threshold = tc.unit, oddNum(tc.value), oddNum(tc.peak), oddNum(tc.thresh)
			alerts := []incident.Alert{oddAlert("Slow", nil, tc.alert)}
			view := slackmsg.SummaryView{Incident: inc, Alerts: alerts, TotalAlerts: 1, FiringAlerts: 1, Now: oddNow}
			blocks, err := json.Marshal(slackmsg.SummaryBlocks(view))
			if err != nil {
				t.Fatal(err)
			}
			desc := jirawiki.Description(jirawiki.View{Incident: inc, Alerts: alerts, TotalAlerts: 1, FiringAlerts: 1, Now: oddNow})
			for where, text := range map[string]string{"summary": string(blocks), "jira description": desc} {
				if !strings.Contains(text, tc.facts) {
					t.Errorf("%s lacks %q:\n%s", where, tc.facts, text)
				}
				if !strings.Contains(text, tc.alertText) {
					t.Errorf("%s lacks the alert's %q", where, tc.alertText)
				}
			}
			if got := slackmsg.SummaryFallback(view); got != tc.fallback {
				t.Errorf("fallback = %q, want %q", got, tc.fallback)
			}
			if got := jirawiki.Summary(inc); got != tc.jira {
				t.Errorf("jira summary = %q, want %q", got, tc.jira)
			}
			inc.State = incident.Resolved
			peak := tc.unit.Format(tc.peak)
			for where, text := range map[string]string{
				"resolution": slackmsg.ResolutionText(inc, oddNow), "closing comment": jirawiki.ClosingComment(inc, oddNow),
				"topic": slackmsg.Topic(inc),
			} {
				want := peak
				if where == "topic" {
					want = tc.topic
				}
				if !strings.Contains(text, want) {
					t.Errorf("%s = %q, want it to contain %q", where, text, want)
				}
			}
		})
	}
}
