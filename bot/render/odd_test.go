package render_test

import (
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/render/jirawiki"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

// oddNow is the fixed render time.
var oddNow = time.Date(2025, 3, 4, 10, 23, 0, 0, time.UTC)

func oddNum(v float64) *float64 { return &v }

func oddIncident() *incident.Incident {
	return &incident.Incident{
		ID: "INC-7", Seq: 7, Key: "api-error-rate/env=prod,service=payment-gateway", Service: "payment-gateway", Env: "prod",
		Rule: "api-error-rate", Severity: incident.Critical, State: incident.Triggered, WarRoom: true,
		Title: "High error rate on payment-gateway", Value: oddNum(0.0311), Threshold: oddNum(0.008),
		OpenedAt: oddNow.Add(-(time.Hour + 23*time.Minute)), UpdatedAt: oddNow, SlackChannelID: "C0WARROOM1", SlackChannel: "inc-20250304-payment-gateway-7",
	}
}

func oddAlert(name string, labels map[string]string, v float64) incident.Alert {
	l := map[string]string{"alertname": name, "service": "payment-gateway", "env": "prod", "severity": "critical"}
	for k, val := range labels {
		l[k] = val
	}
	return incident.Alert{Status: incident.AlertFiring, Labels: l, Annotations: map[string]string{"summary": "error rate above threshold"},
		StartsAt: oddNow.Add(-time.Hour), Source: incident.SourceAlertmanager, Value: oddNum(v)}
}

// Every float64 an alert or Prometheus can bring renders as a number in
// the war room and the ticket: NaN and the infinities as Prometheus writes
// them, and a finite value never as an infinity or a percentage that
// overflowed.
func TestOddValuesRender(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		value     float64
		want      string
		forbidden string
	}{
		{"1e308", 1e308, "1e+308", "Inf"},
		{"max float64", math.MaxFloat64, "1.8e+308", "Inf"},
		{"negative max", -math.MaxFloat64, "-1.8e+308", "Inf"},
		{"1e300", 1e300, "1e+300", "Inf"},
		{"NaN", math.NaN(), "NaN", "NaN%"},
		{"+Inf", math.Inf(1), "+Inf", "Inf%"},
		{"-Inf", math.Inf(-1), "-Inf", "Inf%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inc := oddIncident()
			inc.Value, inc.PeakValue = oddNum(tc.value), oddNum(tc.value)
			alerts := []incident.Alert{oddAlert("HighErrorRate", map[string]string{"pod": "p1"}, tc.value)}
			blocks, err := json.Marshal(slackmsg.SummaryBlocks(slackmsg.SummaryView{Incident: inc, Alerts: alerts, TotalAlerts: 1, FiringAlerts: 1, Now: oddNow}))
			if err != nil {
				t.Fatal(err)
			}
			texts := map[string]string{
				"summary blocks": string(blocks),
				"fallback":       slackmsg.SummaryFallback(slackmsg.SummaryView{Incident: inc, Alerts: alerts, TotalAlerts: 1, FiringAlerts: 1, Now: oddNow}),
				"announce":       slackmsg.AnnounceText(inc, "C0WARROOM1"),
				"jira":           jirawiki.Description(jirawiki.View{Incident: inc, Alerts: alerts, TotalAlerts: 1, FiringAlerts: 1, Now: oddNow}),
			}
			for name, text := range texts {
				if !strings.Contains(text, tc.want) {
					t.Errorf("%s lacks %q:\n%s", name, tc.want, text)
				}
				if strings.Contains(text, tc.forbidden) {
					t.Errorf("%s shows %q:\n%s", name, tc.forbidden, text)
				}
				// No run of digits longer than a float64 has.
				if m := regexp.MustCompile(`[0-9]{20,}`).FindString(text); m != "" {
					t.Errorf("%s shows the digits %s", name, m)
				}
			}
		})
	}
}

// deliverBody posts a payload and decodes the answer.
