package incident_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/clocktest"
	"github.com/warroom/warroom/internal/storetest"
)

// levelRules decide by the alert's "level" label: "record" records the
// key's incident (rule warn, severity warning, threshold 1%), anything
// else opens a war room (rule page, critical, threshold 5%; paging when
// level is "page"). The key is the service's, whatever the level, as a
// warning and a paging rule sharing incident_key labels make it.
type levelRules struct{}

func (levelRules) Evaluate(alerts []incident.Alert) []incident.Decision {
	out := make([]incident.Decision, len(alerts))
	for i, a := range alerts {
		v := 0.031
		d := incident.Decision{Action: incident.ActionWarRoom, Rule: "page", Key: "svc/service=" + a.Labels["service"],
			Service: a.Labels["service"], Env: "prod", Severity: incident.Critical, Value: &v, Threshold: ptr(0.05),
			Page: a.Labels["level"] == "page"}
		if a.Labels["level"] == "record" {
			d.Action, d.Rule, d.Severity, d.Threshold = incident.ActionRecord, "warn", incident.Warning, ptr(0.01)
		}
		out[i] = d
	}
	return out
}

func ptr(f float64) *float64 { return &f }

// fire delivers one alert of service at level, firing or resolved.
func fire(t *testing.T, svc *incident.Service, status incident.AlertStatus, service, level string) incident.AlertResult {
	t.Helper()
	d := &incident.Delivery{Source: incident.SourceAlertmanager, Receiver: "warroom", Status: string(status), ReceivedAt: time.Now(),
		Alerts: []incident.Alert{{Fingerprint: "fp-" + service, Status: status, Source: incident.SourceAlertmanager,
			Labels: map[string]string{"alertname": "HighErrorRate", "service": service, "level": level}, StartsAt: time.Now()}}}
	res, err := svc.Ingest(context.Background(), d)
	if err != nil {
		t.Fatalf("ingest %s: %v", service, err)
	}
	return res.Alerts[0]
}

func onLevelStores(t *testing.T, fn func(t *testing.T, clock *clocktest.Clock, s *sqlstore.Store, svc *incident.Service)) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(b.Driver, func(t *testing.T) {
			t.Parallel()
			s := b.Open(t, b.DSN(t))
			clock := clocktest.New(time.Now().UTC().Truncate(time.Second))
			fn(t, clock, s, incident.NewService(s, levelRules{}, stormOptions(clock)))
		})
	}
}

// A child of a storm that is over fires again below its war-room rule
// (reopened as recorded, within the reopen window), then breaches: a war
// room must open for it somewhere (its own, or a new storm's). It stays
// the child of the resolved storm instead, "without a look": no channel,
// no ticket, no room shows it.
func TestStormChildReopenedBelowThenBreachingAfterItsStormResolved(t *testing.T) {
	onLevelStores(t, func(t *testing.T, clock *clocktest.Clock, s *sqlstore.Store, svc *incident.Service) {
		for _, name := range services(4) { // INC-1..3 war rooms, INC-4 the storm, INC-5 (svc04) its child
			fire(t, svc, incident.AlertFiring, name, "")
		}
		if r := fire(t, svc, incident.AlertResolved, "svc04", ""); r.Incident != "INC-5" {
			t.Fatalf("svc04's resolve went to %q, want INC-5", r.Incident)
		}
		settle(t, svc, "INC-4")
		if st := incidentOf(t, s, "INC-4").State; st != incident.Resolved {
			t.Fatalf("storm INC-4 is %s after its one child resolved, want resolved", st)
		}
		clock.Add(time.Minute)
		if r := fire(t, svc, incident.AlertFiring, "svc04", "record"); r.Incident != "INC-5" || r.Outcome != incident.OutcomeReopened {
			t.Fatalf("svc04 below its war-room rule: %s on %q, want INC-5 reopened", r.Outcome, r.Incident)
		}
		clock.Add(time.Minute)
		r := fire(t, svc, incident.AlertFiring, "svc04", "")
		inc := incidentOf(t, s, "INC-5")
		storm := &incident.Incident{}
		if inc.Storm != "" {
			storm = incidentOf(t, s, inc.Storm)
		}
		if !inc.WarRoom && !storm.State.Open() {
			t.Errorf("INC-5 breaching (%s, storm %q) has no war room: its own %v, its storm %s %s",
				r.Outcome, r.Storm, inc.WarRoom, inc.Storm, storm.State)
		}
	})
}

// A recorded incident that breaches during a storm joins it: the storm
// lists it by the rule that made it a war room, as escalating would have
// named a war room of its own (rule, severity, threshold); it keeps the
// recording rule's.
func TestStormChildEscalatedTakesTheBreachingRule(t *testing.T) {
	onLevelStores(t, func(t *testing.T, _ *clocktest.Clock, s *sqlstore.Store, svc *incident.Service) {
		if r := fire(t, svc, incident.AlertFiring, "quiet", "record"); r.Incident != "INC-1" || r.Outcome != incident.OutcomeRecorded {
			t.Fatalf("quiet: %s on %q, want INC-1 recorded", r.Outcome, r.Incident)
		}
		for _, name := range services(4) { // INC-2..4 war rooms, INC-5 the storm, INC-6 its child
			fire(t, svc, incident.AlertFiring, name, "")
		}
		if r := fire(t, svc, incident.AlertFiring, "quiet", ""); r.Storm != "INC-5" {
			t.Fatalf("quiet breaching: %s in storm %q, want a child of INC-5", r.Outcome, r.Storm)
		}
		inc := incidentOf(t, s, "INC-1")
		if inc.Rule != "page" || inc.Severity != incident.Critical || inc.Threshold == nil || *inc.Threshold != 0.05 {
			t.Errorf("INC-1 in the storm: rule %q, severity %q, threshold %v; want the breaching rule's (page, critical, 0.05)",
				inc.Rule, inc.Severity, deref(inc.Threshold))
		}
	})
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// Two replicas on one PostgreSQL: while a responder resolves the storm on
// one (and storm.settle runs there), the other takes new breaches,
// children's recoveries and their refiring. Once the settles have run,
// no open incident may be the child of a resolved storm, and at most one
// storm is open.
func TestReviewStormSettleRacesJoinsOnTwoReplicas(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		if b.Driver != sqlstore.Postgres {
			continue
		}
		t.Run(b.Driver, func(t *testing.T) {
			dsn := b.DSN(t)
			clock := clocktest.New(time.Now().UTC().Truncate(time.Second))
			a, c := b.Open(t, dsn), b.Open(t, dsn)
			sa := incident.NewService(a, warRoomRules{}, stormOptions(clock))
			sc := incident.NewService(c, warRoomRules{}, stormOptions(clock))
			breach(t, sa, incident.AlertFiring, services(10)...) // INC-4 the storm, 7 children
			var wg sync.WaitGroup
			wg.Go(func() {
				if _, err := sa.Resolve(context.Background(), "INC-4", "U1", "over"); err != nil {
					t.Errorf("resolve the storm: %v", err)
				}
				for range 5 {
					settle(t, sa, "INC-4")
				}
			})
			for i := range 20 {
				wg.Go(func() {
					name := fmt.Sprintf("late%02d", i)
					breach(t, sc, incident.AlertFiring, name)
					breach(t, sa, incident.AlertResolved, name)
					breach(t, sc, incident.AlertFiring, name)
				})
			}
			for _, name := range services(10)[3:] {
				wg.Go(func() {
					breach(t, sc, incident.AlertResolved, name)
					breach(t, sa, incident.AlertFiring, name)
				})
			}
			wg.Wait()
			all, err := a.Incidents(context.Background(), incident.Filter{All: true, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // as the worker would: every storm settles
				for _, inc := range all {
					if inc.IsStorm() {
						settle(t, sa, inc.ID)
					}
				}
			}
			all, err = a.Incidents(context.Background(), incident.Filter{All: true, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			state := map[string]incident.State{}
			open := 0
			for _, inc := range all {
				state[inc.ID] = inc.State
				if inc.IsStorm() && inc.State.Open() {
					open++
				}
			}
			if open > 1 {
				t.Errorf("%d storms open at once", open)
			}
			for _, inc := range all {
				if inc.Storm != "" && inc.State.Open() && !state[inc.Storm].Open() {
					t.Errorf("%s (%s) is open, the child of %s, which is %s: no war room shows it", inc.ID, inc.Service, inc.Storm, state[inc.Storm])
				}
			}
		})
	}
}
