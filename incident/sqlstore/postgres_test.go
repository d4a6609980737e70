package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/pgtest"
	"github.com/warroom/warroom/internal/storetest"
)

// TestPostgresRoundTrips pins what the pipeline is for: once a storm's
// incidents are open, a batch makes two round trips to PostgreSQL, one
// for BEGIN and its keys' locks, one for its rows and the COMMIT, however
// many webhooks and keys it holds.
func TestPostgresRoundTrips(t *testing.T) {
	dsn := pgtest.Fresh(t)
	s := storetest.Backends[1].Open(t, dsn)
	if s.Driver() != sqlstore.Postgres {
		t.Fatalf("backend %s", s.Driver())
	}
	ctx := context.Background()
	svc := incident.NewService(s, testRules{}, incident.Options{})
	services := []string{"pay", "search", "checkout"}
	for round := range 2 { // opens the incidents, then attaches an alert
		for _, name := range services {
			before := sqlstore.RoundTrips(s)
			mustIngest(t, svc, delivery(alert(name, fmt.Sprintf("%s-%d", name, round), "0.05", incident.AlertFiring)))
			// Opening a war room reads what it depends on, one read after
			// another: the last resolved incident of the key (a reopen?),
			// the war rooms of the last minute (the cap), the incident's
			// number, then its channel's; its row goes in at once (the
			// one-open-incident rule); with the locks and the commit, 7.
			if n, want := sqlstore.RoundTrips(s)-before, map[int]int64{0: 7, 1: 2}[round]; n > want {
				t.Errorf("round %d, %s: %d round trips, want %d", round, name, n, want)
			}
		}
	}

	before := sqlstore.RoundTrips(s)
	mustIngest(t, svc, delivery(alert("pay", "pay-new", "0.05", incident.AlertFiring)))
	if n := sqlstore.RoundTrips(s) - before; n != 2 {
		t.Errorf("a new alert of an open incident: %d round trips, want 2", n)
	}

	// A writer held inside its batch makes the webhooks queue behind it,
	// so that they share the next batch.
	held, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.Update(ctx, "hold", func(incident.Tx) error { close(held); <-release; return nil }); err != nil {
			t.Errorf("holding writer: %v", err)
		}
	}()
	<-held
	const webhooks = 12
	for i := range webhooks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := services[i%len(services)]
			if _, err := svc.Ingest(ctx, delivery(alert(name, fmt.Sprintf("%s-storm-%d", name, i), "0.05", incident.AlertFiring))); err != nil {
				t.Errorf("ingest: %v", err)
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for sqlstore.Queued(s, "pay") < webhooks && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling the queue, not waiting a guess
	}
	if n := sqlstore.Queued(s, "pay"); n != webhooks {
		t.Fatalf("%d requests queued, want %d", n, webhooks)
	}
	before = sqlstore.RoundTrips(s)
	close(release)
	wg.Wait()
	// The held batch's COMMIT, then two for the twelve webhooks.
	if n := sqlstore.RoundTrips(s) - before; n != 3 {
		t.Errorf("%d webhooks over %d incidents: %d round trips, want 1 + 2", webhooks, len(services), n)
	}
	for name, want := range map[string]int{"pay": 2 + 1 + 4, "search": 2 + 4, "checkout": 2 + 4} {
		inc, err := s.Incidents(ctx, incident.Filter{Service: name})
		if err != nil || len(inc) != 1 {
			t.Fatalf("incidents of %s: %v (%v)", name, inc, err)
		}
		if total, _, err := s.CountAlerts(ctx, inc[0].ID); err != nil || total != want {
			t.Errorf("alerts of %s: %d (%v), want %d", name, total, err, want)
		}
	}
}

// TestRestartedPostgresIsReady: connections cut under the store (a server
// restart) while nothing is written. Readiness does not report the first
// dead connection it meets as the database being down, and the first
// write after it goes through: its connection broke before its COMMIT
// went out, so nothing of it was committed and it runs again on a new one.
func TestRestartedPostgresIsReady(t *testing.T) {
	dsn, proxy := proxied(t)
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := incident.NewService(s, testRules{}, incident.Options{})
	mustIngest(t, svc, delivery(alert("pay", "a0", "0.031", incident.AlertFiring)))
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping before the restart: %v", err)
	}
	proxy.Cut()
	if err := s.Ping(ctx); err != nil {
		t.Errorf("ping after the restart: %v", err)
	}
	if _, err := s.Incidents(ctx, incident.Filter{}); err != nil {
		t.Errorf("read after the restart: %v", err)
	}
	mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))
}
