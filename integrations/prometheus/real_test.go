package prometheus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/integrations/prometheus"
	"github.com/warroom/warroom/integrations/prometheus/prometheustest"
)

// TestRealPrometheus runs the client against the real Prometheus (Debian's
// package puts it at /usr/bin/prometheus), scraping itself every second,
// and asks the fake the same raw requests as the real one to check that
// they answer alike. Without the binary the test skips, unless
// WARROOM_REQUIRE_E2E=1 (as in CI) makes that a failure.
func TestRealPrometheus(t *testing.T) {
	if testing.Short() && os.Getenv("WARROOM_REQUIRE_E2E") != "1" {
		t.Skip("starts a Prometheus; skipped with -short")
	}
	addr := startPrometheus(t)
	base := "http://" + addr
	c, err := prometheus.New(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("client", func(t *testing.T) {
		for _, expr := range []string{"vector(0.031)", "0.031"} {
			v, ok, err := c.Value(ctx, expr, time.Time{})
			if err != nil || !ok || v != 0.031 {
				t.Errorf("Value(%s) = %v, %v, %v; want 0.031", expr, v, ok, err)
			}
		}

		// up appears with the first scrape, within a second or two.
		var e prometheus.Evaluation
		deadline := time.Now().Add(30 * time.Second)
		for {
			e, err = c.Evaluate(ctx, "up", time.Now())
			if err != nil || e.OK || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil || !e.OK || e.Value != 1 || e.Labels["job"] != "self" || e.Labels["__name__"] != "up" {
			t.Errorf("up = %+v, %v; want 1 with job=self", e, err)
		}
		// Before the server started there is no data.
		if v, ok, err := c.Value(ctx, "up", time.Now().Add(-time.Hour)); ok || err != nil {
			t.Errorf("up an hour ago = %v, %v, %v; want no data", v, ok, err)
		}
		for _, expr := range []string{"no_such_metric_anywhere", "vector(0) / 0", "vector(1) / 0"} {
			if v, ok, err := c.Value(ctx, expr, time.Time{}); ok || err != nil {
				t.Errorf("Value(%s) = %v, %v, %v; want ok=false, no error", expr, v, ok, err)
			}
		}

		_, _, err = c.Value(ctx, `label_replace(vector(1), "a", "x", "", "") or vector(2)`, time.Time{})
		if err == nil || !strings.Contains(err.Error(), "2 series") {
			t.Errorf("two series: err = %v", err)
		}
		_, _, err = c.Value(ctx, "sum(", time.Time{})
		var pe *prometheus.Error
		if !errors.As(err, &pe) || pe.Status != 400 || pe.Type != "bad_data" || !strings.Contains(pe.Message, "unclosed left parenthesis") {
			t.Errorf("parse error: %#v", err)
		}
		_, _, err = c.Value(ctx, `(vector(1) or label_replace(vector(1), "a", "b", "", "")) * on() vector(1)`, time.Time{})
		if !errors.As(err, &pe) || pe.Status != 422 || pe.Type != "execution" {
			t.Errorf("execution error: %#v", err)
		}
		_, _, err = c.Value(ctx, "up[1m]", time.Time{})
		if err == nil || !strings.Contains(err.Error(), "matrix") {
			t.Errorf("a range vector: err = %v, want one naming the matrix", err)
		}
	})

	// The timeout sent for a deadline with a fraction of a second must be
	// one Prometheus parses (it refuses "1.5s").
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 4500*time.Millisecond)
		defer cancel()
		if v, ok, err := c.Value(ctx, "vector(1)", time.Time{}); err != nil || !ok || v != 1 {
			t.Errorf("Value with a deadline = %v, %v, %v", v, ok, err)
		}
	})

	// The same raw requests to both: the fake must answer like the real one.
	t.Run("fake parity", func(t *testing.T) {
		fake := prometheustest.New()
		defer fake.Close()
		tests := []struct {
			method, query, form string
		}{
			{"GET", "", ""},
			{"GET", "query=", ""},
			{"GET", "query=up&time=abc", ""},
			{"GET", "query=up&time=2024-01-01", ""},
			{"GET", "query=up&timeout=xyz", ""},
			{"GET", "query=up&timeout=1.5s", ""},
			{"GET", "query=up&timeout=-1s", ""},
			{"GET", "query=vector(1)&time=2024-01-01T00:00:00.123456789Z", ""},
			{"GET", "query=vector(0.031)&time=1700000000.5", ""},
			{"GET", "query=vector(1)&time=1700000000.2506", ""},
			{"GET", "query=vector(1)&time=1700000000.0005", ""},
			{"GET", "query=0.031&time=1700000000.25&timeout=2.5", ""},
			{"GET", "query=vector(1)&time=1700000000&timeout=1m30s", ""},
			{"GET", "query=no_such_metric_anywhere&time=1700000000", ""},
			{"POST", "", "query=vector(2)&time=1700000000"},
			{"POST", "query=vector(4)", "query=vector(3)&time=1700000000"},
			{"PUT", "query=vector(1)", ""},
		}
		for _, tt := range tests {
			name := tt.method + " ?" + tt.query + " " + tt.form
			rs, rb := rawQuery(t, base, tt.method, tt.query, tt.form)
			fs, fb := rawQuery(t, fake.URL(), tt.method, tt.query, tt.form)
			if rs != fs {
				t.Errorf("%s: status real %d, fake %d\nreal %s\nfake %s", name, rs, fs, rb, fb)
				continue
			}
			if !sameJSON(rb, fb) && strings.TrimSpace(rb) != strings.TrimSpace(fb) {
				t.Errorf("%s: HTTP %d\nreal %s\nfake %s", name, rs, rb, fb)
			}
		}
	})
}

// startPrometheus starts the prometheus on PATH on a free port, with its
// storage in a temporary directory and one scrape job ("self") of
// itself every second, waits for it to be ready and returns its address.
func startPrometheus(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("WARROOM_REQUIRE_E2E") == "1" {
			t.Fatalf("prometheus not found on PATH and WARROOM_REQUIRE_E2E=1: %v", err)
		}
		t.Skipf("prometheus not found on PATH (Debian: apt-get install prometheus; WARROOM_REQUIRE_E2E=1 makes this a failure)")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "prometheus.yml")
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: [%q]\n", addr)
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "prometheus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--config.file="+cfg,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("--- prometheus log ---\n%s", tail(string(b), 40))
		}
	})

	hc := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("prometheus exited before it was ready (%v)", cmd.ProcessState)
		default:
		}
		resp, err := hc.Get("http://" + addr + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("prometheus not ready after 30s: %s", last)
	return ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// rawQuery calls base's /api/v1/query with the query string and, for a
// POST, the form body.
func rawQuery(t *testing.T, base, method, query, form string) (int, string) {
	t.Helper()
	u := base + "/api/v1/query"
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		u += "?" + q.Encode()
	}
	var body io.Reader
	if form != "" {
		q, err := url.ParseQuery(form)
		if err != nil {
			t.Fatal(err)
		}
		body = strings.NewReader(q.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// sameJSON reports whether a and b are the same JSON value (key order and
// spacing aside; numbers compared as written).
func sameJSON(a, b string) bool {
	decode := func(s string) (any, bool) {
		d := json.NewDecoder(bytes.NewReader([]byte(s)))
		d.UseNumber()
		var v any
		return v, d.Decode(&v) == nil
	}
	va, okA := decode(a)
	vb, okB := decode(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
