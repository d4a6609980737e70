package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
)

// The value history keeps a point when the incident's value changes, the
// first of each minute: a change within the minute of the last point, or
// a second change in the same batch, writes nothing; a repeat is no change.
func TestValuePoints(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, open func() *sqlstore.Store) {
		ctx := context.Background()
		s := open()
		clk := newClock()
		t0 := clk.Now()
		svc := incident.NewService(s, testRules{}, incident.Options{Now: clk.Now, ArchiveAfter: 24 * time.Hour})

		mustIngest(t, svc, delivery(alert("pay", "a1", "0.031", incident.AlertFiring)))
		clk.Add(10 * time.Second) // the same minute: the first point stays
		mustIngest(t, svc, delivery(alert("pay", "a1", "0.034", incident.AlertFiring)))
		clk.Add(50 * time.Second)
		mustIngest(t, svc, delivery(alert("pay", "a1", "0.05", incident.AlertFiring)))
		clk.Add(time.Minute) // two changes in one transaction: the first
		mustIngest(t, svc, delivery(alert("pay", "p0", "0.06", incident.AlertFiring), alert("pay", "p1", "0.07", incident.AlertFiring)))
		clk.Add(time.Minute) // a repeat changes nothing
		mustIngest(t, svc, delivery(alert("pay", "p1", "0.07", incident.AlertFiring)))
		clk.Add(2 * time.Minute)
		mustIngest(t, svc, delivery(alert("pay", "a1", "0.001", incident.AlertResolved), alert("pay", "p0", "0.001", incident.AlertResolved),
			alert("pay", "p1", "0.001", incident.AlertResolved)))

		inc, err := s.Incident(ctx, "INC-1")
		if err != nil {
			t.Fatal(err)
		}
		if inc.State != incident.Resolved || *inc.Value != 0.001 {
			t.Fatalf("incident %s value %v", inc.State, *inc.Value)
		}
		want := []incident.ValuePoint{{At: t0, Value: 0.031}, {At: t0.Add(time.Minute), Value: 0.05},
			{At: t0.Add(2 * time.Minute), Value: 0.06}, {At: t0.Add(5 * time.Minute), Value: 0.001}}
		got, err := s.ValuePoints(ctx, "INC-1", 0)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("points\n%v, want\n%v", got, want)
		}
		// A limit keeps the newest, oldest first.
		if got, _ := s.ValuePoints(ctx, "INC-1", 2); fmt.Sprint(got) != fmt.Sprint(want[2:]) {
			t.Fatalf("newest two: %v, want %v", got, want[2:])
		}
		if got, err := s.ValuePoints(ctx, "INC-9", 0); err != nil || len(got) != 0 {
			t.Fatalf("unknown incident: %v %v", got, err)
		}
	})
}
