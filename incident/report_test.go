package incident_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/internal/clocktest"
	"github.com/warroom/warroom/internal/storetest"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	m := time.Minute
	for _, tc := range []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
		ok   bool
	}{
		{"none", nil, 0.5, 0, false},
		{"none, p90", []time.Duration{}, 0.9, 0, false},
		{"one: the median", []time.Duration{7 * m}, 0.5, 7 * m, true},
		{"one: the p90", []time.Duration{7 * m}, 0.9, 7 * m, true},
		{"two: the median is their mean", []time.Duration{4 * m, 10 * m}, 0.5, 7 * m, true},
		{"two: the p90 is nine tenths of the way", []time.Duration{4 * m, 10 * m}, 0.9, 9*m + 24*time.Second, true},
		{"three: the median is the middle one", []time.Duration{1 * m, 2 * m, 30 * m}, 0.5, 2 * m, true},
		{"four: the median is the mean of the middle two", []time.Duration{1 * m, 2 * m, 4 * m, 60 * m}, 0.5, 3 * m, true},
		// ranks 0..3, p90 at 2.7: 4m + 0.7 × 56m = 43m12s.
		{"four: the p90", []time.Duration{1 * m, 2 * m, 4 * m, 60 * m}, 0.9, 43*m + 12*time.Second, true},
		// ranks 0..9, p90 at 8.1: 9m + 0.1 × 91m = 18m6s.
		{"ten: the p90", []time.Duration{1 * m, 2 * m, 3 * m, 4 * m, 5 * m, 6 * m, 7 * m, 8 * m, 9 * m, 100 * m}, 0.9, 18*m + 6*time.Second, true},
		{"equal values", []time.Duration{5 * m, 5 * m, 5 * m, 5 * m}, 0.5, 5 * m, true},
		{"p0 is the least", []time.Duration{1 * m, 9 * m}, 0, 1 * m, true},
		{"p1 is the most", []time.Duration{1 * m, 9 * m}, 1, 9 * m, true},
	} {
		got, ok := incident.Percentile(tc.in, tc.p)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: Percentile(%v, %v) = %v, %v; want %v, %v", tc.name, tc.in, tc.p, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseReportWindow(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"30d": 30 * 24 * time.Hour, " 7d ": 7 * 24 * time.Hour, "1d": 24 * time.Hour, "36h": 36 * time.Hour,
		"90m": 90 * time.Minute, "1h30m": 90 * time.Minute, "3650d": 3650 * 24 * time.Hour,
	} {
		if got, err := incident.ParseReportWindow(in); err != nil || got != want {
			t.Errorf("ParseReportWindow(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	const forms = "want days such as 30d, or a Go duration such as 36h or 90m"
	for in, want := range map[string]string{
		"":                         `"" is not a window: ` + forms,
		"1.5d":                     `"1.5d" is not a window: ` + forms,
		"d":                        `"d" is not a window: ` + forms,
		"30":                       `"30" is not a window: ` + forms,
		"a month":                  `"a month" is not a window: ` + forms,
		"0d":                       `"0d": the window must be longer than zero`,
		"-3d":                      `"-3d": the window must be longer than zero`,
		"-1h":                      `"-1h": the window must be longer than zero`,
		"3651d":                    `"3651d" is out of range: at most 3650d`,
		"99999999999999999999999d": `"99999999999999999999…" is not a window`,
		"100000h":                  `"100000h" is out of range: at most 3650d`,
	} {
		_, err := incident.ParseReportWindow(in)
		if incident.ErrorCode(err) != incident.EINVALID || !strings.HasPrefix(incident.ErrorMessage(err), want) {
			t.Errorf("ParseReportWindow(%q): %v; want EINVALID %s", in, err, want)
		}
	}
	for d, want := range map[time.Duration]string{30 * 24 * time.Hour: "30d", 36 * time.Hour: "36h", 90 * time.Minute: "1h30m", 90 * time.Second: "1m30s"} {
		if got := incident.FormatReportWindow(d); got != want {
			t.Errorf("FormatReportWindow(%v) = %q, want %q", d, got, want)
		}
		if back, err := incident.ParseReportWindow(incident.FormatReportWindow(d)); err != nil || back != d {
			t.Errorf("FormatReportWindow(%v) reads back as %v, %v", d, back, err)
		}
	}
}

// BuildReport's counting: a mitigate before any acknowledge acknowledges;
// a war room resolved without one is unacknowledged; storms' children and
// recorded incidents are counted but not timed; the rollback rate is of
// the incidents with a suspect deploy.
func TestBuildReport(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	m := time.Minute
	rows := []incident.ReportIncident{
		{Service: "pay", WarRoom: true, OpenedAt: t0, AcknowledgedAt: at(2 * m), MitigatedAt: at(20 * m), ResolvedAt: at(60 * m), Suspect: true, RollbackRequested: true},
		{Service: "pay", WarRoom: true, OpenedAt: t0, MitigatedAt: at(8 * m), ResolvedAt: at(30 * m), Suspect: true},
		{Service: "pay", WarRoom: true, OpenedAt: t0, ResolvedAt: at(90 * m)},                                  // never acknowledged
		{Service: "pay", WarRoom: true, OpenedAt: t0},                                                          // still open
		{Service: "pay", InStorm: true, OpenedAt: t0, AcknowledgedAt: at(m), ResolvedAt: at(m), Suspect: true}, // a storm's child: not timed
		{Service: "ledger", OpenedAt: t0, Alerts: 3},
		{Service: "ledger", OpenedAt: t0, Alerts: 2, ResolvedAt: at(5 * m)},
		{Service: "storm", WarRoom: true, OpenedAt: t0, AcknowledgedAt: at(4 * m)},
	}
	r := incident.BuildReport(rows, t0.Add(-24*time.Hour), t0.Add(24*time.Hour))
	if names := fmt.Sprintf("%d %s %s %s", len(r.Services), r.Services[0].Service, r.Services[1].Service, r.Services[2].Service); names != "3 pay ledger storm" {
		t.Fatalf("services %s; want pay, ledger, storm (most incidents first)", names)
	}
	pay, ledger, storm := r.Services[0], r.Services[1], r.Services[2]
	check := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	sec := func(p *float64) any {
		if p == nil {
			return "null"
		}
		return time.Duration(*p * float64(time.Second))
	}
	check("pay incidents, war rooms, children, recorded", []int{pay.Incidents, pay.WarRooms, pay.StormChildren, pay.Recorded}, []int{5, 4, 1, 0})
	check("pay acknowledged, unacknowledged", []int{pay.TimeToAcknowledge.Count, pay.Unacknowledged}, []int{2, 2})
	check("pay ack median (2m, 8m)", sec(pay.TimeToAcknowledge.Median), 5*m)
	check("pay resolved, unresolved", []int{pay.TimeToResolve.Count, pay.Unresolved}, []int{3, 1})
	check("pay resolve median (30m, 60m, 90m)", sec(pay.TimeToResolve.Median), 60*m)
	check("pay resolve p90", sec(pay.TimeToResolve.P90), 84*m)
	check("pay suspects, rolled back", []int{pay.SuspectDeploys, pay.RolledBack}, []int{3, 1})
	check("pay rollback rate", *pay.RollbackRate, 1.0/3)
	check("ledger", []int{ledger.Incidents, ledger.Recorded, ledger.RecordedAlerts, ledger.WarRooms, ledger.TimeToResolve.Count, ledger.Unresolved}, []int{2, 2, 5, 0, 0, 0})
	check("ledger times", []any{sec(ledger.TimeToAcknowledge.Median), sec(ledger.TimeToResolve.P90)}, []any{"null", "null"})
	check("ledger rollback rate", ledger.RollbackRate == nil, true)
	check("storm", []any{storm.WarRooms, sec(storm.TimeToAcknowledge.Median), storm.Unresolved}, []any{1, 4 * m, 1})
	check("total", []int{r.Total.Incidents, r.Total.WarRooms, r.Total.TimeToAcknowledge.Count, r.Total.Unacknowledged, r.Total.SuspectDeploys}, []int{8, 5, 3, 2, 3})
	check("total ack median (2m, 4m, 8m)", sec(r.Total.TimeToAcknowledge.Median), 4*m)
	check("total service", r.Total.Service, "")

	empty := incident.BuildReport(nil, t0, t0)
	if empty.Services == nil || len(empty.Services) != 0 || empty.Total.Incidents != 0 || empty.Total.TimeToAcknowledge.Median != nil {
		t.Errorf("no incidents: %+v", empty)
	}
}

// The report from the store, on both: the window, recorded alerts,
// storms' children, the suspect deploys and the rollbacks requested.
func TestReportFromTheStore(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(b.Driver, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := b.Open(t, b.DSN(t))
			clock := clocktest.New(time.Now().UTC().Truncate(time.Second))
			svc := incident.NewService(s, mixedRules{}, incident.Options{Now: clock.Now,
				Storm: incident.Storm{Threshold: 3, Window: time.Minute}})

			breach(t, svc, incident.AlertFiring, "pay") // INC-1, before the window
			if _, err := svc.Resolve(ctx, "INC-1", "U1", ""); err != nil {
				t.Fatal(err)
			}
			clock.Add(40 * 24 * time.Hour)
			start := clock.Now()
			// INC-2 pay (past the reopen window: a new war room), INC-3
			// ledger, INC-4 rec-a (recorded, with two alerts).
			opened := map[string]time.Time{}
			for _, name := range []string{"pay", "ledger", "rec-a"} {
				clock.Add(time.Second)
				opened[name] = clock.Now()
				breach(t, svc, incident.AlertFiring, name)
			}
			d := &incident.Delivery{Source: incident.SourceAlertmanager, Receiver: "warroom", Status: "firing", ReceivedAt: time.Now(),
				Alerts: []incident.Alert{{Fingerprint: "fp-rec-a-2", Status: incident.AlertFiring, Source: incident.SourceAlertmanager,
					Labels: map[string]string{"alertname": "HighErrorRate", "service": "rec-a"}, StartsAt: time.Now()}}}
			if _, err := svc.Ingest(ctx, d); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"INC-2", "INC-3"} {
				if _, err := svc.RecordEvidence(ctx, id, &incident.Evidence{Round: 1, Suspect: &incident.Deploy{SHA: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"}}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := svc.Request(ctx, "INC-2", "U1", incident.EventRollbackRequested, "rollback requested"); err != nil {
				t.Fatal(err)
			}
			// A rollback asked where no deploy is suspect is not a rollback of one.
			if _, err := svc.Request(ctx, "INC-4", "U1", incident.EventRollbackRequested, "rollback requested: nothing to roll back"); err != nil {
				t.Fatal(err)
			}
			clock.Add(5 * time.Minute)
			ackPay := clock.Now()
			if _, err := svc.Ack(ctx, "INC-2", "U1"); err != nil {
				t.Fatal(err)
			}
			clock.Add(20 * time.Minute)
			resolvePay := clock.Now()
			if _, err := svc.Resolve(ctx, "INC-2", "U1", ""); err != nil {
				t.Fatal(err)
			}
			// Two hours on, three war rooms within the minute (INC-5 to
			// INC-7), and pay again (INC-2 resolved past the reopen window)
			// declares a storm (INC-8) and is its child (INC-9).
			clock.Add(2 * time.Hour)
			breach(t, svc, incident.AlertFiring, "cart", "shop", "zed")
			if got := breach(t, svc, incident.AlertFiring, "pay")[0]; got.Incident != "INC-9" || got.Storm != "INC-8" {
				t.Fatalf("pay again: %+v, want INC-9, a child of the storm INC-8", got)
			}

			rep, err := svc.Report(ctx, clock.Now().Sub(start))
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Since.Equal(start) || !rep.Until.Equal(clock.Now()) {
				t.Errorf("window %v – %v, want %v – %v", rep.Since, rep.Until, start, clock.Now())
			}
			rows := map[string]incident.ServiceReport{}
			for _, r := range rep.Services {
				rows[r.Service] = r
			}
			pay := rows["pay"]
			if pay.Incidents != 2 || pay.WarRooms != 1 || pay.StormChildren != 1 || pay.Recorded != 0 {
				t.Errorf("pay: %+v; want INC-2 (a war room) and the storm's child, not INC-1 (before the window)", pay)
			}
			if pay.TimeToAcknowledge.Count != 1 || *pay.TimeToAcknowledge.Median != ackPay.Sub(opened["pay"]).Seconds() ||
				pay.TimeToResolve.Count != 1 || *pay.TimeToResolve.Median != resolvePay.Sub(opened["pay"]).Seconds() {
				t.Errorf("pay's times: %+v %+v; want %v and %v", pay.TimeToAcknowledge, pay.TimeToResolve,
					ackPay.Sub(opened["pay"]), resolvePay.Sub(opened["pay"]))
			}
			if pay.SuspectDeploys != 1 || pay.RolledBack != 1 || pay.RollbackRate == nil || *pay.RollbackRate != 1 {
				t.Errorf("pay's rollbacks: %d of %d", pay.RolledBack, pay.SuspectDeploys)
			}
			ledger := rows["ledger"]
			if ledger.SuspectDeploys != 1 || ledger.RolledBack != 0 || *ledger.RollbackRate != 0 || ledger.Unacknowledged != 1 || ledger.Unresolved != 1 {
				t.Errorf("ledger: %+v", ledger)
			}
			rec := rows["rec-a"]
			if rec.Incidents != 1 || rec.Recorded != 1 || rec.RecordedAlerts != 2 || rec.SuspectDeploys != 0 || rec.RollbackRate != nil {
				t.Errorf("rec-a: %+v; want one recorded incident with two alerts and no suspect", rec)
			}
			if st := rows["storm"]; st.Incidents != 1 || st.WarRooms != 1 {
				t.Errorf("storm: %+v", st)
			}
			if rep.Total.Incidents != 8 || rep.Total.WarRooms != 6 || rep.Total.StormChildren != 1 || rep.Total.Recorded != 1 {
				t.Errorf("total: %+v; want INC-2 to INC-9: six war rooms (the storm's among them), a child, a recorded incident", rep.Total)
			}
		})
	}
}
