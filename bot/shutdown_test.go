package bot_test

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/internal/loadgen"
)

// Shutting down (SIGTERM in serve) in the middle of a stream of webhooks:
// requests in flight finish, later ones are refused, and after a restart on
// the same files every webhook that was answered 200 is there and the jobs
// left pending run.
func TestGracefulShutdownKeepsEveryAnsweredAlert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mutate := func(c *config.Config) {
		c.Storage.DSN = filepath.Join(dir, "w.db")
		c.DryRunLog = filepath.Join(dir, "dry.jsonl")
	}
	clock := newClock() // the second life goes on where the first stopped
	h := startOn(t, clock, mutate)
	o := loadgen.Options{Alerts: 1, Services: 7, Value: 0.031, Seed: "shutdown"}
	const n = 400
	var ok sync.Map
	var answered atomic.Int32
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			req, _ := http.NewRequest(http.MethodPost, h.base+"/api/v1/alerts/alertmanager", bytes.NewReader(loadgen.Payload(o, i)))
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				return // refused after shutdown: Alertmanager would retry
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ok.Store(fmt.Sprintf("shutdown-%08x-%04x", i, 0), true)
			} else if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("webhook %d: HTTP %d during shutdown, want 200 or 503", i, resp.StatusCode)
			}
			if answered.Add(1) == n/4 {
				go h.cancel() // as SIGTERM does
			}
		}()
	}
	wg.Wait()
	h.stop()

	h2 := startOn(t, clock, mutate)
	stored := map[string]bool{}
	for _, inc := range h2.list("?all=true") {
		for _, a := range h2.incident(inc.ID).Alerts {
			stored[a.Fingerprint] = true
		}
	}
	acked := 0
	ok.Range(func(k, _ any) bool {
		acked++
		if !stored[k.(string)] {
			t.Errorf("alert %s was answered 200 but is not stored", k)
		}
		return true
	})
	if acked < n/4 {
		t.Fatalf("only %d webhooks answered 200 before shutdown", acked)
	}
	// Every war room's opening steps ran, across the two lives of the server
	// (seven services: five war rooms, then a storm's).
	for _, inc := range h2.list("") {
		if !inc.WarRoom {
			continue // a storm's child: its storm's room shows it
		}
		h2.waitCall("slack.create_channel:" + inc.ID)
		h2.waitCall("slack.post_summary:" + inc.ID)
	}
	t.Logf("%d of %d webhooks answered 200 before shutdown; all stored", acked, n)
}
