package bot_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/internal/faultproxy"
	"github.com/warroom/warroom/internal/pgtest"
)

// PostgreSQL behind a partition: a webhook is answered 503 within a few
// seconds (not held until the sender gives up), /readyz says the store is
// not ready, and once the network heals both come back without a restart.
func TestStalledPostgresIs503(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.Fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	u.Host = proxy.Addr()
	const timeout = time.Second
	h := start(t, func(cfg *config.Config) {
		cfg.Storage.Driver, cfg.Storage.DSN = "postgres", u.String()
		cfg.Storage.Timeout = config.Duration(timeout)
	})
	h.deliver("alertmanager/firing-high-error-rate.json")
	eq(t, "readyz before", h.get("/readyz").code, http.StatusOK)

	proxy.Pause()
	start := time.Now()
	r := h.post("/api/v1/alerts/alertmanager", fixture(t, "alertmanager/firing-pod-error-rate-3-alerts.json"), nil)
	if took := time.Since(start); r.code != http.StatusServiceUnavailable || took > 4*timeout {
		t.Fatalf("webhook during the stall: HTTP %d %s after %s, want 503 within %s", r.code, r.body, took, 4*timeout)
	}
	start = time.Now()
	r = h.get("/readyz")
	if took := time.Since(start); r.code != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "store not ready") || took > 4*timeout {
		t.Fatalf("readyz during the stall: HTTP %d %s after %s", r.code, r.body, took)
	}
	start = time.Now()
	if r := h.get("/api/v1/incidents"); r.code != http.StatusServiceUnavailable || time.Since(start) > 4*timeout {
		t.Fatalf("read during the stall: HTTP %d %s after %s", r.code, r.body, time.Since(start))
	}

	proxy.Resume()
	deadline := time.Now().Add(15 * time.Second)
	for h.get("/readyz").code != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("not ready 15s after the network healed: %s", h.get("/readyz").body)
		}
		time.Sleep(50 * time.Millisecond) // polling readiness
	}
	h.deliver("alertmanager/firing-pod-error-rate-3-alerts.json")
}

// Webhook bodies in hand are bounded in bytes: past the budget, a webhook
// is answered 503 with Retry-After at once instead of queueing.
func TestWebhookBytesBudget(t *testing.T) {
	t.Parallel()
	h := start(t, func(cfg *config.Config) {
		cfg.Webhook.MaxBodyBytes = 64 << 10
		cfg.Webhook.MaxInFlightBytes = 64 << 10
	})
	// A body of unknown length that is still arriving holds the whole
	// budget (it may grow to max_body_bytes).
	body, writer := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, h.base+"/api/v1/alerts/alertmanager", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	slow := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	if _, err := writer.Write(fixture(t, "alertmanager/firing-high-error-rate.json")[:10]); err != nil {
		t.Fatal(err)
	}
	good := fixture(t, "alertmanager/firing-high-error-rate.json")
	// Generous: on a loaded machine the slow request's handler may start
	// late (the wait is on the state, not a fixed sleep).
	deadline := time.Now().Add(60 * time.Second)
	var busy reply
	for {
		req, _ := http.NewRequest(http.MethodPost, h.base+"/api/v1/alerts/alertmanager", strings.NewReader(string(good)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			if resp.Header.Get("Retry-After") == "" {
				t.Error("503 for a full budget without Retry-After")
			}
			busy = reply{resp.StatusCode, b}
			break
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook before the budget filled: HTTP %d %s", resp.StatusCode, b)
		}
		if time.Now().After(deadline) {
			t.Fatal("the budget never filled while a body of unknown length was arriving")
		}
	}
	if !strings.Contains(string(busy.body), "too many webhooks in hand") {
		t.Errorf("busy answer: %s", busy.body)
	}
	// The slow body ends (malformed: only its start was sent); its bytes
	// are given back and webhooks fit again.
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	if code := <-slow; code != http.StatusBadRequest {
		t.Errorf("the slow webhook: HTTP %d, want 400 for its truncated body", code)
	}
	h.deliver("alertmanager/firing-high-error-rate.json")
}
