package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/httpapi"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
)

// The table for people: a row per service, then all of them; the times
// as people read them, "-" where nothing was measured.
func TestPrintReport(t *testing.T) {
	sec := func(d time.Duration) *float64 { v := d.Seconds(); return &v }
	half := 0.5
	since := time.Date(2026, 10, 27, 4, 0, 0, 0, time.UTC)
	pay := incident.ServiceReport{Service: "payment-gateway", Incidents: 3, WarRooms: 2, StormChildren: 1,
		TimeToAcknowledge: incident.Durations{Count: 2, Median: sec(7 * time.Minute), P90: sec(9*time.Minute + 24*time.Second)},
		TimeToResolve:     incident.Durations{Count: 1, Median: sec(50 * time.Minute), P90: sec(50 * time.Minute)},
		Unresolved:        1, SuspectDeploys: 2, RolledBack: 1, RollbackRate: &half}
	checkout := incident.ServiceReport{Service: "checkout", Incidents: 1, Recorded: 1, RecordedAlerts: 4}
	total := pay
	total.Service, total.Incidents, total.Recorded, total.RecordedAlerts = "", 4, 1, 4
	var b bytes.Buffer
	v := &httpapi.ReportView{Window: "30d", Report: &incident.Report{Since: since, Until: since.Add(30 * 24 * time.Hour),
		Services: []incident.ServiceReport{pay, checkout}, Total: total}}
	if err := printReport(&b, v); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	want := []string{
		"Incidents opened in the last 30d (since " + since.Local().Format("2006-01-02 15:04") + ")",
		"",
		`^SERVICE +INCIDENTS +WAR ROOMS +IN STORMS +RECORDED +RECORDED ALERTS +ACK p50 +ACK p90 +UNACKED +RESOLVE p50 +RESOLVE p90 +OPEN +ROLLED BACK$`,
		`^payment-gateway +3 +2 +1 +0 +0 +7m +9m +0 +50m +50m +1 +1 of 2 \(50%\)$`,
		`^checkout +1 +0 +0 +1 +4 +- +- +0 +- +- +0 +-$`,
		`^\(all\) +4 +2 +1 +1 +4 +7m +9m +0 +50m +50m +1 +1 of 2 \(50%\)$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	for i, w := range want {
		if i < 2 && lines[i] != w || i >= 2 && !regexp.MustCompile(w).MatchString(lines[i]) {
			t.Errorf("line %d %q, want %q", i, lines[i], w)
		}
	}

	b.Reset()
	v.Services = []incident.ServiceReport{}
	if err := printReport(&b, v); err != nil || !strings.HasSuffix(b.String(), "\n(no incidents)\n") {
		t.Errorf("no incidents: %v %q", err, b.String())
	}
}

// warroom report against a running server: the table, the JSON of the
// API, and a window that is neither days nor a duration refused before
// any request.
func TestReportCommand(t *testing.T) {
	base := startServer(t, sqlstore.SQLite, func(cfg *config.Config) { cfg.Webhook.BearerToken = "cli-token" })
	body, _ := os.ReadFile(fixtureDir + "/alertmanager/firing-high-error-rate.json")
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/alerts/alertmanager", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer cli-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook: HTTP %d", resp.StatusCode)
	}
	t.Setenv("WARROOM_SERVER", base)
	t.Setenv("WARROOM_TOKEN", "cli-token")
	if code, _, stderr := runCLI(t, "incidents", "ack", "INC-1"); code != 0 {
		t.Fatalf("ack: exit %d %s", code, stderr)
	}

	code, out, stderr := runCLI(t, "report")
	if code != 0 || !strings.HasPrefix(out, "Incidents opened in the last 30d (since ") ||
		!regexp.MustCompile(`(?m)^payment-gateway +1 +1 +0 +0 +0 +\S+ +\S+ +0 +- +- +1 +-$`).MatchString(out) {
		t.Errorf("report: exit %d %s\n%s", code, stderr, out)
	}
	code, out, _ = runCLI(t, "report", "--since", "36h", "-o", "json")
	var v httpapi.ReportView
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil {
		t.Fatalf("report -o json: exit %d %v\n%s", code, err, out)
	}
	if v.Window != "36h" || len(v.Services) != 1 || v.Services[0].TimeToAcknowledge.Count != 1 || v.Services[0].TimeToAcknowledge.Median == nil ||
		v.Services[0].Unresolved != 1 || v.Until.Sub(v.Since) != 36*time.Hour {
		t.Errorf("report -o json: %s", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--since", "a month"}, `warroom report: --since "a month" is not a window: want days such as 30d, or a Go duration such as 36h or 90m`},
		{[]string{"report", "--since", "0d"}, "the window must be longer than zero"},
		{[]string{"report", "payment-gateway"}, "report takes no arguments"},
		{[]string{"report", "-o", "yaml"}, `"yaml": want one of table, json`},
	} {
		if code, _, stderr := runCLI(t, tc.args...); code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("warroom %v: exit %d %q; want exit 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	if code, out, _ := runCLI(t, "report", "--help"); code != 0 || !strings.Contains(out, "--since WINDOW") {
		t.Errorf("report --help: exit %d\n%s", code, out)
	}
}
