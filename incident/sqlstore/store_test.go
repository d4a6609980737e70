package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/faultproxy"
	"github.com/warroom/warroom/internal/pgtest"
	"github.com/warroom/warroom/internal/storetest"
)

// The same suite runs on SQLite and PostgreSQL (see internal/pgtest for
// how PostgreSQL is found, and when its absence fails the run).

var backends = append(slices.Clip(storetest.Backends), storetest.Uncached...)

// forEachStore runs fn on each driver, with the store's memories on and
// off.
func forEachStore(t *testing.T, fn func(t *testing.T, open func() *sqlstore.Store)) {
	for _, b := range backends {
		t.Run(b.Name(), func(t *testing.T) {
			dsn := b.DSN(t)
			fn(t, func() *sqlstore.Store { return b.Open(t, dsn) })
		})
	}
}

// testRules decides like the built-in default: the "value" label is the
// number, above 0.008 opens a war room; the key is the service.
type testRules struct{}

func (testRules) Evaluate(alerts []incident.Alert) []incident.Decision {
	out := make([]incident.Decision, len(alerts))
	for i, a := range alerts {
		d := incident.Decision{Action: incident.ActionRecord, Rule: "r", Key: "r/service=" + a.Labels["service"],
			Service: a.Labels["service"], Env: "prod", Severity: incident.Critical}
		if v, err := strconv.ParseFloat(a.Annotations["value"], 64); err == nil {
			d.Value = &v
			if v > 0.008 {
				d.Action = incident.ActionWarRoom
			}
		}
		if a.Status == incident.AlertResolved {
			d.Action = incident.ActionResolve
		}
		out[i] = d
	}
	return out
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 26, 4, 24, 38, 0, time.UTC)} }

func alert(service, fp string, value string, status incident.AlertStatus) incident.Alert {
	return incident.Alert{Fingerprint: fp, Status: status, Source: incident.SourceAlertmanager,
		Labels:      map[string]string{"alertname": "HighErrorRate", "service": service},
		Annotations: map[string]string{"value": value},
		StartsAt:    time.Date(2026, 11, 26, 4, 24, 38, 0, time.UTC)}
}

func delivery(alerts ...incident.Alert) *incident.Delivery {
	return &incident.Delivery{Source: incident.SourceAlertmanager, Receiver: "warroom", Status: "firing", ReceivedAt: time.Now(), Alerts: alerts}
}

func mustIngest(t *testing.T, svc *incident.Service, d *incident.Delivery) *incident.IngestResult {
	t.Helper()
	res, err := svc.Ingest(context.Background(), d)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return res
}

func outcomes(res *incident.IngestResult) string {
	s := ""
	for _, a := range res.Alerts {
		s += string(a.Outcome) + ":" + a.Incident + " "
	}
	return s
}

func jobKeys(t *testing.T, s *sqlstore.Store, id string) []string {
	t.Helper()
	jobs, err := s.Jobs(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, j := range jobs {
		keys = append(keys, j.Key)
	}
	return keys
}

func TestIncidentLifecycle(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		clk := newClock()
		svc := incident.NewService(s, testRules{}, incident.Options{Now: clk.Now, ArchiveAfter: 24 * time.Hour})

		res := mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))
		if got, want := outcomes(res), "opened:INC-1 "; got != want {
			t.Fatalf("first delivery: %q, want %q", got, want)
		}
		// A second group for the same service attaches; a repeat changes nothing.
		res = mustIngest(t, svc, delivery(alert("pay", "p0", "0.034", incident.AlertFiring), alert("pay", "p1", "0.035", incident.AlertFiring)))
		if got, want := outcomes(res), "attached:INC-1 attached:INC-1 "; got != want {
			t.Fatalf("second group: %q, want %q", got, want)
		}
		before, _ := s.Timeline(ctx, "INC-1")
		jobsBefore := jobKeys(t, s, "INC-1")
		res = mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))
		if got, want := outcomes(res), "unchanged:INC-1 "; got != want {
			t.Fatalf("repeat: %q, want %q", got, want)
		}
		after, _ := s.Timeline(ctx, "INC-1")
		if len(after) != len(before) || len(jobKeys(t, s, "INC-1")) != len(jobsBefore) {
			t.Fatalf("repeat delivery changed the timeline or jobs: %d→%d events", len(before), len(after))
		}
		inc, err := s.Incident(ctx, "INC-1")
		if err != nil {
			t.Fatal(err)
		}
		if !inc.WarRoom || inc.State != incident.Triggered || *inc.PeakValue != 0.035 || inc.SlackChannel != "inc-20261126-pay-1" {
			t.Fatalf("incident after attach: %+v", inc)
		}
		wantOpen := []string{"slack.create_channel:INC-1", "jira.create_issue:INC-1", "correlate.gather:INC-1"}
		for i, k := range wantOpen {
			if jobsBefore[i] != k {
				t.Fatalf("opening jobs %v, want prefix %v", jobsBefore, wantOpen)
			}
		}

		// Resolving some alerts keeps it open; the last one resolves it.
		res = mustIngest(t, svc, delivery(alert("pay", "a1", "0.008", incident.AlertResolved)))
		if len(res.ResolvedIncidents) != 0 {
			t.Fatalf("resolved with alerts still firing: %+v", res)
		}
		res = mustIngest(t, svc, delivery(alert("pay", "p0", "0.008", incident.AlertResolved), alert("pay", "p1", "0.008", incident.AlertResolved)))
		if len(res.ResolvedIncidents) != 1 || res.ResolvedIncidents[0] != "INC-1" {
			t.Fatalf("last resolve: %+v", res)
		}
		inc, _ = s.Incident(ctx, "INC-1")
		if inc.State != incident.Resolved || inc.ResolvedAt == nil {
			t.Fatalf("state %s after all alerts resolved", inc.State)
		}
		keys := jobKeys(t, s, "INC-1")
		var archive, transition bool
		for _, k := range keys {
			archive = archive || len(k) > 13 && k[:13] == "slack.archive"
			transition = transition || len(k) > 16 && k[:16] == "jira.transition:"
		}
		if !archive || !transition {
			t.Fatalf("resolve did not schedule archive and transition: %v", keys)
		}

		// Fires again within the reopen window: the same incident reopens.
		clk.Add(30 * time.Minute)
		res = mustIngest(t, svc, delivery(alert("pay", "a1", "0.02", incident.AlertFiring)))
		if got, want := outcomes(res), "reopened:INC-1 "; got != want {
			t.Fatalf("refire in window: %q, want %q", got, want)
		}
		// Resolve by hand, then fire after the window: a new incident.
		if _, err := svc.Resolve(ctx, "INC-1", "U123", "rolled back"); err != nil {
			t.Fatal(err)
		}
		clk.Add(2 * time.Hour)
		res = mustIngest(t, svc, delivery(alert("pay", "a1", "0.02", incident.AlertFiring)))
		if got, want := outcomes(res), "opened:INC-2 "; got != want {
			t.Fatalf("refire after window: %q, want %q", got, want)
		}
		inc, _ = s.Incident(ctx, "INC-2")
		if inc.SlackChannel != "inc-20261126-pay-2" {
			t.Fatalf("second war room of the day named %q", inc.SlackChannel)
		}
	})
}

func TestRecordThenEscalate(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		res := mustIngest(t, svc, delivery(alert("checkout", "c1", "0.0018", incident.AlertFiring)))
		if got, want := outcomes(res), "recorded:INC-1 "; got != want {
			t.Fatalf("below threshold: %q, want %q", got, want)
		}
		if keys := jobKeys(t, s, "INC-1"); len(keys) != 0 {
			t.Fatalf("a recorded incident enqueued jobs: %v", keys)
		}
		list, _ := s.Incidents(ctx, incident.Filter{})
		all, _ := s.Incidents(ctx, incident.Filter{All: true})
		if len(list) != 0 || len(all) != 1 {
			t.Fatalf("list shows %d war rooms (want 0) and %d in all (want 1)", len(list), len(all))
		}
		res = mustIngest(t, svc, delivery(alert("checkout", "g1", "0.0123", incident.AlertFiring)))
		if got, want := outcomes(res), "escalated:INC-1 "; got != want {
			t.Fatalf("above threshold: %q, want %q", got, want)
		}
		inc, _ := s.Incident(ctx, "INC-1")
		if !inc.WarRoom || len(jobKeys(t, s, "INC-1")) == 0 {
			t.Fatalf("escalated incident: war_room=%v jobs=%v", inc.WarRoom, jobKeys(t, s, "INC-1"))
		}
	})
}

func TestResponderActions(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))

		if _, err := svc.Mitigate(ctx, "INC-1", "U1"); err != nil {
			t.Fatalf("mitigate from triggered: %v", err)
		}
		if _, err := svc.Ack(ctx, "INC-1", "U1"); incident.ErrorCode(err) != incident.ECONFLICT {
			t.Fatalf("ack after mitigate: %v, want conflict", err)
		}
		if _, err := svc.Ack(ctx, "INC-9", "U1"); incident.ErrorCode(err) != incident.ENOTFOUND {
			t.Fatalf("ack unknown: %v, want not_found", err)
		}
		if _, err := svc.Note(ctx, "INC-1", "U1", "db failover started", false); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Note(ctx, "INC-1", "U1", "", false); incident.ErrorCode(err) != incident.EINVALID {
			t.Fatalf("empty note: %v", err)
		}
		if _, err := svc.Resolve(ctx, "INC-1", "cli:alice", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Resolve(ctx, "INC-1", "cli:alice", ""); incident.ErrorCode(err) != incident.ECONFLICT {
			t.Fatalf("resolve twice: %v", err)
		}
		tl, _ := s.Timeline(ctx, "INC-1")
		var kinds []incident.EventKind
		for _, e := range tl {
			kinds = append(kinds, e.Kind)
		}
		want := []incident.EventKind{incident.EventOpened, incident.EventMitigated, incident.EventNote, incident.EventResolved}
		if fmt.Sprint(kinds) != fmt.Sprint(want) {
			t.Fatalf("timeline %v, want %v", kinds, want)
		}
		if tl[1].Actor != "U1" || tl[3].Actor != "cli:alice" {
			t.Fatalf("actors not kept: %+v", tl)
		}
		// What a step reads of it: the events after one, in timeline
		// order; another incident's events never.
		mustIngest(t, svc, delivery(alert("other", "b1", "0.031", incident.AlertFiring)))
		for since, want := range map[int64][]incident.Event{tl[1].ID: tl[2:], tl[3].ID: {}, -1: tl, 0: tl} {
			got, err := s.TimelineSince(ctx, "INC-1", since)
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("since %d: %v %v, want %v", since, got, err, want)
			}
		}
	})
}

// Roles, declared war rooms, requests and the results of Slack steps.
func TestWarRoomByHand(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})

		inc, err := svc.Declare(ctx, "checkout", "prod", "  carts  empty\nafter deploy ", "U1")
		if err != nil {
			t.Fatal(err)
		}
		if inc.Title != "carts empty after deploy" || !inc.WarRoom || inc.Commander != "U1" || inc.Key != incident.DeclaredKey("checkout") {
			t.Fatalf("declared %+v", inc)
		}
		if keys := jobKeys(t, s, inc.ID); len(keys) != 3 {
			t.Fatalf("declared war room jobs %v, want the 3 opening steps", keys)
		}
		if _, err := svc.Declare(ctx, "checkout", "prod", "again", "U2"); incident.ErrorCode(err) != incident.ECONFLICT {
			t.Fatalf("second declare for an open one: %v, want conflict", err)
		}
		for _, bad := range [][2]string{{"", "x"}, {"two words", "x"}, {"svc", "  "}} {
			if _, err := svc.Declare(ctx, bad[0], "", bad[1], "U1"); incident.ErrorCode(err) != incident.EINVALID {
				t.Errorf("declare %q %q: %v, want invalid", bad[0], bad[1], err)
			}
		}

		if _, err := svc.Assign(ctx, inc.ID, "U1", "U7", incident.RoleComms); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Assign(ctx, inc.ID, "U1", "U7", incident.RoleComms); incident.ErrorCode(err) != incident.ECONFLICT {
			t.Fatalf("same assignment twice: %v", err)
		}
		got, err := svc.Assign(ctx, inc.ID, "U7", "U8", incident.RoleCommander)
		if err != nil || got.Commander != "U8" || got.Comms != "U7" {
			t.Fatalf("assign commander: %+v %v", got, err)
		}
		if _, err := incident.ParseRole("janitor"); incident.ErrorCode(err) != incident.EINVALID {
			t.Fatalf("unknown role: %v", err)
		}
		if _, err := svc.Request(ctx, inc.ID, "U8", incident.EventRollbackRequested, "roll back requested"); err != nil {
			t.Fatal(err)
		}

		renamed, err := svc.RenameChannel(ctx, inc.ID, "taken")
		if err != nil || renamed.SlackChannel == inc.SlackChannel || !strings.HasSuffix(renamed.SlackChannel, "-2") {
			t.Fatalf("rename %q → %+v %v", inc.SlackChannel, renamed, err)
		}
		if _, err := svc.RecordStep(ctx, inc.ID, func(i *incident.Incident) (string, error) {
			i.SlackChannelID = "C0123456"
			return "war room created", nil
		}); err != nil {
			t.Fatal(err)
		}
		byChan, err := s.IncidentByChannel(ctx, "C0123456")
		if err != nil || byChan.ID != inc.ID || byChan.Comms != "U7" {
			t.Fatalf("by channel: %+v %v", byChan, err)
		}
		if _, err := s.IncidentByChannel(ctx, "C999"); incident.ErrorCode(err) != incident.ENOTFOUND {
			t.Fatalf("unknown channel: %v", err)
		}
		if _, err := s.IncidentByChannel(ctx, ""); incident.ErrorCode(err) != incident.ENOTFOUND {
			t.Fatalf("empty channel must match nothing: %v", err)
		}
		failing := errors.New("boom")
		if _, err := svc.RecordStep(ctx, inc.ID, func(i *incident.Incident) (string, error) {
			i.SlackChannelID = "C-lost"
			return "", failing
		}); !errors.Is(err, failing) {
			t.Fatalf("failing step: %v", err)
		}

		tl, _ := s.Timeline(ctx, inc.ID)
		var kinds []string
		for _, e := range tl {
			kinds = append(kinds, string(e.Kind)+":"+e.Actor)
		}
		want := "[declared:U1 assigned:U1 assigned:U7 rollback_requested:U8 step:warroom step:warroom]"
		if fmt.Sprint(kinds) != want {
			t.Fatalf("timeline %v, want %s", kinds, want)
		}
		if after, _ := s.Incident(ctx, inc.ID); after.SlackChannelID != "C0123456" {
			t.Fatalf("failed step changed the incident: %+v", after)
		}
	})
}

// Concurrent writers share commits; every one that returned nil is stored,
// and one failing writer does not undo its batch mates.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		var wg sync.WaitGroup
		errs := make(chan error, 400)
		for i := range 200 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, err := svc.Ingest(ctx, delivery(alert(fmt.Sprintf("svc%d", i%20), fmt.Sprintf("fp%d", i), "0.05", incident.AlertFiring)))
				errs <- err
			}()
			go func() {
				defer wg.Done()
				err := s.Update(ctx, "", func(tx incident.Tx) error {
					if _, err := tx.NextSeq("doomed"); err != nil {
						return err
					}
					return errors.New("boom")
				})
				if err == nil || err.Error() != "boom" {
					errs <- fmt.Errorf("failing writer got %w", err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		all, _ := s.Incidents(ctx, incident.Filter{All: true})
		if len(all) != 20 {
			t.Fatalf("%d incidents for 20 services", len(all))
		}
		total := 0
		for _, inc := range all {
			alerts, _ := s.Alerts(ctx, inc.ID, 0)
			total += len(alerts)
		}
		if total != 200 {
			t.Fatalf("%d alerts stored, want 200", total)
		}
		var seq int64
		_ = s.Update(ctx, "", func(tx incident.Tx) error { var err error; seq, err = tx.NextSeq("doomed"); return err })
		if seq != 1 {
			t.Fatalf("failed writers leaked writes: counter at %d", seq)
		}
	})
}

// Several incidents changed in one transaction are written together (one
// statement on PostgreSQL): every mutable column must come back as written,
// each on its own incident.
func TestIncidentsWrittenTogether(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		var ids []string
		for _, name := range []string{"pay", "search", "checkout"} {
			res := mustIngest(t, svc, delivery(alert(name, name+"-1", "0.05", incident.AlertFiring)))
			ids = append(ids, res.Alerts[0].Incident)
		}
		at := time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)
		want := map[string]incident.Incident{}
		err := s.Update(ctx, "", func(tx incident.Tx) error {
			for i, id := range ids {
				inc, err := tx.LockIncident(id)
				if err != nil {
					return err
				}
				ack, v, peak := at.Add(time.Duration(i)*time.Minute), 0.01*float64(i+1), 0.2*float64(i+1)
				inc.Rule, inc.Severity, inc.State, inc.WarRoom = fmt.Sprintf("rule-%d", i), incident.Warning, incident.Acknowledged, i%2 == 0
				inc.Title, inc.Value, inc.PeakValue, inc.Threshold = fmt.Sprintf("title %d", i), &v, &peak, nil
				inc.AcknowledgedAt, inc.UpdatedAt, inc.Commander = &ack, ack, fmt.Sprintf("U0%d", i)
				inc.SlackChannelID, inc.SlackChannel, inc.SummaryTS = fmt.Sprintf("C0%d", i), fmt.Sprintf("inc-%d", i), fmt.Sprintf("17.%d", i)
				inc.JiraKey, inc.SuspectDeploy, inc.TruncatedAlerts, inc.LastError = fmt.Sprintf("OPS-%d", i), fmt.Sprintf("sha%d", i), i*7, fmt.Sprintf("err %d", i)
				inc.Comms, inc.Scribe = fmt.Sprintf("U1%d", i), fmt.Sprintf("U2%d", i)
				inc.AnnounceChannelID, inc.AnnounceTS, inc.ReportedEvent = "C9", fmt.Sprintf("18.%d", i), int64(40+i)
				inc.Evidence = &incident.Evidence{Round: i + 1, GatheredAt: at, Rollback: fmt.Sprintf("argocd app rollback svc%d", i),
					Deploys: []incident.Deploy{{Service: "pay", SHA: fmt.Sprintf("abc%d", i), FinishedAt: at}}, Problems: []string{"Jaeger: timeout after 3s"}}
				if err := tx.UpdateIncident(inc); err != nil {
					return err
				}
				want[id] = *inc
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			got, err := s.Incident(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if w := want[id]; !reflect.DeepEqual(*got, w) {
				t.Errorf("%s read back\n%+v\nwant\n%+v", id, *got, w)
			}
		}
	})
}

// Two stores on one database stand for two replicas behind a load
// balancer: the same alert delivered to both at once yields one incident
// and one set of jobs.
func TestReplicasOneIncident(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Fresh(t)
	ctx := context.Background()
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
		svcs = append(svcs, incident.NewService(s, testRules{}, incident.Options{}))
	}
	var wg sync.WaitGroup
	services := []string{"pay", "search", "checkout"}
	for i := range 120 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := services[i%3]
			if _, err := svcs[i%2].Ingest(ctx, delivery(alert(svc, svc+"-a1", "0.031", incident.AlertFiring))); err != nil {
				t.Errorf("ingest: %v", err)
			}
		}()
	}
	wg.Wait()
	all, _ := first.Incidents(ctx, incident.Filter{All: true})
	if len(all) != 3 {
		t.Fatalf("%d incidents from duplicate deliveries of 3 alerts to two replicas, want 3", len(all))
	}
	for _, inc := range all {
		if keys := jobKeys(t, first, inc.ID); len(keys) != 3 {
			t.Fatalf("%s jobs %v, want the 3 opening steps once", inc.ID, keys)
		}
	}

	// Resolved everywhere, then fired again on both replicas at once:
	// each incident reopens once, and none is opened twice.
	for _, svc := range services {
		if _, err := svcs[0].Ingest(ctx, delivery(alert(svc, svc+"-a1", "0.002", incident.AlertResolved))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc := services[i%3]
			a := alert(svc, svc+"-a1", "0.05", incident.AlertFiring)
			a.StartsAt = a.StartsAt.Add(time.Hour)
			if _, err := svcs[i%2].Ingest(ctx, delivery(a)); err != nil {
				t.Errorf("refire: %v", err)
			}
		}()
	}
	wg.Wait()
	all, _ = first.Incidents(ctx, incident.Filter{All: true})
	if len(all) != 3 {
		t.Fatalf("%d incidents after the refire, want the 3 reopened", len(all))
	}
	for _, inc := range all {
		tl, _ := first.Timeline(ctx, inc.ID)
		reopened := 0
		for _, e := range tl {
			if e.Kind == incident.EventReopened {
				reopened++
			}
		}
		if inc.State != incident.Triggered || reopened != 1 {
			t.Errorf("%s: state %s, reopened %d times, want triggered once", inc.ID, inc.State, reopened)
		}
	}
}

// Each replica remembers the fingerprints of the incidents it writes, so
// that a new alert costs no read. An alert that another replica attached
// in between must still be known: a repeat is "unchanged" on either one,
// and the timeline says "attached" once per alert.
func TestReplicasFingerprints(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Fresh(t)
	ctx := context.Background()
	var svcs []*incident.Service
	var stores []*sqlstore.Store
	for range 2 {
		s, err := sqlstore.Open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
		svcs = append(svcs, incident.NewService(s, testRules{}, incident.Options{}))
	}
	a, b := svcs[0], svcs[1]
	steps := []struct {
		svc  *incident.Service
		fp   string
		want incident.Outcome
	}{
		{a, "fp-1", incident.OutcomeOpened},    // replica A learns {fp-1}
		{a, "fp-2", incident.OutcomeAttached},  // A: {fp-1, fp-2}
		{b, "fp-3", incident.OutcomeAttached},  // B attaches fp-3 behind A's back
		{a, "fp-3", incident.OutcomeUnchanged}, // A must not take fp-3 for new
		{b, "fp-2", incident.OutcomeUnchanged},
		{a, "fp-4", incident.OutcomeAttached},
		{b, "fp-4", incident.OutcomeUnchanged},
		{a, "fp-4", incident.OutcomeUnchanged},
	}
	for i, st := range steps {
		res := mustIngest(t, st.svc, delivery(alert("pay", st.fp, "0.031", incident.AlertFiring)))
		if got := res.Alerts[0].Outcome; got != st.want {
			t.Fatalf("step %d (%s): outcome %s, want %s", i, st.fp, got, st.want)
		}
	}
	all, _ := stores[0].Incidents(ctx, incident.Filter{All: true})
	if len(all) != 1 {
		t.Fatalf("%d incidents, want 1", len(all))
	}
	tl, _ := stores[0].Timeline(ctx, all[0].ID)
	attached := 0
	for _, e := range tl {
		if e.Kind == incident.EventAlertAttached {
			attached++
		}
	}
	if attached != 3 {
		t.Errorf("%d attach events, want 3 (fp-2, fp-3, fp-4): %+v", attached, tl)
	}
}

func TestJobs(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))
		now := time.Now()
		claim := func(n int) []incident.Job {
			var jobs []incident.Job
			if err := s.Update(ctx, "", func(tx incident.Tx) error {
				var err error
				jobs, err = tx.ClaimJobs(n, now, time.Minute)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return jobs
		}
		finish := func(j incident.Job, o incident.JobOutcome, at time.Time, next []incident.Job) {
			if err := s.Update(ctx, "", func(tx incident.Tx) error { return tx.FinishJob(j.Lease(), o, at, "err", next) }); err != nil {
				t.Fatal(err)
			}
		}
		jobs := claim(10)
		if len(jobs) != 3 || jobs[0].Attempt != 1 {
			t.Fatalf("claimed %+v", jobs)
		}
		if again := claim(10); len(again) != 0 {
			t.Fatalf("claimed running jobs again: %+v", again)
		}
		finish(jobs[0], incident.JobDone, now, incident.Successors(jobs[0], now))
		finish(jobs[1], incident.JobSnooze, now.Add(2*time.Second), nil)
		finish(jobs[2], incident.JobRetry, now.Add(time.Hour), nil)
		// Enqueueing a done step again is a no-op: the key is unique.
		before, _ := s.Jobs(ctx, "INC-1")
		if err := s.Update(ctx, "", func(tx incident.Tx) error {
			_, err := tx.Enqueue(incident.NewJob(incident.JobSlackCreateChannel, "INC-1", incident.JobArgs{}, now))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if after, _ := s.Jobs(ctx, "INC-1"); len(after) != len(before) {
			t.Fatalf("enqueueing a step again added a job: %d → %d", len(before), len(after))
		}
		next := claim(10)
		if len(next) != 4 {
			t.Fatalf("after create_channel: %d due jobs, want its 4 successors", len(next))
		}
		now = now.Add(3 * time.Second)
		snoozed := claim(10)
		if len(snoozed) != 1 || snoozed[0].Kind != incident.JobJiraCreateIssue || snoozed[0].Attempt != 1 {
			t.Fatalf("snoozed job: %+v (a snooze must not spend an attempt)", snoozed)
		}
		statuses, _ := s.Jobs(ctx, "INC-1")
		for _, st := range statuses {
			if st.Kind == incident.JobCorrelateGather && (st.State != incident.JobPending || st.LastError != "err") {
				t.Fatalf("retried job: %+v", st)
			}
		}
	})
}

func TestOpenFailsClearly(t *testing.T) {
	t.Parallel()
	_, err := sqlstore.Open(context.Background(), "mysql", "x", sqlstore.Options{})
	if err == nil || err.Error() != `sqlstore: unknown driver "mysql" (want sqlite or postgres)` {
		t.Fatalf("unknown driver: %v", err)
	}
	_, err = sqlstore.Open(context.Background(), sqlstore.Postgres, "postgres://postgres:hunter2@127.0.0.1:1/x?connect_timeout=1", sqlstore.Options{})
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	if containsSecret(err.Error(), "hunter2") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

func containsSecret(s, secret string) bool {
	for i := 0; i+len(secret) <= len(s); i++ {
		if s[i:i+len(secret)] == secret {
			return true
		}
	}
	return false
}

// A coalesced step waits once for any number of changes; a change made
// after its run was claimed queues the next run.
func TestCoalescedUpdates(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		mustIngest(t, svc, delivery(alert("pay", "a0", "0.031", incident.AlertFiring)))
		for i := range 20 {
			mustIngest(t, svc, delivery(alert("pay", fmt.Sprintf("a%d", i+1), "0.031", incident.AlertFiring)))
		}
		pendingUpdates := func() (n int) {
			jobs, err := s.Jobs(ctx, "INC-1")
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range jobs {
				if j.Kind == incident.JobSlackUpdate && j.State == incident.JobPending {
					n++
				}
			}
			return n
		}
		if n := pendingUpdates(); n != 1 {
			t.Fatalf("%d pending summary updates after 20 changes, want 1", n)
		}
		var claimed []incident.Job
		if err := s.Update(ctx, "", func(tx incident.Tx) error {
			var err error
			claimed, err = tx.ClaimJobs(100, time.Now().Add(time.Minute), time.Minute)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var update *incident.Job
		for i := range claimed {
			if claimed[i].Kind == incident.JobSlackUpdate {
				update = &claimed[i]
			}
		}
		if update == nil || update.Key != fmt.Sprintf("slack.update:INC-1#%d", update.ID) {
			t.Fatalf("claimed update %+v, want its key renamed", update)
		}
		if n := pendingUpdates(); n != 0 {
			t.Fatalf("%d pending updates right after the claim", n)
		}
		mustIngest(t, svc, delivery(alert("pay", "late", "0.031", incident.AlertFiring)))
		if n := pendingUpdates(); n != 1 {
			t.Fatalf("a change after the claim queued %d updates, want 1", n)
		}
	})
}

// A writer that changes an incident and then fails leaves no trace, not
// even in the writer's caches, whether it ran alone or in a batch.
func TestFailedWriterLeavesNoTrace(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%5 != 0 {
					// Not mustIngest: t.Fatal belongs to the test's goroutine.
					if _, err := svc.Ingest(ctx, delivery(alert("other", fmt.Sprintf("o%d", i), "0.031", incident.AlertFiring))); err != nil {
						t.Errorf("ingest o%d: %v", i, err)
					}
					return
				}
				err := s.Update(ctx, "r/service=pay", func(tx incident.Tx) error {
					inc, err := tx.LockOpenIncident("r/service=pay")
					if err != nil || inc == nil {
						return fmt.Errorf("open incident: %v %w", inc, err)
					}
					inc.State, inc.Title = incident.Acknowledged, "poisoned"
					if err := tx.UpdateIncident(inc); err != nil {
						return err
					}
					ghost := alert("pay", "ghost", "0.031", incident.AlertFiring)
					if _, err := tx.InsertAlert(inc.ID, &ghost); err != nil {
						return err
					}
					if _, err := tx.Enqueue(incident.NewJob(incident.JobSlackUpdate, "INC-1", incident.JobArgs{}, time.Now())); err != nil {
						return err
					}
					return errors.New("changed my mind")
				})
				if err == nil || err.Error() != "changed my mind" {
					t.Errorf("failing writer: %v", err)
				}
			}()
		}
		wg.Wait()
		if err := s.Update(ctx, "r/service=pay", func(tx incident.Tx) error {
			inc, err := tx.LockOpenIncident("r/service=pay")
			if err != nil {
				return err
			}
			if inc.State != incident.Triggered || inc.Title == "poisoned" {
				return fmt.Errorf("rolled-back change visible: %+v", inc)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		// The rolled-back alert was never stored: when it really comes, it is new.
		res := mustIngest(t, svc, delivery(alert("pay", "ghost", "0.031", incident.AlertFiring)))
		if got := outcomes(res); got != "attached:INC-1 " {
			t.Fatalf("ghost alert after the rollback: %q, want attached", got)
		}
		// The rolled-back enqueue must not make a real change skip its update.
		mustIngest(t, svc, delivery(alert("pay", "a2", "0.031", incident.AlertFiring)))
		jobs, _ := s.Jobs(ctx, "INC-1")
		var updates int
		for _, j := range jobs {
			if j.Kind == incident.JobSlackUpdate {
				updates++
			}
		}
		if updates != 1 {
			t.Fatalf("%d summary updates queued after real changes, want 1", updates)
		}
	})
}

// SQLite is one process's file: a second warroom on it fails at start.
func TestSQLiteOneProcess(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "w.db")
	s, err := sqlstore.Open(context.Background(), sqlstore.SQLite, path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlstore.Open(context.Background(), sqlstore.SQLite, path, sqlstore.Options{})
	if err == nil || !strings.Contains(err.Error(), "in use by another warroom process") {
		t.Fatalf("second open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := sqlstore.Open(context.Background(), sqlstore.SQLite, "file:"+path+"?cache=private", sqlstore.Options{})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
}

// The same alert delivered many times at once (Alertmanager in HA mode)
// lands in one batch: stored once, attached once, the rest unchanged.
func TestDuplicatesInOneBatch(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		mustIngest(t, svc, delivery(alert("pay", "a0", "0.031", incident.AlertFiring)))
		var wg sync.WaitGroup
		var mu sync.Mutex
		count := map[incident.Outcome]int{}
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := svc.Ingest(ctx, delivery(alert("pay", "dup", "0.04", incident.AlertFiring)))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				count[res.Alerts[0].Outcome]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if count[incident.OutcomeAttached] != 1 || count[incident.OutcomeUnchanged] != 29 {
			t.Fatalf("outcomes %v, want 1 attached and 29 unchanged", count)
		}
		alerts, _ := s.Alerts(ctx, "INC-1", 0)
		tl, _ := s.Timeline(ctx, "INC-1")
		if len(alerts) != 2 || len(tl) != 2 {
			t.Fatalf("%d alerts and %d events, want 2 and 2 (opened, attached)", len(alerts), len(tl))
		}
		inc, _ := s.Incident(ctx, "INC-1")
		if inc.PeakValue == nil || *inc.PeakValue != 0.04 {
			t.Fatalf("peak %v, want 0.04", inc.PeakValue)
		}
	})
}

// A deploy recorded again is the same deploy: of the same service, env
// and SHA within ten minutes (a CI job that retries its report, each
// retry finishing "now"), or with the same idempotency key.
func TestDeployRecordedOnce(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		clk := newClock()
		svc := incident.NewService(s, testRules{}, incident.Options{Now: clk.Now})
		at := clk.Now().Add(-time.Hour)
		first := incident.Deploy{Service: "pay", Env: "prod", SHA: "9f8e7d6", Author: "alice", FinishedAt: at}
		if added, err := svc.RecordDeploy(ctx, &first); err != nil || !added {
			t.Fatalf("first: added %v err %v", added, err)
		}
		for _, tc := range []struct {
			name  string
			d     incident.Deploy
			added bool
		}{
			{"retried 9m later", incident.Deploy{Service: "pay", Env: "prod", SHA: "9f8e7d6", FinishedAt: at.Add(9 * time.Minute)}, false},
			{"reported 10m early", incident.Deploy{Service: "pay", Env: "prod", SHA: "9f8e7d6", FinishedAt: at.Add(-10 * time.Minute)}, false},
			{"another env", incident.Deploy{Service: "pay", Env: "staging", SHA: "9f8e7d6", FinishedAt: at}, true},
			{"another service", incident.Deploy{Service: "search", Env: "prod", SHA: "9f8e7d6", FinishedAt: at}, true},
			{"deployed again 11m later", incident.Deploy{Service: "pay", Env: "prod", SHA: "9f8e7d6", FinishedAt: at.Add(11 * time.Minute)}, true},
		} {
			d := tc.d
			added, err := svc.RecordDeploy(ctx, &d)
			if err != nil || added != tc.added {
				t.Errorf("%s: added %v err %v, want added %v", tc.name, added, err, tc.added)
			}
			if !tc.added && (d.ID != first.ID || !d.FinishedAt.Equal(at) || d.Author != "alice") {
				t.Errorf("%s: answered %+v, want the recorded deploy %+v", tc.name, d, first)
			}
		}

		keyed := incident.Deploy{Service: "pay", Env: "prod", SHA: "abcdef1", FinishedAt: at.Add(30 * time.Minute), IdempotencyKey: "ci-run-1842"}
		if added, err := svc.RecordDeploy(ctx, &keyed); err != nil || !added {
			t.Fatalf("keyed: added %v err %v", added, err)
		}
		// The same key is the same deploy, whatever else the retry says.
		again := incident.Deploy{Service: "pay", Env: "prod", SHA: "abcdef1", FinishedAt: at.Add(50 * time.Minute), IdempotencyKey: "ci-run-1842"}
		if added, err := svc.RecordDeploy(ctx, &again); err != nil || added || again.ID != keyed.ID || !again.FinishedAt.Equal(keyed.FinishedAt) {
			t.Fatalf("the same key: added %v err %v, answered %+v", added, err, again)
		}
		all, err := s.Deploys(ctx, incident.DeployFilter{})
		if err != nil || len(all) != 5 {
			t.Fatalf("%d deploys (%v), want 5: %+v", len(all), err, all)
		}
		if all[0].IdempotencyKey != "ci-run-1842" {
			t.Errorf("newest deploy %+v, want its idempotency key read back", all[0])
		}
		bad := incident.Deploy{Service: "pay", SHA: "abcdef1", IdempotencyKey: "run\n1"}
		if _, err := svc.RecordDeploy(ctx, &bad); incident.ErrorCode(err) != incident.EINVALID {
			t.Errorf("a key with a newline: %v, want invalid", err)
		}
	})
}

// Two replicas (on SQLite, two requests to the one process) that record
// the same deploy at once store it once, by SHA or by idempotency key.
func TestDeployRecordedOnceAtOnce(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.Name(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := b.DSN(t)
			stores := []*sqlstore.Store{b.Open(t, dsn)}
			if b.Driver == sqlstore.Postgres {
				stores = append(stores, b.Open(t, dsn))
			}
			now := time.Now()
			var wg sync.WaitGroup
			added := make([]bool, 40)
			for i := range added {
				wg.Go(func() {
					svc := incident.NewService(stores[i%len(stores)], testRules{}, incident.Options{})
					// Each retry finishes a moment later, as a CI job's
					// "now" does; every fourth names the run instead.
					d := incident.Deploy{Service: "pay", Env: "prod", SHA: "9f8e7d6", FinishedAt: now.Add(time.Duration(i) * time.Millisecond)}
					if i%4 == 3 {
						d = incident.Deploy{Service: "pay", Env: "prod", SHA: "abcdef1", FinishedAt: now.Add(-time.Duration(i) * time.Minute), IdempotencyKey: "run-7"}
					}
					var err error
					if added[i], err = svc.RecordDeploy(ctx, &d); err != nil {
						t.Errorf("record %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			n := 0
			for _, a := range added {
				if a {
					n++
				}
			}
			all, err := stores[0].Deploys(ctx, incident.DeployFilter{})
			if err != nil || len(all) != 2 || n != 2 {
				t.Fatalf("%d deploys stored, %d answered as new (%v), want 2 and 2: %+v", len(all), n, err, all)
			}
		})
	}
}

func TestDeploys(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		clk := newClock()
		svc := incident.NewService(s, testRules{}, incident.Options{Now: clk.Now})
		at := clk.Now()
		for i, d := range []incident.Deploy{
			{Service: "pay", Env: "prod", SHA: "aaa1111", Author: "alice", FinishedAt: at.Add(-3 * time.Hour)},
			{Service: "pay", Env: "prod", SHA: "bbb2222", PreviousSHA: "aaa1111", Author: "bob", FinishedAt: at.Add(-12 * time.Minute)},
			{Service: "search", Env: "prod", SHA: "ccc3333", FinishedAt: at.Add(-time.Hour)},
		} {
			added, err := svc.RecordDeploy(ctx, &d)
			if err != nil || !added || d.ID == 0 {
				t.Fatalf("deploy %d: added %v id %d err %v", i, added, d.ID, err)
			}
		}
		again := incident.Deploy{Service: "pay", Env: "prod", SHA: "bbb2222", FinishedAt: at.Add(-12 * time.Minute)}
		if added, err := svc.RecordDeploy(ctx, &again); err != nil || added {
			t.Fatalf("the same deploy twice: added %v err %v", added, err)
		}
		for _, bad := range []incident.Deploy{{SHA: "x"}, {Service: "pay"}, {Service: "pay", SHA: "x", URL: "javascript:x"},
			{Service: "pay", SHA: "x", FinishedAt: at.Add(time.Hour)}} {
			if _, err := svc.RecordDeploy(ctx, &bad); incident.ErrorCode(err) != incident.EINVALID {
				t.Errorf("%+v: %v, want invalid", bad, err)
			}
		}
		got, err := s.Deploys(ctx, incident.DeployFilter{Service: "pay", Since: at.Add(-2 * time.Hour)})
		if err != nil || len(got) != 1 || got[0].SHA != "bbb2222" || got[0].PreviousSHA != "aaa1111" || !got[0].FinishedAt.Equal(at.Add(-12*time.Minute)) {
			t.Fatalf("pay in the last 2h: %+v %v", got, err)
		}
		all, _ := s.Deploys(ctx, incident.DeployFilter{})
		if len(all) != 3 || all[0].SHA != "bbb2222" || all[2].SHA != "aaa1111" {
			t.Fatalf("all deploys, newest first: %+v", all)
		}
	})
}

// An incident whose alert carried no number takes Prometheus's from the
// evidence; one that carried a number keeps it.
func TestEvidenceValue(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		inc, err := svc.Declare(ctx, "checkout", "prod", "carts empty", "U1")
		if err != nil {
			t.Fatal(err)
		}
		atOpen, now := 0.031, 0.012
		got, err := svc.RecordEvidence(ctx, inc.ID, &incident.Evidence{Round: 1, ValueAtOpen: &atOpen, ValueNow: &now})
		if err != nil || got.Value == nil || *got.Value != 0.012 || got.PeakValue == nil || *got.PeakValue != 0.031 {
			t.Fatalf("value %v peak %v err %v, want 1.2%% now and 3.1%% peak", got.Value, got.PeakValue, err)
		}
		stored, _ := s.Incident(ctx, inc.ID)
		if stored.Value == nil || *stored.Value != 0.012 || stored.Evidence == nil || stored.Evidence.Round != 1 {
			t.Fatalf("stored %+v", stored)
		}
		// A later round replaces the evidence but not a value already known.
		later := 0.5
		got, _ = svc.RecordEvidence(ctx, inc.ID, &incident.Evidence{Round: 2, ValueNow: &later})
		if *got.Value != 0.012 || got.Evidence.Round != 2 {
			t.Fatalf("round 2: value %v round %d", *got.Value, got.Evidence.Round)
		}
		// An older round never replaces a newer one.
		got, _ = svc.RecordEvidence(ctx, inc.ID, &incident.Evidence{Round: 1})
		if got.Evidence.Round != 2 {
			t.Fatalf("round 1 after round 2 stored: %d", got.Evidence.Round)
		}
	})
}

// Data the database refuses fails the writer that sent it and no other in
// its batch: the good writers commit, the bad one gets EINVALID (a 400,
// which Alertmanager drops, not a 503 it retries forever), and nothing it
// wrote remains, whether its row was refused on its own write or when the
// batch wrote its buffers.
func TestBadDataFailsOnlyItsWriter(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, testRules{}, incident.Options{})
		id := mustIngest(t, svc, delivery(alert("pay", "a0", "0.031", incident.AlertFiring))).Alerts[0].Incident
		// Labels are stored as JSON, which escapes a NUL; a fingerprint is
		// stored as it is.
		nul := alert("pay", "bad\x00nul", "0.031", incident.AlertFiring)
		bad := []struct {
			name  string
			write func(tx incident.Tx) error
		}{
			// Buffered, refused when the batch writes its buffers (or when a
			// later writer's read makes it write them).
			{"NUL in a fingerprint", func(tx incident.Tx) error { return tx.PutAlert(id, &nul) }},
			{"NUL in a receiver", func(tx incident.Tx) error {
				return tx.RecordDelivery(&incident.Delivery{Source: incident.SourceAlertmanager, Receiver: "am\x00", Status: "firing", ReceivedAt: time.Now()})
			}},
			// Refused by the database itself: a foreign key, on both stores.
			{"event of no incident", func(tx incident.Tx) error {
				return tx.AppendEvent(&incident.Event{IncidentID: "INC-404", At: time.Now(), Kind: incident.EventNote, Actor: "U1", Text: "x"})
			}},
			// Refused on the writer's own statement.
			{"NUL in a deploy", func(tx incident.Tx) error {
				_, err := tx.InsertDeploy(&incident.Deploy{Service: "pay\x00", Env: "prod", SHA: "abc", FinishedAt: time.Now()})
				return err
			}},
		}
		const good = 60
		for round, b := range bad {
			t.Run(b.name, func(t *testing.T) {
				// A writer held inside its batch makes every other request
				// queue behind it, so that they all share the next batch.
				const key = "one-writer"
				held, release := make(chan struct{}), make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := s.Update(ctx, key, func(incident.Tx) error { close(held); <-release; return nil }); err != nil {
						t.Errorf("holding writer: %v", err)
					}
				}()
				<-held
				errs := make([]error, good+1)
				for i := range good + 1 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = s.Update(ctx, key, func(tx incident.Tx) error {
							if i == good/2 { // in the middle of the batch
								if _, err := tx.NextSeq(fmt.Sprintf("bad-%d", round)); err != nil {
									return err
								}
								half := alert("pay", fmt.Sprintf("half-%d", round), "0.031", incident.AlertFiring)
								if err := tx.PutAlert(id, &half); err != nil {
									return err
								}
								return b.write(tx)
							}
							if _, err := tx.NextSeq(fmt.Sprintf("good-%d", round)); err != nil {
								return err
							}
							a := alert("pay", fmt.Sprintf("good-%d-%d", round, i), "0.031", incident.AlertFiring)
							if err := tx.PutAlert(id, &a); err != nil {
								return err
							}
							// A read writes the buffers, the bad writer's rows too
							// in the optimistic pass.
							_, err := tx.FiringAlerts(id)
							return err
						})
					}()
				}
				deadline := time.Now().Add(5 * time.Second)
				for sqlstore.Queued(s, key) < good+1 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond) // polling the queue, not waiting a guess
				}
				if n := sqlstore.Queued(s, key); n != good+1 {
					t.Fatalf("%d requests queued, want %d", n, good+1)
				}
				close(release)
				wg.Wait()
				for i, err := range errs {
					if i == good/2 {
						if incident.ErrorCode(err) != incident.EINVALID {
							t.Errorf("bad writer: %v (code %q), want invalid", err, incident.ErrorCode(err))
						}
						continue
					}
					if err != nil {
						t.Errorf("good writer %d: %v", i, err)
					}
				}
				var goodSeq, badSeq int64
				if err := s.Update(ctx, "", func(tx incident.Tx) error {
					var err error
					if goodSeq, err = tx.NextSeq(fmt.Sprintf("good-%d", round)); err != nil {
						return err
					}
					badSeq, err = tx.NextSeq(fmt.Sprintf("bad-%d", round))
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if goodSeq != good+1 || badSeq != 1 {
					t.Errorf("counters after the batch: good %d (want %d), bad %d (want 1: nothing of the bad writer stays)", goodSeq, good+1, badSeq)
				}
				alerts, err := s.Alerts(ctx, id, 0)
				if err != nil {
					t.Fatal(err)
				}
				stored := map[string]bool{}
				for _, a := range alerts {
					stored[a.Fingerprint] = true
				}
				for i := range good + 1 {
					if fp := fmt.Sprintf("good-%d-%d", round, i); i != good/2 && !stored[fp] {
						t.Errorf("good alert %s missing", fp)
					}
				}
				if stored[fmt.Sprintf("half-%d", round)] || stored["bad\x00nul"] {
					t.Errorf("the bad writer's alerts were stored")
				}
			})
		}
		// The store still works, and the refused writes left no trace in
		// the caches: the refused alert, sent clean, is new.
		clean := alert("pay", "half-0", "0.031", incident.AlertFiring)
		if got := outcomes(mustIngest(t, svc, delivery(clean))); got != "attached:"+id+" " {
			t.Fatalf("clean alert after the refusals: %q", got)
		}
	})
}

// TestRefusalThenNewStatement: after the database refuses a writer's row,
// the transaction on PostgreSQL is aborted until its savepoint is rolled
// back; the next writer of the batch must still run, even with a
// statement its connection has never prepared (pgx prepares it ahead of
// the round trip that would have rolled the savepoint back).
func TestRefusalThenNewStatement(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		const key = "one-writer"
		held, release := make(chan struct{}), make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Update(ctx, key, func(incident.Tx) error { close(held); <-release; return nil }); err != nil {
				t.Errorf("holding writer: %v", err)
			}
		}()
		<-held
		var bad, good error
		wg.Add(1)
		go func() {
			defer wg.Done()
			bad = s.Update(ctx, key, func(tx incident.Tx) error {
				if _, err := tx.NextSeq("bad"); err != nil {
					return err
				}
				return tx.AppendEvent(&incident.Event{IncidentID: "INC-404", At: time.Now(), Kind: incident.EventNote, Actor: "U1", Text: "x"})
			})
		}()
		for sqlstore.Queued(s, key) < 1 {
			time.Sleep(time.Millisecond) // polling the queue, not waiting a guess
		}
		runs := 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			good = s.Update(ctx, key, func(tx incident.Tx) error {
				runs++
				if runs == 1 {
					_, err := tx.NextSeq("good")
					return err
				}
				// Run again, each writer in its savepoint, right after the
				// refused one: a statement new to the store.
				_, err := tx.InsertDeploy(&incident.Deploy{Service: "pay", Env: "prod", SHA: "abc", FinishedAt: time.Now()})
				return err
			})
		}()
		for sqlstore.Queued(s, key) < 2 {
			time.Sleep(time.Millisecond) // polling the queue, not waiting a guess
		}
		close(release)
		wg.Wait()
		if incident.ErrorCode(bad) != incident.EINVALID {
			t.Errorf("refused writer: %v, want invalid", bad)
		}
		if good != nil || runs != 2 {
			t.Errorf("writer after it: %v (ran %d times), want it stored on its second run", good, runs)
		}
		if d, err := s.Deploys(ctx, incident.DeployFilter{Service: "pay"}); err != nil || len(d) != 1 {
			t.Errorf("deploys stored: %v (%v), want 1", d, err)
		}
	})
}

// A full disk makes commits fail: writes answer EUNAVAILABLE and Ping
// says why; once space is back, the store recovers by itself, without a
// restart: the first commit that succeeds (here Ping's own probe write,
// since nothing else writes) makes it ready again.
func TestRecoversFromFullDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := newClock()
	s, err := sqlstore.Open(ctx, sqlstore.SQLite, filepath.Join(t.TempDir(), "w.db"), sqlstore.Options{Now: clk.Now, ProbeInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := incident.NewService(s, testRules{}, incident.Options{Now: clk.Now})
	mustIngest(t, svc, delivery(alert("pay", "a0", "0.031", incident.AlertFiring)))
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping before the fault: %v", err)
	}
	if err := sqlstore.LimitPages(s, 1); err != nil {
		t.Fatal(err)
	}
	big := func(i int) error {
		a := alert(fmt.Sprintf("svc%d", i), fmt.Sprintf("fp%d", i), "0.031", incident.AlertFiring)
		a.Annotations["description"] = strings.Repeat("x", 2000)
		_, err := svc.Ingest(ctx, delivery(a))
		return err
	}
	var failed error
	for i := 0; i < 100 && failed == nil; i++ {
		failed = big(i)
	}
	if incident.ErrorCode(failed) != incident.EUNAVAILABLE {
		t.Fatalf("write on a full disk: %v, want unavailable", failed)
	}
	// The writer's connection was replaced after the failure; the disk is
	// still full for the new one.
	if err := big(1000); incident.ErrorCode(err) != incident.EUNAVAILABLE {
		t.Fatalf("second write on a full disk: %v, want unavailable", err)
	}
	if err := s.Ping(ctx); err == nil || !strings.Contains(err.Error(), "database or disk is full") {
		t.Fatalf("ping on a full disk: %v, want the reason", err)
	}
	if err := sqlstore.LimitPages(s, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("ready again before any commit succeeded")
	}
	clk.Add(2 * time.Minute) // the probe is due
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping after space came back: %v", err)
	}
	if err := big(2000); err != nil {
		t.Fatalf("write after space came back: %v", err)
	}
}

// proxied returns a fresh PostgreSQL DSN that goes through a fault proxy.
func proxied(t *testing.T) (string, *faultproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(pgtest.Fresh(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	u.Host = p.Addr()
	return u.String(), p
}

// storeFirst runs call with the patience of a caller (ten times the
// store's timeout: generous, so that a loaded machine does not fail a
// test) and reports whether the store answered first, as a store bounded
// by its own timeout does: an order of events, not the seconds the call
// took.
func storeFirst(timeout time.Duration, call func(ctx context.Context) error) (first bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*timeout)
	defer cancel()
	err = call(ctx)
	return ctx.Err() == nil, err
}

// PostgreSQL out of reach (a partition: bytes stop, nothing is refused)
// costs a write at most the store's timeout and an EUNAVAILABLE, never
// silence; readiness says so; once the network heals, writes and
// readiness come back by themselves.
func TestStalledPostgres(t *testing.T) {
	t.Parallel()
	dsn, proxy := proxied(t)
	ctx := context.Background()
	const timeout = time.Second
	s, err := sqlstore.Open(ctx, sqlstore.Postgres, dsn, sqlstore.Options{Timeout: timeout, ProbeInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := incident.NewService(s, testRules{}, incident.Options{})
	mustIngest(t, svc, delivery(alert("pay", "a0", "0.031", incident.AlertFiring)))
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping before the stall: %v", err)
	}

	proxy.Pause()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := storeFirst(timeout, func(ctx context.Context) error {
				_, err := svc.Ingest(ctx, delivery(alert(fmt.Sprintf("svc%d", i), fmt.Sprintf("s%d", i), "0.031", incident.AlertFiring)))
				return err
			})
			if !first {
				t.Errorf("write %d: the caller gave up before the store (timeout %s) answered", i, timeout)
			}
			if incident.ErrorCode(err) != incident.EUNAVAILABLE {
				t.Errorf("write %d during the stall: %v, want unavailable", i, err)
			}
		}()
	}
	wg.Wait()
	if first, err := storeFirst(timeout, s.Ping); err == nil {
		t.Fatal("ready while PostgreSQL is out of reach")
	} else if !first {
		t.Errorf("ping: the caller gave up before the store answered")
	}
	if first, err := storeFirst(timeout, func(ctx context.Context) error {
		_, err := s.Incidents(ctx, incident.Filter{})
		return err
	}); err == nil {
		t.Error("a read succeeded during the stall")
	} else if !first {
		t.Errorf("read: the caller gave up before the store answered")
	}

	proxy.Resume()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := s.Ping(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready 15s after the network healed: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // polling readiness
	}
	mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))

	// Connections cut under the store (a server restart): the store
	// drops them and carries on with new ones.
	proxy.Cut()
	deadline = time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		first, err := storeFirst(timeout, func(ctx context.Context) error {
			_, err := svc.Ingest(ctx, delivery(alert("pay", fmt.Sprintf("cut%d", i), "0.031", incident.AlertFiring)))
			return err
		})
		if !first {
			t.Errorf("write after the cut: the caller gave up before the store answered")
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still fail 15s after the cut: %v", err)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("not ready after a write succeeded: %v", err)
	}
}

// The SQLite WAL stays bounded: once writes have pushed it past the
// limit, it is cut back under the limit while a storm of writes goes on
// (and keeps a passive checkpoint from ever finishing).
func TestWALStaysBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const limit = 256 << 10
	s, err := sqlstore.Open(ctx, sqlstore.SQLite, filepath.Join(t.TempDir(), "w.db"), sqlstore.Options{WALLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := incident.NewService(s, testRules{}, incident.Options{})
	var peak int64
	for i := 0; peak <= limit; i++ {
		if i == 2000 {
			t.Fatalf("the WAL stayed at %d bytes after %d writes; the test must pass the limit", peak, i)
		}
		a := alert(fmt.Sprintf("svc%d", i%50), fmt.Sprintf("fp%d", i), "0.031", incident.AlertFiring)
		a.Annotations["description"] = strings.Repeat("x", 4000)
		mustIngest(t, svc, delivery(a))
		n, err := s.WALSize()
		if err != nil {
			t.Fatal(err)
		}
		peak = max(peak, n)
	}
	stop := make(chan struct{})
	var storm sync.WaitGroup
	defer func() { close(stop); storm.Wait() }()
	for g := range 8 {
		storm.Add(1)
		go func() {
			defer storm.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				a := alert(fmt.Sprintf("svc%d", i%50), fmt.Sprintf("storm-%d-%d", g, i), "0.031", incident.AlertFiring)
				a.Annotations["description"] = strings.Repeat("x", 4000)
				if _, err := svc.Ingest(ctx, delivery(a)); err != nil {
					t.Errorf("write in the storm: %v", err)
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := s.WALSize()
		if err != nil {
			t.Fatal(err)
		}
		if n <= limit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the WAL is still %d bytes, over the %d limit, 10s after it peaked at %d", n, limit, peak)
		}
		time.Sleep(20 * time.Millisecond) // polling the file's size
	}
}

// TestNoCacheReadsTheDatabase proves the switch: an alert row written
// behind the store's back is unknown to a store that remembers the
// incident's fingerprints (the alert counts as new), and is read by one
// without memories (the alert is a repeat).
func TestNoCacheReadsTheDatabase(t *testing.T) {
	t.Parallel()
	for _, b := range []storetest.Backend{storetest.Backends[0], storetest.Uncached[0]} {
		t.Run(b.Name(), func(t *testing.T) {
			dsn := b.DSN(t)
			s := b.Open(t, dsn)
			svc := incident.NewService(s, testRules{}, incident.Options{})
			mustIngest(t, svc, delivery(alert("pay", "fp1", "0.001", incident.AlertFiring)))
			db, err := sql.Open("sqlite", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`INSERT INTO alerts SELECT incident_id, 'fp2', status, labels, annotations, grafana_values,
				starts_at, ends_at, generator_url, value, source FROM alerts WHERE fingerprint = 'fp1'`); err != nil {
				t.Fatal(err)
			}
			got := outcomes(mustIngest(t, svc, delivery(alert("pay", "fp2", "0.001", incident.AlertFiring))))
			want := "recorded:INC-1 "
			if b.NoCache {
				want = "unchanged:INC-1 "
			}
			if got != want {
				t.Errorf("an alert already in the table: %q, want %q", got, want)
			}
		})
	}
}

// TestCommitFailureWritesNothing makes the database refuse a batch's
// COMMIT (a deferred constraint, as a full disk or a lost connection
// would): the webhook's writer learns EUNAVAILABLE (a 503), nothing of it
// is stored, not even the incident number it took, readiness says so, and
// the same delivery sent again is stored whole, which shows the store's
// memories forgot the undone batch.
func TestCommitFailureWritesNothing(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.Name(), func(t *testing.T) {
			ctx := context.Background()
			dsn := b.DSN(t)
			s := b.Open(t, dsn)
			fault := storetest.FailCommits(t, b.Driver, dsn, "alerts")
			svc := incident.NewService(s, testRules{}, incident.Options{})
			d := delivery(alert("pay", "fp1", "0.031", incident.AlertFiring), alert("pay", "fp2", "0.02", incident.AlertFiring))

			fault.On(t)
			_, err := svc.Ingest(ctx, d)
			if code := incident.ErrorCode(err); code != incident.EUNAVAILABLE {
				t.Fatalf("ingest while commits fail: %v (code %q), want %s", err, code, incident.EUNAVAILABLE)
			}
			if err := s.Ping(ctx); err == nil {
				t.Error("readiness: Ping succeeded right after a failed commit")
			}
			// A worker finding no job due commits a transaction that
			// changed nothing: it commits whatever the fault, and says
			// nothing of whether the webhooks' commits would.
			if err := s.Update(ctx, "", func(tx incident.Tx) error {
				_, err := tx.ClaimJobs(10, time.Now().Add(-time.Hour), time.Minute)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if err := s.Ping(ctx); err == nil {
				t.Error("readiness: Ping succeeded after a commit that wrote nothing, with the fault still on")
			}
			incs, err := s.Incidents(ctx, incident.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(incs) != 0 {
				t.Fatalf("a failed commit left %d incidents", len(incs))
			}
			if ev, err := s.Timeline(ctx, "INC-1"); err != nil || len(ev) != 0 {
				t.Fatalf("a failed commit left events %v (%v)", ev, err)
			}
			if jobs := jobKeys(t, s, "INC-1"); len(jobs) != 0 {
				t.Fatalf("a failed commit left jobs %v", jobs)
			}

			fault.Off(t)
			if got := outcomes(mustIngest(t, svc, d)); got != "opened:INC-1 attached:INC-1 " {
				t.Errorf("the same delivery after the fault: %q", got)
			}
			if total, _, err := s.CountAlerts(ctx, "INC-1"); err != nil || total != 2 {
				t.Errorf("alerts stored after the fault: %d (%v), want 2", total, err)
			}
			if err := s.Ping(ctx); err != nil {
				t.Errorf("readiness after a good commit: %v", err)
			}
		})
	}
}

// unitRules is testRules with a unit, and lower values worse for the
// service "avail".
type unitRules struct{ unit incident.Unit }

func (u unitRules) Evaluate(alerts []incident.Alert) []incident.Decision {
	out := testRules{}.Evaluate(alerts)
	for i := range out {
		out[i].Unit = u.unit
		if alerts[i].Labels["service"] == "avail" {
			out[i].Below = true
		}
	}
	return out
}

// The incident's value is its worst firing alert's, whatever order the
// alerts arrive and resolve in; its peak is the worst seen; its unit is
// stored.
func TestIncidentValueIsTheWorstFiring(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		svc := incident.NewService(s, unitRules{unit: incident.UnitSeconds}, incident.Options{Now: newClock().Now})
		check := func(step, id string, now, peak float64) {
			t.Helper()
			inc, err := s.Incident(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if inc.Value == nil || *inc.Value != now || inc.PeakValue == nil || *inc.PeakValue != peak || inc.Unit != incident.UnitSeconds {
				t.Fatalf("%s: value %v peak %v unit %q, want now %v, peak %v, seconds", step, show(inc.Value), show(inc.PeakValue), inc.Unit, now, peak)
			}
		}
		mustIngest(t, svc, delivery(alert("pay", "a1", "0.0311", incident.AlertFiring)))
		check("opened", "INC-1", 0.0311, 0.0311)
		mustIngest(t, svc, delivery(alert("pay", "p0", "0.0339", incident.AlertFiring), alert("pay", "p1", "0.035", incident.AlertFiring),
			alert("pay", "p2", "0.0243", incident.AlertFiring)))
		check("three pods, the last one better", "INC-1", 0.035, 0.035)
		mustIngest(t, svc, delivery(alert("pay", "p1", "0.01", incident.AlertFiring)))
		check("the worst got better", "INC-1", 0.0339, 0.035)
		mustIngest(t, svc, delivery(alert("pay", "p2", "0.03", incident.AlertFiring)))
		check("another got worse, not the worst", "INC-1", 0.0339, 0.035)
		mustIngest(t, svc, delivery(alert("pay", "p0", "0.008", incident.AlertResolved)))
		check("the worst resolved", "INC-1", 0.0311, 0.035)
		mustIngest(t, svc, delivery(alert("pay", "p2", "0.002", incident.AlertResolved), alert("pay", "a1", "0.007", incident.AlertResolved)))
		check("a better one resolved, then the worst", "INC-1", 0.01, 0.035)
		res := mustIngest(t, svc, delivery(alert("pay", "p1", "0.006", incident.AlertResolved)))
		if len(res.ResolvedIncidents) != 1 {
			t.Fatalf("last resolve: %+v", res)
		}
		check("none fires: the recovery", "INC-1", 0.006, 0.035)
		mustIngest(t, svc, delivery(alert("pay", "p1", "0.009", incident.AlertFiring)))
		check("reopened: the value fires again, below the recovery's peak", "INC-1", 0.009, 0.035)

		// Lower is worse below a threshold.
		mustIngest(t, svc, delivery(alert("avail", "v1", "0.99", incident.AlertFiring), alert("avail", "v2", "0.98", incident.AlertFiring),
			alert("avail", "v3", "0.995", incident.AlertFiring)))
		check("below", "INC-2", 0.98, 0.98)
		mustIngest(t, svc, delivery(alert("avail", "v2", "0.98", incident.AlertResolved)))
		check("below, the worst resolved", "INC-2", 0.99, 0.98)
	})
}

func show(v *float64) string {
	if v == nil {
		return "nil"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}
