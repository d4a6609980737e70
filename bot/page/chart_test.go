package page

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
)

func TestChart(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 11, 26, 4, 0, 0, 0, time.UTC)
	f := func(v float64) *float64 { return &v }
	inc := &incident.Incident{OpenedAt: t0, Value: f(0.02), Threshold: f(0.01)}

	// Nothing known: no chart.
	if c := newChart(&incident.Incident{OpenedAt: t0}, nil, t0.Add(time.Hour)); c != nil {
		t.Errorf("a chart of nothing: %+v", c)
	}

	// A step line: each value holds until the next; the value now ends it.
	pts := []incident.ValuePoint{{At: t0, Value: 0.04}, {At: t0.Add(30 * time.Minute), Value: 0.08}}
	c := newChart(inc, pts, t0.Add(time.Hour))
	// y: 0 at the bottom (192), 0.088 (0.08 + 10%) at the top (12).
	want := "84.0,110.2 396.0,110.2 396.0,28.4 708.0,28.4 708.0,151.1"
	if c.Line != want {
		t.Errorf("line %s\nwant %s", c.Line, want)
	}
	if math.Abs(c.ThresholdY-171.5) > 0.1 || c.ThresholdLabel != "threshold 1%" || c.Top != "8.8%" || c.Bottom != "0%" {
		t.Errorf("threshold at %v %q, top %q bottom %q", c.ThresholdY, c.ThresholdLabel, c.Top, c.Bottom)
	}
	if len(c.Dots) != 3 || !strings.Contains(c.Description, "3 points between 2% and 8%") {
		t.Errorf("dots %d, description %q", len(c.Dots), c.Description)
	}

	// A resolved incident ends at its resolution.
	res := t0.Add(10 * time.Minute)
	r := *inc
	r.ResolvedAt = &res
	if c := newChart(&r, pts[:1], t0.Add(time.Hour)); c.End != stamp(res) {
		t.Errorf("ends %s, want the resolution", c.End)
	}

	// A week of minutes is thinned to a few vertices a column, and its
	// one spike is kept.
	var week []incident.ValuePoint
	for i := range 7 * 24 * 60 {
		v := 0.02
		if i == 5000 {
			v = 0.9
		}
		week = append(week, incident.ValuePoint{At: t0.Add(time.Duration(i) * time.Minute), Value: v})
	}
	c = newChart(inc, week, week[len(week)-1].At)
	if n := strings.Count(c.Line, " ") + 1; n > 4*2*chartColumns {
		t.Errorf("%d vertices for %d points", n, len(week))
	}
	if c.Top != "99%" || c.Dots != nil {
		t.Errorf("the spike is lost: top %q; dots %d", c.Top, len(c.Dots))
	}
	if !strings.Contains(c.Line, ",28.4") { // 0.9 of 0.99
		t.Errorf("no vertex at the spike's height: %s…", c.Line[:200])
	}
}
