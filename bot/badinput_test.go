package bot_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/pgtest"
)

// mutateFixture edits the first alert of the high-error-rate fixture.
func mutateFixture(t *testing.T, edit func(m map[string]any, a map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(fixture(t, "alertmanager/firing-high-error-rate.json"), &m); err != nil {
		t.Fatal(err)
	}
	edit(m, m["alerts"].([]any)[0].(map[string]any))
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Malformed, oversized, unauthenticated and hostile payloads: each gets a
// precise status and a one-line reason, and nothing is stored.
func TestBadInput(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	good := fixture(t, "alertmanager/firing-high-error-rate.json")
	manyLabels := mutateFixture(t, func(_, a map[string]any) {
		labels := a["labels"].(map[string]any)
		for i := range 10000 {
			labels[fmt.Sprintf("l%d", i)] = "v"
		}
	})
	huge := mutateFixture(t, func(_, a map[string]any) {
		a["annotations"].(map[string]any)["description"] = strings.Repeat("x", 5<<20)
	})
	invalidUTF8 := []byte(strings.Replace(string(good), "payment-gateway", "payment-\xff\xfe", 1))

	cases := []struct {
		name   string
		body   []byte
		hdr    map[string]string
		path   string
		status int
		reason string
	}{
		{name: "not JSON", body: []byte(`{"version":`), status: 400, reason: "malformed JSON"},
		{name: "empty body", body: nil, status: 400, reason: "malformed JSON"},
		{name: "trailing data", body: append(append([]byte{}, good...), []byte(`{}`)...), status: 400, reason: "data after the payload"},
		{name: "array", body: []byte(`[1,2]`), status: 400, reason: "malformed JSON"},
		{name: "wrong version", body: mutateFixture(t, func(m, _ map[string]any) { m["version"] = "3" }), status: 400, reason: `unsupported version "3"`},
		{name: "grafana payload on alertmanager path", body: fixture(t, "grafana/firing-error-rate.json"), status: 400, reason: `unsupported version "1"`},
		{name: "alertmanager payload on grafana path", body: good, path: "/api/v1/alerts/grafana", status: 400, reason: `unsupported version "4"`},
		{name: "no alerts", body: mutateFixture(t, func(m, _ map[string]any) { m["alerts"] = []any{} }), status: 400, reason: "no alerts"},
		{name: "year 0 start", body: mutateFixture(t, func(_, a map[string]any) { a["startsAt"] = "0000-01-01T00:00:00Z" }), status: 400, reason: "startsAt"},
		{name: "unparsable time", body: mutateFixture(t, func(_, a map[string]any) { a["startsAt"] = "yesterday" }), status: 400, reason: "malformed JSON"},
		{name: "end before start", body: mutateFixture(t, func(_, a map[string]any) { a["status"] = "resolved"; a["endsAt"] = "2026-11-25T00:00:00Z" }), status: 400, reason: "endsAt before startsAt"},
		{name: "bad status", body: mutateFixture(t, func(_, a map[string]any) { a["status"] = "exploded" }), status: 400, reason: `status "exploded"`},
		{name: "no fingerprint", body: mutateFixture(t, func(_, a map[string]any) { delete(a, "fingerprint") }), status: 400, reason: "fingerprint"},
		{name: "no labels", body: mutateFixture(t, func(_, a map[string]any) { a["labels"] = map[string]any{} }), status: 400, reason: "no labels"},
		{name: "labels of the wrong type", body: mutateFixture(t, func(_, a map[string]any) { a["labels"] = map[string]any{"service": 7} }), status: 400, reason: "malformed JSON"},
		{name: "10 000 labels", body: manyLabels, status: 400, reason: "10006 labels; at most 128"},
		{name: "invalid UTF-8", body: invalidUTF8, status: 400, reason: "not valid UTF-8"},
		{name: "over 4 MiB", body: huge, status: 413, reason: "body over 4194304 bytes"},
		{name: "no credentials", body: good, hdr: map[string]string{"Authorization": ""}, status: 401, reason: "missing credentials"},
		{name: "wrong token", body: good, hdr: map[string]string{"Authorization": "Bearer nope"}, status: 401, reason: "invalid credentials"},
		{name: "basic instead of bearer", body: good, hdr: map[string]string{"Authorization": "Basic YTpi"}, status: 401, reason: "unsupported authorization scheme"},
		{name: "wrong content type", body: good, hdr: map[string]string{"Content-Type": "text/plain"}, status: 415, reason: "content type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/api/v1/alerts/alertmanager"
			}
			r := h.post(path, tc.body, tc.hdr)
			if r.code != tc.status {
				t.Fatalf("HTTP %d %s, want %d", r.code, r.body, tc.status)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(r.body, &e); err != nil || !strings.Contains(e.Error, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", e.Error, tc.reason)
			}
			if strings.Contains(e.Error, "\n") || len(e.Error) > 300 {
				t.Errorf("reason is not one short line: %q", e.Error)
			}
			if strings.Contains(string(r.body), testToken) {
				t.Error("response echoes the token")
			}
		})
	}
	if all := h.list("?all=true"); len(all) != 0 {
		t.Fatalf("bad input stored %d incidents", len(all))
	}
	req, _ := http.NewRequest(http.MethodGet, h.base+"/api/v1/alerts/alertmanager", nil)
	eq(t, "GET on the webhook", h.do(req).code, http.StatusMethodNotAllowed)
}

// A label that tries to ping @channel or forge a link is stored as sent and
// rendered inert.
func TestHostileLabelsAreEscaped(t *testing.T) {
	t.Parallel()
	h := start(t, nil)
	body := mutateFixture(t, func(_, a map[string]any) {
		a["labels"].(map[string]any)["alertname"] = "<!channel> <https://evil.example|click> & co"
		a["annotations"].(map[string]any)["summary"] = "<!here> pay <@U123>"
	})
	r := h.post("/api/v1/alerts/alertmanager", body, nil)
	eq(t, "status", r.code, http.StatusOK)
	c := h.waitCall("slack.post_summary:INC-1")
	var args strings.Builder // the text and the blocks, as sent
	enc := json.NewEncoder(&args)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c.Args); err != nil {
		t.Fatal(err)
	}
	text := args.String()
	for _, bad := range []string{"<!channel>", "<!here>", "<https://", "<@U123>"} {
		if strings.Contains(text, bad) {
			t.Errorf("summary carries %q unescaped:\n%s", bad, text)
		}
	}
	if !strings.Contains(text, "&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; co") {
		t.Errorf("summary does not show the escaped label:\n%s", text)
	}
	a := h.incident("INC-1").Alerts[0]
	eq(t, "stored label", a.Labels["alertname"], "<!channel> <https://evil.example|click> & co")
}

// A NUL character is bad input on both stores: a 400 that names the field
// (Alertmanager drops a 4xx; a 503 it would retry forever), and nothing is
// stored. PostgreSQL cannot store a NUL in text; SQLite could, but the two
// must behave alike.
func TestNULIsBadInput(t *testing.T) {
	t.Parallel()
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			h := start(t, func(cfg *config.Config) {
				if driver == "postgres" {
					cfg.Storage.Driver, cfg.Storage.DSN = "postgres", pgtest.Fresh(t)
				}
			})
			second := func(m map[string]any) map[string]any {
				alerts := m["alerts"].([]any)
				b := maps.Clone(alerts[0].(map[string]any))
				b["fingerprint"] = "0123456789abcdef"
				b["labels"] = maps.Clone(b["labels"].(map[string]any))
				m["alerts"] = append(alerts, b)
				return b
			}
			cases := []struct {
				name, path, body, reason string
			}{
				{"label value", "/api/v1/alerts/alertmanager", string(mutateFixture(t, func(m, _ map[string]any) {
					second(m)["labels"].(map[string]any)["service"] = "pay\x00ment"
				})), `alerts[1].labels["service"]: contains a NUL character`},
				{"label name", "/api/v1/alerts/alertmanager", string(mutateFixture(t, func(_, a map[string]any) {
					a["labels"].(map[string]any)["ser\x00vice"] = "x"
				})), `alerts[0].labels: a name contains a NUL character`},
				{"annotation", "/api/v1/alerts/alertmanager", string(mutateFixture(t, func(_, a map[string]any) {
					a["annotations"].(map[string]any)["summary"] = "\x00"
				})), `alerts[0].annotations["summary"]: contains a NUL character`},
				{"fingerprint", "/api/v1/alerts/alertmanager", string(mutateFixture(t, func(_, a map[string]any) { a["fingerprint"] = "ab\x00" })),
					`alerts[0].fingerprint: contains a NUL character`},
				{"receiver", "/api/v1/alerts/alertmanager", string(mutateFixture(t, func(m, _ map[string]any) { m["receiver"] = "warroom\x00" })),
					`receiver: contains a NUL character`},
				{"group key", "/api/v1/alerts/alertmanager", string(mutateFixture(t, func(m, _ map[string]any) { m["groupKey"] = "\x00{}" })),
					`groupKey: contains a NUL character`},
				{"generator URL", "/api/v1/alerts/alertmanager", string(mutateFixture(t, func(_, a map[string]any) { a["generatorURL"] = "https://x/\x00" })),
					`alerts[0].generatorURL: contains a NUL character`},
				{"grafana", "/api/v1/alerts/grafana", strings.Replace(string(fixture(t, "grafana/firing-error-rate.json")), `"receiver": "`, `"receiver": "\u0000`, 1),
					`receiver: contains a NUL character`},
				{"deploy", "/api/v1/deploys", `{"service":"pay","sha":"abc\u0000","finished_at":"2026-11-26T04:00:00Z"}`, `sha: contains a NUL character`},
				{"argo cd", "/api/v1/deploys/argocd", `{"app":{"metadata":{"name":"pay\u0000"}}}`, `app.metadata.name: contains a NUL character`},
			}
			for _, tc := range cases {
				r := h.post(tc.path, []byte(tc.body), nil)
				if r.code != http.StatusBadRequest {
					t.Errorf("%s: HTTP %d %s, want 400", tc.name, r.code, r.body)
					continue
				}
				var e struct{ Error string }
				if err := json.Unmarshal(r.body, &e); err != nil || e.Error != tc.reason {
					t.Errorf("%s: reason %q, want %q", tc.name, e.Error, tc.reason)
				}
			}
			if all := h.list("?all=true"); len(all) != 0 {
				t.Fatalf("NUL payloads stored %d incidents", len(all))
			}
			if r := h.get("/api/v1/deploys"); !strings.Contains(string(r.body), `"deploys":[]`) {
				t.Fatalf("NUL deploys stored: %s", r.body)
			}
			// A note is kept too: refused, and the incident keeps none.
			h.deliver("alertmanager/firing-high-error-rate.json")
			r := h.post("/api/v1/incidents/INC-1/note", []byte(`{"text":"db\u0000"}`), nil)
			if r.code != http.StatusBadRequest || !strings.Contains(string(r.body), "text: contains a NUL character") {
				t.Fatalf("note with a NUL: HTTP %d %s", r.code, r.body)
			}
			for _, e := range h.incident("INC-1").Timeline {
				if e.Kind == incident.EventNote {
					t.Fatalf("a note with a NUL was stored: %+v", e)
				}
			}
		})
	}
}
