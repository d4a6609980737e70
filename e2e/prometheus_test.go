package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPrometheusAlertmanagerEndToEnd runs the real alerting pipeline:
// a service's error ratio crosses the threshold, Prometheus fires
// HighErrorRate, Alertmanager delivers it to warroom with a bearer token,
// and warroom opens one war room; when the errors stop, the resolved
// notification resolves that same incident.
func TestPrometheusAlertmanagerEndToEnd(t *testing.T) {
	dir := t.TempDir()

	// The service: 100 requests/s, 3% of them 500s until the switch flips.
	svc := newFakeService(3)
	ctx, cancel := context.WithCancel(context.Background())
	go svc.run(ctx, 10*time.Millisecond)
	t.Cleanup(cancel)
	metrics := httptest.NewServer(svc)
	t.Cleanup(metrics.Close)

	w := newWarroom(t, dir)
	w.start()

	pl := startPipeline(t, dir, w, strings.TrimPrefix(metrics.URL, "http://"), `groups:
  - name: warroom-e2e
    rules:
      - alert: HighErrorRate
        expr: |
          sum by (service, env) (rate(http_requests_total{status=~"5.."}[10s]))
            / sum by (service, env) (rate(http_requests_total[10s]))
            > 0.008
        for: 1s
        labels:
          severity: critical
        annotations:
          error_rate: "{{ $value }}"
          summary: "{{ $labels.service }} error rate is {{ $value | humanizePercentage }}"
`)
	ours := func() ([]apiIncident, []apiIncident, error) {
		all, err := w.incidents(true)
		var pg []apiIncident
		for _, inc := range all {
			if inc.Service == "payment-gateway" {
				pg = append(pg, inc)
			}
		}
		return all, pg, err
	}

	start := time.Now()
	var inc apiIncident
	waitFor(t, 90*time.Second, "a war room for payment-gateway", func() (bool, string) {
		all, pg, err := ours()
		if err != nil {
			return false, err.Error() + "; " + pl.status()
		}
		if len(pg) > 0 && pg[0].WarRoom {
			inc = pg[0]
			return true, ""
		}
		return false, "warroom incidents: " + summarize(all) + "; " + pl.status()
	}, pl.procs...)
	t.Logf("war room %s opened %s after the pipeline started", inc, time.Since(start).Round(time.Millisecond))

	all, pg, err := ours()
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) != 1 || len(all) != 1 {
		t.Fatalf("want exactly one incident (for payment-gateway), have %s", summarize(all))
	}
	if inc.Env != "prod" || inc.State != "triggered" {
		t.Errorf("incident %s: want env prod, state triggered", inc)
	}
	if inc.Value == nil || *inc.Value <= 0.008 || *inc.Value > 0.1 {
		t.Errorf("incident %s: want the value of the error_rate annotation, about 0.03", inc)
	}
	// The war room's opening steps run (in dry run).
	waitFor(t, 30*time.Second, "the opening steps of "+inc.ID+" in the dry-run log", func() (bool, string) {
		lines, _, err := readDryRunLog(w.dryRunLog)
		if err != nil {
			return false, err.Error()
		}
		seen := map[string]bool{}
		for _, l := range lines {
			seen[l.entry.Key] = true
		}
		var missing []string
		for _, k := range openingSteps(inc.ID) {
			if !seen[k] {
				missing = append(missing, k)
			}
		}
		return len(missing) == 0, fmt.Sprintf("missing %v among %d lines", missing, len(lines))
	}, w.proc)

	// The errors stop; the alert resolves and so does the incident.
	svc.setErrorPercent(0)
	flipped := time.Now()
	waitFor(t, 90*time.Second, inc.ID+" to be resolved", func() (bool, string) {
		all, pg, err := ours()
		if err != nil {
			return false, err.Error() + "; " + pl.status()
		}
		for _, i := range pg {
			if i.ID == inc.ID && i.State == "resolved" {
				return true, ""
			}
		}
		return false, "warroom incidents: " + summarize(all) + "; " + pl.status()
	}, pl.procs...)
	t.Logf("%s resolved %s after the errors stopped", inc.ID, time.Since(flipped).Round(time.Millisecond))

	all, pg, err = ours()
	if err != nil {
		t.Fatal(err)
	}
	if len(pg) != 1 || len(all) != 1 {
		t.Errorf("after resolve: want still exactly one incident, have %s", summarize(all))
	}
	d, err := w.incident(inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Alerts) == 0 {
		t.Errorf("%s: no alerts in GET /api/v1/incidents/%s", inc.ID, inc.ID)
	}
	for _, a := range d.Alerts {
		if a.Labels["alertname"] != "HighErrorRate" || a.Labels["severity"] != "critical" || a.Fingerprint == "" {
			t.Errorf("%s: unexpected alert %+v", inc.ID, a)
		}
		if a.Status != "resolved" {
			t.Errorf("%s: alert %s has status %q after the incident resolved", inc.ID, a.Fingerprint, a.Status)
		}
	}
	if len(d.Timeline) == 0 {
		t.Errorf("%s: empty timeline", inc.ID)
	}
	// Every delivery was accepted: Alertmanager counts refused ones (a
	// wrong token, a 4xx or 5xx) as failed notifications.
	t.Logf("alertmanager webhook notifications: %s", amNotifications(pl.amAddr))
	if failed := amMetric(pl.amAddr, "alertmanager_notifications_failed_total"); failed != 0 {
		t.Errorf("alertmanager counts %v failed webhook notifications (see its log)", failed)
	}
}

// pipeline is a running Prometheus and Alertmanager that deliver to a
// warroom.
type pipeline struct {
	promAddr, amAddr string
	procs            []*process // warroom's, Alertmanager's and Prometheus's
}

// startPipeline starts Alertmanager, routing every alert (grouped by
// service and env) to w's webhook with its bearer token, then Prometheus,
// scraping target every second and evaluating rules (a rule file's text)
// every second. Both configurations are checked by their tools first.
func startPipeline(t *testing.T, dir string, w *warroom, target, rules string) *pipeline {
	t.Helper()
	prometheus := requireTool(t, "prometheus")
	promtool := requireTool(t, "promtool")
	alertmanager := requireTool(t, "prometheus-alertmanager", "alertmanager")
	amtool := requireTool(t, "amtool")
	pl := &pipeline{
		promAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		amAddr:   fmt.Sprintf("127.0.0.1:%d", freePort(t)),
	}
	// Alertmanager first, so that Prometheus's first notification finds it.
	tokenFile := filepath.Join(dir, "webhook-token")
	writeFile(t, tokenFile, w.token)
	amConfig := filepath.Join(dir, "alertmanager.yml")
	writeFile(t, amConfig, fmt.Sprintf(`route:
  receiver: warroom
  group_by: [service, env]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1m
receivers:
  - name: warroom
    webhook_configs:
      - url: %q
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: %q
`, w.url("/api/v1/alerts/alertmanager"), tokenFile))
	runTool(t, amtool, "check-config", amConfig)
	am := startProcess(t, "alertmanager", filepath.Join(dir, "alertmanager.log"), alertmanager,
		"--config.file="+amConfig,
		"--storage.path="+filepath.Join(dir, "alertmanager-data"),
		"--web.listen-address="+pl.amAddr,
		"--cluster.listen-address=", // no clustering: no gossip port
		"--log.level=debug",
	)
	waitReady(t, "alertmanager", "http://"+pl.amAddr+"/-/ready", am)

	rulesFile := filepath.Join(dir, "rules.yml")
	writeFile(t, rulesFile, rules)
	runTool(t, promtool, "check", "rules", rulesFile)
	promConfig := filepath.Join(dir, "prometheus.yml")
	writeFile(t, promConfig, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %q
alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
scrape_configs:
  - job_name: payment-gateway
    static_configs:
      - targets: [%q]
`, rulesFile, pl.amAddr, target))
	runTool(t, promtool, "check", "config", promConfig)
	prom := startProcess(t, "prometheus", filepath.Join(dir, "prometheus.log"), prometheus,
		"--config.file="+promConfig,
		"--storage.tsdb.path="+filepath.Join(dir, "prometheus-data"),
		"--web.listen-address="+pl.promAddr,
	)
	waitReady(t, "prometheus", "http://"+pl.promAddr+"/-/ready", prom)

	pl.procs = []*process{w.proc, am, prom}
	return pl
}

// status says what Prometheus and Alertmanager hold, for failure messages.
func (pl *pipeline) status() string {
	return fmt.Sprintf("prometheus alerts: %s; alertmanager alerts: %s; alertmanager webhook notifications: %s",
		httpGet("http://"+pl.promAddr+"/api/v1/alerts", 400),
		httpGet("http://"+pl.amAddr+"/api/v2/alerts", 400),
		amNotifications(pl.amAddr))
}

// fakeService is a service whose only interface is its /metrics page: a
// goroutine counts simulated requests, a given percentage of them 500s, of
// them slow (1.5 s, the others 100 ms), and of them coming with a refused
// login or a failed TLS handshake.
type fakeService struct {
	mu       sync.Mutex
	percent  trouble
	acc      trouble // budget carried between requests, in percent
	ok       uint64
	failed   uint64
	fast     uint64
	slow     uint64
	authFail uint64
	tlsFail  uint64
}

// trouble is how many requests in a hundred go wrong in each way.
type trouble struct{ errors, slow, auth, tls int }

// Latencies of the fake requests, and the histogram's buckets: a slow
// request falls in (1, 2], so that 5% slow puts the 99th percentile at
// 1 s + 1 s × 4/5 = 1.8 s.
const (
	fastSeconds = 0.1
	slowSeconds = 1.5
)

var latencyBuckets = []float64{0.25, 0.5, 1, 2}

func newFakeService(errPercent int) *fakeService {
	return &fakeService{percent: trouble{errors: errPercent}}
}

func (s *fakeService) setErrorPercent(p int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.percent.errors = p
}

func (s *fakeService) setTrouble(t trouble) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.percent = t
}

// spread reports whether this request is one of percent in a hundred,
// spreading them evenly: with 3%, one request in about 33.
func spread(acc *int, percent int) bool {
	*acc += percent
	if *acc >= 100 {
		*acc -= 100
		return true
	}
	return false
}

// run simulates one request every tick until ctx ends.
func (s *fakeService) run(ctx context.Context, tick time.Duration) {
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		s.mu.Lock()
		if spread(&s.acc.errors, s.percent.errors) {
			s.failed++
		} else {
			s.ok++
		}
		if spread(&s.acc.slow, s.percent.slow) {
			s.slow++
		} else {
			s.fast++
		}
		if spread(&s.acc.auth, s.percent.auth) {
			s.authFail++
		}
		if spread(&s.acc.tls, s.percent.tls) {
			s.tlsFail++
		}
		s.mu.Unlock()
	}
}

// ServeHTTP writes the counters and the histogram in the Prometheus text
// format.
func (s *fakeService) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	ok, failed, fast, slow, authFail, tlsFail := s.ok, s.failed, s.fast, s.slow, s.authFail, s.tlsFail
	s.mu.Unlock()
	const labels = `service="payment-gateway",env="prod"`
	var b strings.Builder
	fmt.Fprintf(&b, `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{%[1]s,status="200"} %[2]d
http_requests_total{%[1]s,status="500"} %[3]d
# HELP http_request_duration_seconds Time to serve a request.
# TYPE http_request_duration_seconds histogram
`, labels, ok, failed)
	for _, le := range latencyBuckets {
		n := uint64(0)
		if fastSeconds <= le {
			n += fast
		}
		if slowSeconds <= le {
			n += slow
		}
		fmt.Fprintf(&b, "http_request_duration_seconds_bucket{%s,le=%q} %d\n", labels, strconv.FormatFloat(le, 'g', -1, 64), n)
	}
	fmt.Fprintf(&b, `http_request_duration_seconds_bucket{%[1]s,le="+Inf"} %[2]d
http_request_duration_seconds_sum{%[1]s} %[3]g
http_request_duration_seconds_count{%[1]s} %[2]d
# HELP auth_failures_total Refused logins and tokens.
# TYPE auth_failures_total counter
auth_failures_total{%[1]s} %[4]d
# HELP tls_handshake_failures_total Failed TLS handshakes.
# TYPE tls_handshake_failures_total counter
tls_handshake_failures_total{%[1]s} %[5]d
`, labels, fast+slow, float64(fast)*fastSeconds+float64(slow)*slowSeconds, authFail, tlsFail)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = io.WriteString(w, b.String())
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// runTool runs a checking tool (promtool, amtool) and fails the test with
// its output if it fails.
func runTool(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
}

// waitReady waits until url answers 200.
func waitReady(t *testing.T, name, url string, p *process) {
	t.Helper()
	waitFor(t, 30*time.Second, name+" to be ready", func() (bool, string) {
		resp, err := http.Get(url)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, "status " + resp.Status
	}, p)
}

// httpGet returns the body at url, shortened to n bytes, or the error; for
// failure messages.
func httpGet(url string, n int) string {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return truncate(strings.TrimSpace(string(b)), n)
}

// amMetric sums the webhook integration's series of an Alertmanager counter;
// -1 if it cannot be read.
func amMetric(amAddr, name string) float64 {
	page := httpGet("http://"+amAddr+"/metrics", 1<<20)
	sum, found := 0.0, false
	for _, line := range strings.Split(page, "\n") {
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, `integration="webhook"`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return -1
		}
		sum, found = sum+v, true
	}
	if !found {
		return -1
	}
	return sum
}

// amNotifications says how many webhook notifications Alertmanager sent and
// how many failed.
func amNotifications(amAddr string) string {
	return fmt.Sprintf("%v sent, %v failed",
		amMetric(amAddr, "alertmanager_notifications_total"),
		amMetric(amAddr, "alertmanager_notifications_failed_total"))
}
