package bot_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/incident"
)

func (h *harness) deliverBody(body []byte) (int, string) {
	h.t.Helper()
	r := h.post("/api/v1/alerts/alertmanager", body, nil)
	return r.code, string(r.body)
}

// A truncatedAlerts count from the sender is bounded: a huge one is stored
// as the bound, one beyond int64 or below zero is refused.
func TestTruncatedAlertsBounded(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	raw := string(fixture(t, "alertmanager/firing-truncated.json"))
	with := func(n string) []byte {
		re := regexp.MustCompile(`"truncatedAlerts":\s*[0-9]+`)
		if !re.MatchString(raw) {
			t.Fatal("fixture has no truncatedAlerts")
		}
		return []byte(re.ReplaceAllString(raw, `"truncatedAlerts":`+n))
	}
	for _, tc := range []struct {
		n      string
		status int
		reason string
	}{
		{"9223372036854775808", 400, "malformed JSON"},
		{"-1", 400, "truncatedAlerts is negative"},
		{"1e3", 400, "malformed JSON"},
	} {
		code, body := h.deliverBody(with(tc.n))
		if code != tc.status || !strings.Contains(body, tc.reason) || strings.Count(strings.TrimSpace(body), "\n") != 0 {
			t.Errorf("truncatedAlerts %s: %d %s, want %d %q on one line", tc.n, code, body, tc.status, tc.reason)
		}
	}
	if n := len(h.list("?all=true")); n != 0 {
		t.Fatalf("%d incidents after refused payloads", n)
	}
	code, body := h.deliverBody(with("9223372036854775807"))
	if code != 200 {
		t.Fatalf("truncatedAlerts max int64: %d %s", code, body)
	}
	if got := h.incident("INC-1").TruncatedAlerts; got != incident.MaxTruncatedAlerts {
		t.Errorf("stored truncatedAlerts %d, want the bound %d", got, incident.MaxTruncatedAlerts)
	}
}

// viewJSON fetches the single-incident view with query q.
func (h *harness) viewJSON(id, q string) (int, httpapi.IncidentView, string) {
	h.t.Helper()
	r := h.get("/api/v1/incidents/" + id + q)
	var v httpapi.IncidentView
	if r.code == 200 {
		if err := json.Unmarshal(r.body, &v); err != nil {
			h.t.Fatalf("view: %v\n%s", err, r.body)
		}
	}
	return r.code, v, string(r.body)
}

// The single-incident view is bounded: alerts up to alerts_limit with
// their total, the timeline in pages that a client follows to the end.
func TestIncidentViewPaged(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	var m map[string]any
	if err := json.Unmarshal(fixture(t, "alertmanager/firing-high-error-rate.json"), &m); err != nil {
		t.Fatal(err)
	}
	first := m["alerts"].([]any)[0].(map[string]any)
	var alerts []any
	for i := range 150 {
		a := map[string]any{}
		for k, v := range first {
			a[k] = v
		}
		labels := map[string]any{}
		for k, v := range first["labels"].(map[string]any) {
			labels[k] = v
		}
		labels["pod"] = fmt.Sprintf("pod-%03d", i)
		a["labels"], a["fingerprint"] = labels, fmt.Sprintf("fp%06d", i)
		alerts = append(alerts, a)
	}
	m["alerts"] = alerts
	body, _ := json.Marshal(m)
	if code, out := h.deliverBody(body); code != 200 {
		t.Fatalf("deliver: %d %s", code, out)
	}
	for i := range 12 {
		if r := h.post("/api/v1/incidents/INC-1/note", []byte(fmt.Sprintf(`{"text":"note %d"}`, i)), nil); r.code != 200 {
			t.Fatalf("note: %d %s", r.code, r.body)
		}
	}

	code, v, raw := h.viewJSON("INC-1", "")
	if code != 200 || len(v.Alerts) != httpapi.DefaultViewAlerts || v.AlertsTotal != 150 || !v.AlertsTruncated {
		t.Fatalf("default view: %d, %d alerts of %d (truncated %v)", code, len(v.Alerts), v.AlertsTotal, v.AlertsTruncated)
	}
	for _, key := range []string{`"alerts":[`, `"timeline":[`, `"alerts_total":150`, `"alerts_truncated":true`} {
		if !strings.Contains(raw, key) {
			t.Errorf("view lacks %s", key)
		}
	}
	if _, v, _ = h.viewJSON("INC-1", "?alerts_limit=1000"); len(v.Alerts) != 150 || v.AlertsTruncated {
		t.Errorf("alerts_limit=1000: %d alerts, truncated %v", len(v.Alerts), v.AlertsTruncated)
	}

	_, whole, _ := h.viewJSON("INC-1", "?timeline_limit=2000")
	if whole.TimelineNext != 0 || len(whole.Timeline) < 13 {
		t.Fatalf("whole timeline: %d events, next %d", len(whole.Timeline), whole.TimelineNext)
	}
	var paged []incident.Event
	q := "?timeline_limit=5"
	for pages := 0; ; pages++ {
		if pages > len(whole.Timeline) {
			t.Fatal("the pages do not end")
		}
		code, p, raw := h.viewJSON("INC-1", q)
		if code != 200 || len(p.Timeline) > 5 {
			t.Fatalf("page %s: %d, %d events\n%s", q, code, len(p.Timeline), raw)
		}
		paged = append(paged, p.Timeline...)
		if p.TimelineNext == 0 {
			break
		}
		if strings.Contains(raw, `"timeline_next"`) != (p.TimelineNext != 0) {
			t.Errorf("timeline_next shown %v for %d", strings.Contains(raw, `"timeline_next"`), p.TimelineNext)
		}
		q = fmt.Sprintf("?timeline_limit=5&timeline_after=%d", p.TimelineNext)
	}
	if len(paged) != len(whole.Timeline) {
		t.Fatalf("pages gave %d events, the whole timeline has %d", len(paged), len(whole.Timeline))
	}
	for i := range paged {
		if paged[i].ID != whole.Timeline[i].ID {
			t.Fatalf("event %d: page has %d, whole has %d", i, paged[i].ID, whole.Timeline[i].ID)
		}
	}

	// Another incident's event is no cursor for this one.
	h.deliver("alertmanager/firing-below-threshold.json")
	_, other, _ := h.viewJSON("INC-2", "")
	for _, q := range []string{"?alerts_limit=0", "?alerts_limit=1001", "?alerts_limit=ten", "?timeline_limit=0",
		"?timeline_limit=2001", "?timeline_after=-1", "?timeline_after=x", fmt.Sprintf("?timeline_after=%d", other.Timeline[0].ID)} {
		if code, _, raw := h.viewJSON("INC-1", q); code != 400 || strings.Count(strings.TrimSpace(raw), "\n") != 0 {
			t.Errorf("%s: %d %s, want a one-line 400", q, code, raw)
		}
	}
}

// Beyond limits.max_new_war_rooms_per_delivery the webhook answer says
// which war rooms were withheld and why, and /metrics counts them.
func TestWarRoomsWithheld(t *testing.T) {
	t.Parallel()
	h := start(t, func(c *config.Config) { c.Limits.MaxNewWarRoomsPerDelivery = 1 })
	var m map[string]any
	if err := json.Unmarshal(fixture(t, "alertmanager/firing-high-error-rate.json"), &m); err != nil {
		t.Fatal(err)
	}
	first := m["alerts"].([]any)[0].(map[string]any)
	second := map[string]any{}
	for k, v := range first {
		second[k] = v
	}
	labels := map[string]any{}
	for k, v := range first["labels"].(map[string]any) {
		labels[k] = v
	}
	labels["service"] = "search"
	second["labels"], second["fingerprint"] = labels, "fp-search"
	m["alerts"] = []any{first, second}
	body, _ := json.Marshal(m)
	r := h.post("/api/v1/alerts/alertmanager", body, nil)
	if r.code != 200 {
		t.Fatalf("deliver: %d %s", r.code, r.body)
	}
	reply := decodeJSON[webhookReply](t, r)
	want := "war room withheld: this delivery opened 1 war room, the limit is 1 per delivery"
	if ids(reply.Opened) != "[INC-1]" || ids(reply.Recorded) != "[INC-2]" || reply.Alerts[1].Withheld != want {
		t.Fatalf("opened %v, recorded %v, withheld %q", reply.Opened, reply.Recorded, reply.Alerts[1].Withheld)
	}
	if v := h.incident("INC-2"); v.WarRoom || v.Timeline[len(v.Timeline)-1].Kind != incident.EventWithheld {
		t.Errorf("INC-2: war room %v, timeline %+v", v.WarRoom, v.Timeline)
	}
	if metrics := string(h.get("/metrics").body); !strings.Contains(metrics, "warroom_war_rooms_withheld_total 1\n") {
		t.Errorf("metrics lack warroom_war_rooms_withheld_total 1")
	}
}
