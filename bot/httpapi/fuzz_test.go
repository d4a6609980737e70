package httpapi

// The fuzz targets run briefly from scripts/test (go test -fuzz, one
// target per run); without -fuzz they replay their seeds as ordinary
// tests.

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/integrations/alertmanager/payload"
	"github.com/warroom/warroom/internal/fixtures"
)

// addFixtures seeds f with the captured payloads under dir.
func addFixtures(f *testing.F, dir string) {
	f.Helper()
	names, err := fs.Glob(fixtures.FS, dir+"/*.json")
	if err != nil || len(names) == 0 {
		f.Fatalf("fixtures under %s: %v", dir, err)
	}
	for _, n := range names {
		b, err := fixtures.Read(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkOneLine fails when msg is not a short, non-empty, single line of
// valid UTF-8: what a sender or an operator is shown.
func checkOneLine(t *testing.T, what, msg string) {
	t.Helper()
	if strings.TrimSpace(msg) == "" || strings.ContainsAny(msg, "\n\r") || !utf8.ValidString(msg) || len(msg) > 512 {
		t.Fatalf("%s: %q is not one short line", what, msg)
	}
}

func fuzzDecode(f *testing.F, version, dir string) {
	addFixtures(f, dir)
	f.Add([]byte(`{"version":"` + version + `","status":"firing","truncatedAlerts":-1,"alerts":[]}`))
	f.Add([]byte(`{"version":"` + version + `","status":"firing","alerts":[{"status":"firing","fingerprint":"a","labels":{"a":"\u0000"},"startsAt":"2026-01-01T00:00:00Z","values":{"B":1e308}}]}`))
	a := New(Deps{Config: config.Default()})
	decode := func(body []byte) (*payload.Message, int, error) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/alerts/x", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		return a.decode(httptest.NewRecorder(), req, version)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, status, err := decode(body)
		if err != nil {
			if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge && status != http.StatusUnsupportedMediaType {
				t.Fatalf("status %d for %v", status, err)
			}
			checkOneLine(t, "decode error", err.Error())
			return
		}
		// A payload accepted once is accepted again after a round trip,
		// and the round trip changes nothing.
		if err := msg.Validate(version); err != nil {
			t.Fatalf("decoded payload does not validate: %v", err)
		}
		again, err := json.Marshal(msg)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		msg2, _, err := decode(again)
		if err != nil {
			t.Fatalf("re-encoded payload refused: %v\n%s", err, again)
		}
		if twice, _ := json.Marshal(msg2); string(twice) != string(again) {
			t.Fatalf("round trip changed the payload:\n%s\n%s", again, twice)
		}
		d := Delivery(msg, "alertmanager", time.Unix(1764900000, 0))
		if len(d.Alerts) != len(msg.Alerts) || d.TruncatedAlerts < 0 {
			t.Fatalf("delivery of %d alerts (truncated %d) from %d", len(d.Alerts), d.TruncatedAlerts, len(msg.Alerts))
		}
		for _, a := range d.Alerts {
			if a.Labels == nil || a.Annotations == nil || a.Fingerprint == "" {
				t.Fatalf("alert %+v lacks labels, annotations or a fingerprint", a)
			}
		}
	})
}

// FuzzDecodeAlertmanager attacks the Alertmanager webhook decoder.
func FuzzDecodeAlertmanager(f *testing.F) {
	fuzzDecode(f, payload.VersionAlertmanager, "alertmanager")
}

// FuzzDecodeGrafana attacks the Grafana webhook decoder.
func FuzzDecodeGrafana(f *testing.F) { fuzzDecode(f, payload.VersionGrafana, "grafana") }
