package payload_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warroom/warroom/integrations/alertmanager/payload"
)

// Every payload captured from a real Alertmanager or Grafana validates.
func TestFixturesValidate(t *testing.T) {
	files, err := filepath.Glob("../../../internal/fixtures/*/*.json")
	if err != nil || len(files) < 8 {
		t.Fatalf("fixtures: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m payload.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		version := payload.VersionAlertmanager
		if strings.Contains(f, "grafana") {
			version = payload.VersionGrafana
		}
		if err := m.Validate(version); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// Newer Alertmanager fields are accepted and kept; unknown ones are ignored.
func TestNewerFieldsTolerated(t *testing.T) {
	const body = `{"version":"4","status":"firing","receiver":"r","groupKey":"g","notification_reason":"new_alerts",
		"routeLabels":{"team":"payments"},"someFutureField":{"x":1},
		"alerts":[{"status":"firing","labels":{"alertname":"A"},"annotations":{},"startsAt":"2026-11-26T04:24:38Z",
		"endsAt":"0001-01-01T00:00:00Z","fingerprint":"f1","futureAlertField":true}]}`
	var m payload.Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(payload.VersionAlertmanager); err != nil {
		t.Fatal(err)
	}
	if m.NotificationReason != "new_alerts" || m.RouteLabels["team"] != "payments" {
		t.Errorf("newer fields lost: %+v", m)
	}
}
