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
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/clocktest"
	"github.com/warroom/warroom/internal/storetest"
)

// stormOptions declare a storm once three war rooms opened within 5m.
func stormOptions(clock *clocktest.Clock) incident.Options {
	return incident.Options{Now: clock.Now, Storm: incident.Storm{Threshold: 3, Window: 5 * time.Minute}}
}

// breach delivers one firing (or resolved) alert of each service, in one
// delivery, and returns what each alert did.
func breach(t *testing.T, svc *incident.Service, status incident.AlertStatus, services ...string) []incident.AlertResult {
	t.Helper()
	d := &incident.Delivery{Source: incident.SourceAlertmanager, Receiver: "warroom", Status: string(status), ReceivedAt: time.Now()}
	for _, s := range services {
		d.Alerts = append(d.Alerts, incident.Alert{Fingerprint: "fp-" + s, Status: status, Source: incident.SourceAlertmanager,
			Labels: map[string]string{"alertname": "HighErrorRate", "service": s}, StartsAt: time.Now()})
	}
	res, err := svc.Ingest(context.Background(), d)
	if err != nil {
		t.Fatalf("ingest %v: %v", services, err)
	}
	return res.Alerts
}

func services(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("svc%02d", i+1)
	}
	return out
}

func incidentOf(t *testing.T, s incident.Store, id string) *incident.Incident {
	t.Helper()
	inc, err := s.Incident(context.Background(), id)
	if err != nil {
		t.Fatalf("incident %s: %v", id, err)
	}
	return inc
}

// onStores runs fn on a fresh store of each backend, in parallel, with a
// service storming past three war rooms.
func onStores(t *testing.T, fn func(t *testing.T, clock *clocktest.Clock, s *sqlstore.Store, svc *incident.Service)) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(b.Driver, func(t *testing.T) {
			t.Parallel()
			s := b.Open(t, b.DSN(t))
			clock := clocktest.New(time.Now().UTC().Truncate(time.Second))
			fn(t, clock, s, incident.NewService(s, warRoomRules{}, stormOptions(clock)))
		})
	}
}

// settle runs the storm's settle step, as the worker would.
func settle(t *testing.T, svc *incident.Service, id string) {
	t.Helper()
	j := incident.NewJob(incident.JobStormSettle, id, incident.JobArgs{}, time.Now())
	if err := svc.Storms().Execute(context.Background(), j); err != nil {
		t.Fatalf("settle %s: %v", id, err)
	}
}

// Eight services breaching within the window, one delivery each: three
// ordinary war rooms, then one storm that the other five join: no
// channel and no ticket of their own, their evidence gathered, the
// storm's summary and ticket told.
func TestStormTakesTheWarRoomsPastTheThreshold(t *testing.T) {
	onStores(t, func(t *testing.T, clock *clocktest.Clock, s *sqlstore.Store, svc *incident.Service) {
		var outcomes []incident.Outcome
		for _, name := range services(8) {
			clock.Add(10 * time.Second)
			outcomes = append(outcomes, breach(t, svc, incident.AlertFiring, name)[0].Outcome)
		}
		want := []incident.Outcome{"opened", "opened", "opened", "storm", "storm", "storm", "storm", "storm"}
		if !slices.Equal(outcomes, want) {
			t.Errorf("outcomes %v, want %v", outcomes, want)
		}
		storm := incidentOf(t, s, "INC-4")
		if storm.Kind != incident.KindStorm || !storm.WarRoom || storm.Service != "storm" || storm.Severity != incident.Critical {
			t.Errorf("INC-4 = kind %q, war room %v, service %q, severity %q; want the storm's war room", storm.Kind, storm.WarRoom, storm.Service, storm.Severity)
		}
		if !slices.Equal(storm.Linked, []string{"INC-1", "INC-2", "INC-3"}) {
			t.Errorf("linked %v, want the three war rooms before it", storm.Linked)
		}
		if want := []string{"INC-5", "INC-6", "INC-7", "INC-8", "INC-9"}; !slices.Equal(storm.Children, want) {
			t.Errorf("children %v, want %v", storm.Children, want)
		}
		if !strings.Contains(storm.SlackChannel, "-storm-1") {
			t.Errorf("storm channel %q, want #inc-<date>-storm-1", storm.SlackChannel)
		}
		stormJobs := jobStates(t, s, "INC-4")
		for _, k := range []string{"slack.create_channel:INC-4", "jira.create_issue:INC-4", "slack.update:INC-4", "jira.update:INC-4"} {
			if _, ok := stormJobs[k]; !ok {
				t.Errorf("the storm has no job %s: %v", k, keys(stormJobs))
			}
		}
		if _, ok := stormJobs["correlate.gather:INC-4"]; ok {
			t.Error("the storm gathers evidence of its own; its children's is what it shows")
		}
		for _, id := range storm.Children {
			child := incidentOf(t, s, id)
			if child.WarRoom || child.Storm != "INC-4" || child.Kind != incident.KindIncident || child.SlackChannel != "" {
				t.Errorf("%s = war room %v, storm %q, kind %q, channel %q; want a child of INC-4", id, child.WarRoom, child.Storm, child.Kind, child.SlackChannel)
			}
			got := keys(jobStates(t, s, id))
			if !slices.Equal(got, []string{"correlate.gather:" + id}) {
				t.Errorf("%s has jobs %v; a child gathers its evidence and nothing else", id, got)
			}
			if tl := timelineKinds(t, s, id); !slices.Equal(tl, []incident.EventKind{incident.EventJoinedStorm}) {
				t.Errorf("%s timeline %v, want [joined_storm]", id, tl)
			}
		}
		list, err := s.Incidents(context.Background(), incident.Filter{})
		if err != nil || len(list) != 9 {
			t.Errorf("the default listing has %d incidents (%v), want the 4 war rooms and the 5 children", len(list), err)
		}
		children, err := s.Incidents(context.Background(), incident.Filter{Storm: "INC-4"})
		if err != nil || len(children) != 5 {
			t.Errorf("listing the storm's children: %d (%v), want 5", len(children), err)
		}
	})
}

// Alertmanager groups a storm's alerts into one delivery: the same
// three war rooms and one storm.
func TestStormInOneDelivery(t *testing.T) {
	onStores(t, func(t *testing.T, _ *clocktest.Clock, s *sqlstore.Store, svc *incident.Service) {
		res := breach(t, svc, incident.AlertFiring, services(8)...)
		counts := map[incident.Outcome]int{}
		for _, r := range res {
			counts[r.Outcome]++
			if r.Outcome == incident.OutcomeStorm && r.Storm != "INC-4" {
				t.Errorf("%s: storm %q, want INC-4", r.Fingerprint, r.Storm)
			}
		}
		if counts["opened"] != 3 || counts["storm"] != 5 {
			t.Errorf("outcomes %v, want 3 opened and 5 in the storm", counts)
		}
		if n := warRooms(t, s); n != 4 {
			t.Errorf("%d war rooms, want 3 and the storm's", n)
		}
	})
}

// War rooms that opened before the window do not count toward a storm,
// and storm.threshold 0 never declares one.
func TestStormNeedsTheWarRoomsWithinTheWindowAndATreshold(t *testing.T) {
	onStores(t, func(t *testing.T, clock *clocktest.Clock, s *sqlstore.Store, svc *incident.Service) {
		breach(t, svc, incident.AlertFiring, "a", "b", "c")
		clock.Add(5*time.Minute + time.Second)
		if r := breach(t, svc, incident.AlertFiring, "d")[0]; r.Outcome != incident.OutcomeOpened {
			t.Errorf("d, past the window: %s, want opened", r.Outcome)
		}
		off := incident.NewService(s, warRoomRules{}, incident.Options{Now: clock.Now})
		for _, r := range breach(t, off, incident.AlertFiring, "e", "f", "g", "h") {
			if r.Outcome != incident.OutcomeOpened {
				t.Errorf("%s without storms: %s, want opened", r.Fingerprint, r.Outcome)
			}
		}
	})
}

// The storm resolves when its last child resolves, not before; the war
// rooms it links keep their own lives.
func TestStormResolvesWithItsLastChild(t *testing.T) {
	onStores(t, func(t *testing.T, clock *clocktest.Clock, s *sqlstore.Store, svc *incident.Service) {
		names := services(6) // INC-1..3 war rooms, INC-4 the storm, INC-5..7 children
		breach(t, svc, incident.AlertFiring, names...)
		clock.Add(time.Minute)
		breach(t, svc, incident.AlertResolved, names[3], names[4])
		if _, ok := jobStates(t, s, "INC-4")["storm.settle:INC-4"]; !ok {
			t.Fatal("a child's resolve did not ask the storm to settle")
		}
		settle(t, svc, "INC-4")
		if st := incidentOf(t, s, "INC-4").State; st != incident.Triggered {
			t.Fatalf("storm %s with a child still open, want triggered", st)
		}
		breach(t, svc, incident.AlertResolved, names[5])
		settle(t, svc, "INC-4")
		storm := incidentOf(t, s, "INC-4")
		if storm.State != incident.Resolved {
			t.Fatalf("storm %s after its last child resolved, want resolved", storm.State)
		}
		if tl := timeline(t, s, "INC-4"); !strings.Contains(tl[len(tl)-1].Text, "all 3 incidents of the storm resolved") {
			t.Errorf("the storm's last event: %q", tl[len(tl)-1].Text)
		}
		if _, ok := jobStates(t, s, "INC-4")["jira.transition:INC-4:"+fmt.Sprint(timeline(t, s, "INC-4")[len(timeline(t, s, "INC-4"))-1].ID)]; !ok {
			t.Error("the storm's resolve did not move its ticket")
		}
		if st := incidentOf(t, s, "INC-1").State; st != incident.Triggered {
			t.Errorf("linked war room INC-1 is %s, want it left alone", st)
		}
		settle(t, svc, "INC-4") // a repeat changes nothing
		if n := countKind(timeline(t, s, "INC-4"), incident.EventResolved); n != 1 {
			t.Errorf("%d resolved events on the storm, want 1", n)
		}

		// The storm is over: the next war room is judged afresh, and with
		// the three war rooms still within the window, it is a new storm.
		if r := breach(t, svc, incident.AlertFiring, "late")[0]; r.Outcome != incident.OutcomeStorm || r.Storm != "INC-8" {
			t.Errorf("a breach after the storm: %s in %q, want a child of a new storm INC-8", r.Outcome, r.Storm)
		}
	})
}

// A responder resolving the storm resolves its open children with it;
// one that fires again leaves the resolved storm and stands alone.
func TestStormResolvedByHandResolvesItsChildren(t *testing.T) {
	onStores(t, func(t *testing.T, clock *clocktest.Clock, s *sqlstore.Store, svc *incident.Service) {
		names := services(5) // INC-4 the storm, INC-5..6 children
		breach(t, svc, incident.AlertFiring, names...)
		if _, err := svc.Resolve(context.Background(), "INC-4", "U1", "the database is back"); err != nil {
			t.Fatal(err)
		}
		settle(t, svc, "INC-4")
		for _, id := range []string{"INC-5", "INC-6"} {
			inc := incidentOf(t, s, id)
			tl := timeline(t, s, id)
			if inc.State != incident.Resolved || !strings.Contains(tl[len(tl)-1].Text, "with its storm INC-4") {
				t.Errorf("%s is %s (%q), want resolved with its storm", id, inc.State, tl[len(tl)-1].Text)
			}
		}
		settle(t, svc, "INC-4") // a repeat changes nothing
		if n := countKind(timeline(t, s, "INC-5"), incident.EventResolved); n != 1 {
			t.Errorf("%d resolved events on INC-5, want 1", n)
		}

		// Past the window the storm's war rooms no longer count: INC-5
		// fires again, leaves its storm and opens a war room of its own.
		clock.Add(6 * time.Minute)
		r := breach(t, svc, incident.AlertFiring, names[3])[0]
		inc := incidentOf(t, s, "INC-5")
		if r.Outcome != incident.OutcomeReopened || !inc.WarRoom || inc.Storm != "" {
			t.Errorf("INC-5 firing again: %s, war room %v, storm %q; want reopened as a war room of its own", r.Outcome, inc.WarRoom, inc.Storm)
		}
		if !slices.Contains(timelineKinds(t, s, "INC-5"), incident.EventLeftStorm) {
			t.Error("INC-5's timeline does not say it left the storm")
		}
	})
}

// Two replicas taking a 40-service storm at once declare one storm: the
// war-room lock orders the looks, so neither declares a second, and no
// war room opens past the threshold.
func TestStormOnTwoReplicas(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		if b.Driver != sqlstore.Postgres {
			continue // one writer on SQLite: nothing to race
		}
		t.Run(b.Driver, func(t *testing.T) {
			dsn := b.DSN(t)
			clock := clocktest.New(time.Now().UTC().Truncate(time.Second))
			a, c := b.Open(t, dsn), b.Open(t, dsn)
			svcs := []*incident.Service{incident.NewService(a, warRoomRules{}, stormOptions(clock)),
				incident.NewService(c, warRoomRules{}, stormOptions(clock))}
			var wg sync.WaitGroup
			for i, name := range services(40) {
				wg.Go(func() { breach(t, svcs[i%2], incident.AlertFiring, name) })
			}
			wg.Wait()
			all, err := a.Incidents(context.Background(), incident.Filter{All: true})
			if err != nil {
				t.Fatal(err)
			}
			var storms, rooms, children int
			for _, inc := range all {
				switch {
				case inc.IsStorm():
					storms++
				case inc.WarRoom:
					rooms++
				case inc.Storm != "":
					children++
				}
			}
			if storms != 1 || rooms != 3 || children != 37 {
				t.Errorf("%d storms, %d war rooms, %d children; want 1, 3 and 37", storms, rooms, children)
			}
		})
	}
}

func keys(m map[string]incident.JobStatus) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func timeline(t *testing.T, s incident.Store, id string) []incident.Event {
	t.Helper()
	tl, err := s.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func timelineKinds(t *testing.T, s incident.Store, id string) []incident.EventKind {
	var out []incident.EventKind
	for _, e := range timeline(t, s, id) {
		out = append(out, e.Kind)
	}
	return out
}

func countKind(tl []incident.Event, k incident.EventKind) int {
	n := 0
	for _, e := range tl {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func warRooms(t *testing.T, s incident.Store) int {
	t.Helper()
	list, err := s.Incidents(context.Background(), incident.Filter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, inc := range list {
		if inc.WarRoom {
			n++
		}
	}
	return n
}
