package bot_test

import (
	"bytes"
	"context"
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
	// The webhook is answered 503 before its sender would give up (here
	// ten times the store's timeout: generous, so that a loaded machine
	// does not fail it); the read's words say that the store's timeout
	// answered it. The test's requests have no deadline of their own.
	sender, cancel := context.WithTimeout(context.Background(), 10*timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(sender, http.MethodPost, h.base+"/api/v1/alerts/alertmanager",
		bytes.NewReader(fixture(t, "alertmanager/firing-pod-error-rate-3-alerts.json")))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	if r := h.do(req); r.code != http.StatusServiceUnavailable {
		t.Fatalf("webhook during the stall: HTTP %d %s, want 503 before the sender gives up", r.code, r.body)
	}
	if r := h.get("/readyz"); r.code != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "store not ready") {
		t.Fatalf("readyz during the stall: HTTP %d %s", r.code, r.body)
	}
	if r := h.get("/api/v1/incidents"); r.code != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "no answer in time") {
		t.Fatalf("read during the stall: HTTP %d %s, want 503: no answer in time", r.code, r.body)
	}

	proxy.Resume()
	if !eventually(func() bool { return h.get("/readyz").code == http.StatusOK }, nil) {
		t.Fatalf("not ready %s after the network healed: %s", waitTimeout, h.get("/readyz").body)
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
	alert := fixture(t, "alertmanager/firing-high-error-rate.json")
	slowWebhook := func() (*io.PipeWriter, chan int) {
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
		if _, err := writer.Write(alert[:10]); err != nil {
			t.Fatal(err)
		}
		return writer, slow
	}
	writer, slow := slowWebhook()
	// Webhooks until one is refused. The slow one may reach the server
	// while one of them is in hand, and be refused itself: then it starts
	// again (the wait is on the state, not a fixed sleep).
	deadline := time.Now().Add(60 * time.Second)
	var busy reply
	for {
		req, _ := http.NewRequest(http.MethodPost, h.base+"/api/v1/alerts/alertmanager", bytes.NewReader(alert))
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
		select {
		case code := <-slow:
			if code != http.StatusServiceUnavailable {
				t.Fatalf("the slow webhook was answered %d before its body ended; want it held, or refused busy", code)
			}
			_ = writer.Close()
			writer, slow = slowWebhook()
		default:
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
