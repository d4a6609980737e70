package incident_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/clocktest"
	"github.com/warroom/warroom/internal/storetest"
)

// mixedRules open war rooms, except for the services named rec-*, which
// are recorded.
type mixedRules struct{ warRoomRules }

func (r mixedRules) Evaluate(alerts []incident.Alert) []incident.Decision {
	out := r.warRoomRules.Evaluate(alerts)
	for i := range out {
		if strings.HasPrefix(out[i].Service, "rec-") {
			out[i].Action = incident.ActionRecord
		}
	}
	return out
}

// timings collects what Options.WarRoomTimed is told.
type timings struct {
	mu  sync.Mutex
	got []string
}

func (ts *timings) add(t incident.Timing) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.got = append(ts.got, fmt.Sprintf("%s/%s %s after %v", t.Rule, t.Severity, t.To, t.After))
}

// take returns what was told since the last take.
func (ts *timings) take() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := ts.got
	ts.got = nil
	return out
}

// Every path that acknowledges or resolves a war room tells its time
// once, after the commit: a responder's ack, mitigate and resolve, the
// alerts resolving, a storm settling. A transition that does not commit,
// a repeat, a recorded incident and a storm's child tell nothing.
func TestWarRoomTimedOncePerTransition(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(b.Driver, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := b.DSN(t)
			s := b.Open(t, dsn)
			clock := clocktest.New(time.Now().UTC().Truncate(time.Second))
			ts := &timings{}
			svc := incident.NewService(s, mixedRules{}, incident.Options{Now: clock.Now, WarRoomTimed: ts.add,
				Storm: incident.Storm{Threshold: 2, Window: time.Hour}})
			expect := func(what string, want ...string) {
				t.Helper()
				if got := ts.take(); !slices.Equal(got, want) {
					t.Errorf("%s: told %q, want %q", what, got, want)
				}
			}

			breach(t, svc, incident.AlertFiring, "pay")    // INC-1
			breach(t, svc, incident.AlertFiring, "ledger") // INC-2
			breach(t, svc, incident.AlertFiring, "rec-a")  // INC-3, recorded
			expect("openings")

			clock.Add(3 * time.Minute)
			if _, err := svc.Ack(ctx, "INC-1", "U1"); err != nil {
				t.Fatal(err)
			}
			expect("ack", "r/critical acknowledged after 3m0s")
			if _, err := svc.Ack(ctx, "INC-1", "U1"); incident.ErrorCode(err) != incident.ECONFLICT {
				t.Fatalf("ack again: %v", err)
			}
			clock.Add(time.Minute)
			if _, err := svc.Mitigate(ctx, "INC-1", "U1"); err != nil {
				t.Fatal(err)
			}
			expect("an ack again, then a mitigate after the ack")

			if _, err := svc.Mitigate(ctx, "INC-2", "U1"); err != nil {
				t.Fatal(err)
			}
			expect("a mitigate before any ack", "r/critical acknowledged after 4m0s")

			fault := storetest.FailCommits(t, b.Driver, dsn, "incidents")
			fault.On(t)
			clock.Add(6 * time.Minute)
			if _, err := svc.Resolve(ctx, "INC-1", "U1", ""); err == nil {
				t.Fatal("the resolve committed with the fault on")
			}
			expect("a resolve that did not commit")
			fault.Off(t)
			if _, err := svc.Resolve(ctx, "INC-1", "U1", ""); err != nil {
				t.Fatal(err)
			}
			expect("the resolve again", "r/critical resolved after 10m0s")
			if _, err := svc.Resolve(ctx, "INC-1", "U1", ""); incident.ErrorCode(err) != incident.ECONFLICT {
				t.Fatalf("resolve again: %v", err)
			}

			clock.Add(5 * time.Minute)
			breach(t, svc, incident.AlertResolved, "ledger")
			expect("INC-2 resolved by its alert", "r/critical resolved after 15m0s")
			breach(t, svc, incident.AlertResolved, "ledger")
			breach(t, svc, incident.AlertResolved, "pay")
			expect("the resolves replayed")
			breach(t, svc, incident.AlertResolved, "rec-a")
			if inc := incidentOf(t, s, "INC-3"); inc.State != incident.Resolved {
				t.Fatalf("INC-3 %s", inc.State)
			}
			expect("a recorded incident resolved")

			// pay fires again within the reopen window: INC-1 reopens,
			// and its new acknowledge counts from its opening, as the
			// row says (acknowledged_at - opened_at).
			clock.Add(time.Minute)
			breach(t, svc, incident.AlertFiring, "pay")
			if _, err := svc.Ack(ctx, "INC-1", "U1"); err != nil {
				t.Fatal(err)
			}
			expect("INC-1 reopened and acknowledged", "r/critical acknowledged after 16m0s")

			// Two war rooms opened within the hour: cart declares a
			// storm (INC-4) and is its child (INC-5).
			clock.Add(time.Minute)
			if got := breach(t, svc, incident.AlertFiring, "cart")[0]; got.Outcome != incident.OutcomeStorm || got.Storm != "INC-4" {
				t.Fatalf("cart: %+v, want a child of the storm INC-4", got)
			}
			clock.Add(2 * time.Minute)
			if _, err := svc.Ack(ctx, "INC-5", "U1"); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Ack(ctx, "INC-4", "U1"); err != nil {
				t.Fatal(err)
			}
			expect("a child and its storm acknowledged", "storm/critical acknowledged after 2m0s")
			clock.Add(8 * time.Minute)
			breach(t, svc, incident.AlertResolved, "cart")
			expect("the child resolved")
			settle(t, svc, "INC-4")
			if inc := incidentOf(t, s, "INC-4"); inc.State != incident.Resolved {
				t.Fatalf("the storm %s after its last child resolved", inc.State)
			}
			expect("the storm settled", "storm/critical resolved after 10m0s")
			settle(t, svc, "INC-4")
			expect("the storm settled again")
		})
	}
}
