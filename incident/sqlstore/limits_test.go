package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/pgtest"
)

// withheldText returns the text of the incident's war_room_withheld
// events.
func withheldText(t *testing.T, s *sqlstore.Store, id string) []string {
	t.Helper()
	tl, err := s.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range tl {
		if e.Kind == incident.EventWithheld {
			out = append(out, e.Text)
		}
	}
	return out
}

// Beyond the caps on new war rooms an incident is recorded, says why on
// its timeline, and becomes a war room when its key fires again under the
// caps.
func TestWarRoomCaps(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		s := open()
		clk := newClock()
		svc := incident.NewService(s, testRules{}, incident.Options{Now: clk.Now,
			MaxNewWarRoomsPerDelivery: 2, MaxNewWarRoomsPerMinute: 3})
		ctx := context.Background()
		fire := func(services ...string) *incident.Delivery {
			var as []incident.Alert
			for _, svc := range services {
				as = append(as, alert(svc, svc+"-a1", "0.031", incident.AlertFiring))
			}
			return delivery(as...)
		}
		warRoom := func(id string) bool {
			t.Helper()
			inc, err := s.Incident(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return inc.WarRoom
		}

		// d has three alerts: its incident says once why it has no war room.
		four := fire("a", "b", "c", "d")
		four.Alerts = append(four.Alerts, alert("d", "d-a2", "0.031", incident.AlertFiring), alert("d", "d-a3", "0.031", incident.AlertFiring))
		res := mustIngest(t, svc, four)
		if got, want := outcomes(res), "opened:INC-1 opened:INC-2 recorded:INC-3 recorded:INC-4 recorded:INC-4 recorded:INC-4 "; got != want {
			t.Fatalf("four at once: %s, want %s", got, want)
		}
		perDelivery := "war room withheld: this delivery opened 2 war rooms, the limit is 2 per delivery"
		for _, id := range []string{"INC-3", "INC-4"} {
			if warRoom(id) {
				t.Errorf("%s is a war room beyond the per-delivery cap", id)
			}
			if got := withheldText(t, s, id); len(got) != 1 || got[0] != perDelivery {
				t.Errorf("%s withheld events %q, want [%q]", id, got, perDelivery)
			}
			if keys := jobKeys(t, s, id); len(keys) != 0 {
				t.Errorf("%s has jobs %v; a withheld war room has none", id, keys)
			}
		}
		if res.Alerts[2].Withheld != perDelivery || res.Alerts[5].Withheld != perDelivery || res.Alerts[0].Withheld != "" {
			t.Errorf("results withheld %q and %q", res.Alerts[0].Withheld, res.Alerts[2].Withheld)
		}
		// The log says it once per incident too: only the alerts whose
		// delivery recorded the event are withheld "now".
		var now []bool
		for _, a := range res.Alerts {
			now = append(now, a.WithheldNow)
		}
		if fmt.Sprint(now) != "[false false true true false false]" {
			t.Errorf("withheld now %v, want the first alert of c and of d only", now)
		}

		clk.Add(10 * time.Second)
		res = mustIngest(t, svc, fire("e", "f"))
		perMinute := "war room withheld: 3 war rooms opened in the last minute, the limit is 3"
		if got, want := outcomes(res), "opened:INC-5 recorded:INC-6 "; got != want || res.Alerts[1].Withheld != perMinute {
			t.Fatalf("two more in the minute: %s (withheld %q), want %s withheld %q", got, res.Alerts[1].Withheld, want, perMinute)
		}

		// Still within the minute: the recorded one stays recorded.
		clk.Add(20 * time.Second)
		res = mustIngest(t, svc, fire("c"))
		if res.Alerts[0].Withheld != perMinute || warRoom("INC-3") {
			t.Errorf("c again within the minute: withheld %q, war room %v", res.Alerts[0].Withheld, warRoom("INC-3"))
		}
		// and again at once: the answer says why, the timeline and the
		// log said it already.
		res = mustIngest(t, svc, fire("c"))
		if res.Alerts[0].Withheld != perMinute || res.Alerts[0].WithheldNow || len(withheldText(t, s, "INC-3")) != 2 {
			t.Errorf("c at once again: withheld %q (now %v), %d withheld events, want 2", res.Alerts[0].Withheld,
				res.Alerts[0].WithheldNow, len(withheldText(t, s, "INC-3")))
		}

		// A minute after the last war room opened, the same keys fire
		// again and get their war rooms, within the per-delivery cap.
		clk.Add(31 * time.Second)
		res = mustIngest(t, svc, fire("c", "d", "f"))
		if got, want := outcomes(res), "escalated:INC-3 escalated:INC-4 unchanged:INC-6 "; got != want {
			t.Fatalf("after the minute: %s, want %s", got, want)
		}
		for _, id := range []string{"INC-3", "INC-4"} {
			if !warRoom(id) {
				t.Errorf("%s did not become a war room after the minute", id)
			}
			if keys := jobKeys(t, s, id); len(keys) < 3 {
				t.Errorf("%s jobs %v, want the opening steps", id, keys)
			}
		}
		if warRoom("INC-6") {
			t.Error("INC-6 became a war room beyond the per-delivery cap")
		}

		// A war room declared by hand counts too.
		clk.Add(time.Minute + time.Second)
		if _, err := svc.Declare(ctx, "g", "prod", "by hand", "U1"); err != nil {
			t.Fatal(err)
		}
		mustIngest(t, svc, fire("h"))
		res = mustIngest(t, svc, fire("i", "j"))
		if got := res.Alerts[0].Withheld + "|" + res.Alerts[1].Withheld; !strings.HasPrefix(got, "|war room withheld: 3 war rooms") {
			t.Errorf("after a declared war room: withheld %q, want the second of i and j withheld", got)
		}
	})
}

// Two replicas ingesting a storm at once on one PostgreSQL still open no
// more war rooms in a minute than the cap: the count is the store's.
func TestReplicasWarRoomCap(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Fresh(t)
	ctx := context.Background()
	clk := newClock()
	var svcs []*incident.Service
	var first *sqlstore.Store
	for range 2 {
		s, err := sqlstore.Open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if first == nil {
			first = s
		}
		svcs = append(svcs, incident.NewService(s, testRules{}, incident.Options{Now: clk.Now, MaxNewWarRoomsPerMinute: 5}))
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := fmt.Sprintf("svc%d", i)
			if _, err := svcs[i%2].Ingest(ctx, delivery(alert(svc, svc+"-a1", "0.031", incident.AlertFiring))); err != nil {
				t.Errorf("ingest: %v", err)
			}
		}()
	}
	wg.Wait()
	all, err := first.Incidents(ctx, incident.Filter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	rooms, withheld := 0, 0
	for _, inc := range all {
		if inc.WarRoom {
			rooms++
		} else if len(withheldText(t, first, inc.ID)) == 1 {
			withheld++
		}
	}
	if len(all) != 40 || rooms != 5 || withheld != 35 {
		t.Errorf("%d incidents, %d war rooms, %d withheld; want 40, 5, 35", len(all), rooms, withheld)
	}
}
