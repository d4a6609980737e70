package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// reloadConfig is a warroom config whose one rule opens a war room above
// threshold.
const reloadConfig = `listen: 127.0.0.1:%d
storage: {driver: sqlite, dsn: %s}
dry_run_log: %s
rules:
  - name: error-rate
    match: '{}'
    value: {annotation: error_rate}
    threshold: "%s"
`

// A real `warroom serve` takes SIGHUP as Prometheus does: it reads its
// file again, the next webhook is judged by the new threshold without a
// restart, and a broken file keeps the running rules and sets
// warroom_config_last_reload_successful to 0.
func TestSIGHUPReloadsConfig(t *testing.T) {
	bin := requireWarroom(t)
	dir := t.TempDir()
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	file := filepath.Join(dir, "warroom.yaml")
	write := func(threshold string) {
		writeFile(t, file, fmt.Sprintf(reloadConfig, port, filepath.Join(dir, "w.db"), filepath.Join(dir, "dry.jsonl"), threshold))
	}
	write("10%")
	logPath := filepath.Join(dir, "warroom.log")
	p := startProcess(t, "warroom", logPath, bin, "serve", "--config", file)
	waitReady(t, "warroom", base+"/-/ready", p)

	// decide sends one alert of service at rate and returns its decision.
	decide := func(service, rate string) string {
		t.Helper()
		body := fmt.Sprintf(`{"version":"4","status":"firing","receiver":"warroom","groupKey":"{}:{service=\"%s\"}",
"groupLabels":{"service":%q},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093","truncatedAlerts":0,
"alerts":[{"status":"firing","labels":{"alertname":"HighErrorRate","service":%q,"env":"prod"},"annotations":{"error_rate":%q},
"startsAt":"2026-12-06T08:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"%016x"}]}`,
			service, service, service, rate, len(service)+len(rate))
		resp, err := http.Post(base+"/api/v1/alerts/alertmanager", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatalf("webhook: %v", err)
		}
		defer resp.Body.Close()
		var out struct {
			Error  string
			Alerts []struct{ Decision string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || len(out.Alerts) != 1 {
			t.Fatalf("webhook: HTTP %d %q, %v", resp.StatusCode, out.Error, err)
		}
		return out.Alerts[0].Decision
	}
	gauge := func() string {
		for line := range strings.Lines(httpGet(base+"/metrics", 1<<20)) {
			if v, ok := strings.CutPrefix(line, "warroom_config_last_reload_successful "); ok {
				return strings.TrimSpace(v)
			}
		}
		return "(absent)"
	}
	// hup sends SIGHUP and waits until the log tells how the reload went.
	hup := func(want string) {
		t.Helper()
		before := strings.Count(readLog(t, logPath), want)
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the reload's log line "+want, func() (bool, string) {
			return strings.Count(readLog(t, logPath), want) > before, tail(logPath, 3)
		}, p)
	}

	if d := decide("payments", "0.031"); d != "record" {
		t.Fatalf("3.1%% under a 10%% threshold: %s; want record", d)
	}
	write("2%")
	hup(`msg="configuration reloaded"`)
	if d := decide("checkout", "0.031"); d != "war_room" {
		t.Errorf("3.1%% after SIGHUP lowered the threshold to 2%%: %s; want war_room", d)
	}
	if g := gauge(); g != "1" {
		t.Errorf("reload gauge after a good reload: %s; want 1", g)
	}

	writeFile(t, file, "rules: [\n")
	hup(`msg="configuration not reloaded: the running one stays in force"`)
	if p.exited() {
		t.Fatalf("warroom exited on SIGHUP: %s", p.exitStatus())
	}
	if g := gauge(); g != "0" {
		t.Errorf("reload gauge after a broken file: %s; want 0", g)
	}
	if d := decide("search", "0.031"); d != "war_room" {
		t.Errorf("3.1%% after a broken file: %s; want war_room (the 2%% rules stay)", d)
	}
	if err := p.terminate(10 * time.Second); err != nil {
		t.Error(err)
	}
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
