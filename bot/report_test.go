package bot_test

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/incident"
)

// report reads GET /api/v1/report with query.
func (h *harness) report(query string) httpapi.ReportView {
	h.t.Helper()
	r := h.get("/api/v1/report" + query)
	if r.code != http.StatusOK {
		h.t.Fatalf("report%s: HTTP %d %s", query, r.code, r.body)
	}
	return decodeJSON[httpapi.ReportView](h.t, r)
}

func service(t *testing.T, v httpapi.ReportView, name string) incident.ServiceReport {
	t.Helper()
	for _, s := range v.Services {
		if s.Service == name {
			return s
		}
	}
	t.Fatalf("the report has no row for %s: %+v", name, v.Services)
	return incident.ServiceReport{}
}

func eqSeconds(t *testing.T, what string, got *float64, want time.Duration) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = null, want %v", what, want)
		return
	}
	if math.Abs(*got-want.Seconds()) > 1e-9 {
		t.Errorf("%s = %vs, want %v (%vs)", what, *got, want, want.Seconds())
	}
}

// The report over the captured fixtures: payment-gateway's war room
// (alertmanager/firing-high-error-rate.json) acknowledged and later
// resolved by its alert, a second war room of the same key opened past
// the reopen window and acknowledged, and checkout's recorded incident.
// The expected times come from the test clock at each step. The
// histograms count each transition once: a second ack (409) and the
// resolving webhook replayed observe nothing.
func TestReportOverFixtures(t *testing.T) {
	t.Parallel()
	h := start(t, nil)

	opened1 := h.now()
	eq(t, "opened", ids(h.deliver("alertmanager/firing-high-error-rate.json").Opened), "[INC-1]")
	h.advance(4 * time.Minute)
	acked1 := h.now()
	eq(t, "ack INC-1", h.act("INC-1", "ack"), http.StatusOK)
	h.advance(time.Minute)
	eq(t, "ack INC-1 again", h.act("INC-1", "ack"), http.StatusConflict)
	h.advance(45 * time.Minute)
	resolved1 := h.now()
	eq(t, "resolved by its alert", ids(h.deliver("alertmanager/resolved-high-error-rate.json").Resolved), "[INC-1]")
	eq(t, "the resolve replayed", ids(h.deliver("alertmanager/resolved-high-error-rate.json").Resolved), "[]")
	eq(t, "resolve INC-1 again", h.act("INC-1", "resolve"), http.StatusConflict)
	eq(t, "recorded", ids(h.deliver("alertmanager/firing-below-threshold.json").Recorded), "[INC-2]")

	h.advance(2 * time.Hour) // past reopen_window (1h): a new incident
	opened3 := h.now()
	eq(t, "opened again", ids(h.deliver("alertmanager/firing-high-error-rate.json").Opened), "[INC-3]")
	h.advance(10 * time.Minute)
	acked3 := h.now()
	eq(t, "ack INC-3", h.act("INC-3", "ack"), http.StatusOK)

	tta1, tta3, ttr1 := acked1.Sub(opened1), acked3.Sub(opened3), resolved1.Sub(opened1)
	if tta1 != 4*time.Minute || tta3 != 10*time.Minute || ttr1 != 50*time.Minute {
		t.Fatalf("the clock moved by itself: acknowledged after %v and %v, resolved after %v", tta1, tta3, ttr1)
	}
	v := h.report("?since=30d")
	eq(t, "window", v.Window, "30d")
	eq(t, "until", v.Until.Equal(h.now()), true)
	eq(t, "since", v.Since.Equal(h.now().Add(-30*24*time.Hour)), true)
	eq(t, "services", len(v.Services), 2)
	pay := service(t, v, "payment-gateway")
	eq(t, "payment-gateway first (most incidents)", v.Services[0].Service, "payment-gateway")
	eq(t, "incidents", pay.Incidents, 2)
	eq(t, "war rooms", pay.WarRooms, 2)
	eq(t, "recorded", pay.Recorded, 0)
	eq(t, "acknowledged", pay.TimeToAcknowledge.Count, 2)
	eq(t, "unacknowledged", pay.Unacknowledged, 0)
	// Two acknowledges: the median is their mean, 7m; the 90th
	// percentile lies nine tenths of the way from the first to the
	// second, 9m24s.
	eqSeconds(t, "median time to acknowledge", pay.TimeToAcknowledge.Median, (tta1+tta3)/2)
	eqSeconds(t, "p90 time to acknowledge", pay.TimeToAcknowledge.P90, tta1+(tta3-tta1)*9/10)
	eqSeconds(t, "median time to acknowledge, by hand", pay.TimeToAcknowledge.Median, 7*time.Minute)
	eqSeconds(t, "p90 time to acknowledge, by hand", pay.TimeToAcknowledge.P90, 9*time.Minute+24*time.Second)
	// One resolve, INC-3 still open: it is counted as open, not timed.
	eq(t, "resolved", pay.TimeToResolve.Count, 1)
	eq(t, "unresolved", pay.Unresolved, 1)
	eqSeconds(t, "median time to resolve", pay.TimeToResolve.Median, ttr1)
	eqSeconds(t, "p90 time to resolve", pay.TimeToResolve.P90, ttr1)
	eq(t, "no suspect deploy", pay.SuspectDeploys, 0)
	eq(t, "no rollback rate", pay.RollbackRate == nil, true)

	checkout := service(t, v, "checkout")
	eq(t, "checkout incidents", checkout.Incidents, 1)
	eq(t, "checkout recorded", checkout.Recorded, 1)
	eq(t, "checkout recorded alerts", checkout.RecordedAlerts, 1)
	eq(t, "checkout war rooms", checkout.WarRooms, 0)
	eq(t, "checkout times", checkout.TimeToAcknowledge.Median == nil && checkout.TimeToResolve.Median == nil, true)
	eq(t, "total incidents", v.Total.Incidents, 3)
	eq(t, "total acknowledged", v.Total.TimeToAcknowledge.Count, 2)

	// The last hour holds INC-3 alone.
	v = h.report("?since=1h")
	eq(t, "last hour's services", len(v.Services), 1)
	pay = service(t, v, "payment-gateway")
	eq(t, "last hour's incidents", pay.Incidents, 1)
	eqSeconds(t, "last hour's median time to acknowledge", pay.TimeToAcknowledge.Median, tta3)
	eq(t, "last hour's resolved", pay.TimeToResolve.Count, 0)
	eq(t, "last hour's median time to resolve", pay.TimeToResolve.Median == nil, true)

	for q, want := range map[string]string{
		"?since=1.5d":    `since="1.5d" is not a window: want days such as 30d, or a Go duration such as 36h or 90m`,
		"?since=0d":      "must be longer than zero",
		"?since=99999d":  "at most 3650d",
		"?since=fortnit": "want days such as 30d, or a Go duration",
	} {
		r := h.get("/api/v1/report" + q)
		if msg := decodeJSON[struct{ Error string }](t, r).Error; r.code != http.StatusBadRequest || !strings.Contains(msg, want) {
			t.Errorf("report%s: HTTP %d %q; want 400 with %q", q, r.code, msg, want)
		}
	}

	// Each transition observed once, with its time.
	rule := h.incident("INC-1").Rule
	series := fmt.Sprintf(`{rule=%q,severity="critical"}`, rule)
	if sev := h.incident("INC-1").Severity; sev != incident.Critical {
		t.Fatalf("INC-1's severity is %s", sev)
	}
	eq(t, "acknowledges observed", h.metricValue("warroom_time_to_acknowledge_seconds_count"+series), "2")
	eq(t, "resolves observed", h.metricValue("warroom_time_to_resolve_seconds_count"+series), "1")
	eq(t, "time to acknowledge, summed", h.metricValue("warroom_time_to_acknowledge_seconds_sum"+series), fmt.Sprint((tta1 + tta3).Seconds()))
	eq(t, "time to resolve, summed", h.metricValue("warroom_time_to_resolve_seconds_sum"+series), fmt.Sprint(ttr1.Seconds()))
	eq(t, "time to resolve within an hour", h.metricValue(`warroom_time_to_resolve_seconds_bucket{rule="`+rule+`",severity="critical",le="3600"}`), "1")
	eq(t, "time to resolve not within half an hour", h.metricValue(`warroom_time_to_resolve_seconds_bucket{rule="`+rule+`",severity="critical",le="1800"}`), "0")
}
