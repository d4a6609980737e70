package page

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/warroom/warroom/incident"
)

// chart is the value over time as the page draws it: an inline SVG of
// the value history (a step line: a value holds until the next), the
// threshold as a dashed line, and the labels of both axes.
type chart struct {
	Width, Height int
	// Line is the step line's points attribute, "x,y x,y …".
	Line string
	// Dots are the points of the history, for their titles (at most
	// maxDots of them; past that the line alone).
	Dots []dot
	// Threshold is the threshold's height, and its label; ThresholdY < 0
	// when there is none.
	ThresholdY     float64
	ThresholdLabel string
	// The labels of the axes: the top and bottom values, the first and
	// last times.
	Top, Bottom, Start, End string
	// Left, Right, TopY and BottomY frame the plot.
	Left, Right, TopY, BottomY float64
	// Description says the chart in words, for screen readers.
	Description string
}

// dot is one point of the history.
type dot struct {
	X, Y  float64
	Title string
}

// The chart's geometry, in SVG user units.
const (
	chartWidth   = 720
	chartHeight  = 220
	chartLeft    = 84
	chartRight   = chartWidth - 12
	chartTop     = 12
	chartBottom  = chartHeight - 28
	maxDots      = 120
	chartColumns = chartRight - chartLeft
)

// newChart draws the value history points of inc, ending at the end of
// the incident (its resolution, else now) with its value then; nil when
// there is nothing to draw.
func newChart(inc *incident.Incident, points []incident.ValuePoint, now time.Time) *chart {
	pts := make([]incident.ValuePoint, 0, len(points)+1)
	for _, p := range points {
		if finite(p.Value) {
			pts = append(pts, p)
		}
	}
	end := now
	if inc.ResolvedAt != nil {
		end = *inc.ResolvedAt
	}
	if v := inc.Value; v != nil && finite(*v) {
		// The value now (or at the resolution) ends the line, unless the
		// last point says it already.
		if n := len(pts); n == 0 || pts[n-1].At.Before(end) || pts[n-1].At.Equal(end) && pts[n-1].Value != *v {
			pts = append(pts, incident.ValuePoint{At: end, Value: *v})
		}
	}
	if len(pts) == 0 {
		return nil
	}
	start := inc.OpenedAt
	if pts[0].At.Before(start) {
		start = pts[0].At
	}
	if last := pts[len(pts)-1].At; last.After(end) {
		end = last
	}
	if !end.After(start) {
		end = start.Add(time.Minute)
	}

	lo, hi := pts[0].Value, pts[0].Value
	for _, p := range pts {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
	}
	if inc.Threshold != nil && finite(*inc.Threshold) {
		lo, hi = math.Min(lo, *inc.Threshold), math.Max(hi, *inc.Threshold)
	}
	if lo >= 0 {
		lo = 0 // a rate, a latency, a count: from zero
	}
	if span := hi - lo; span > 0 {
		hi += span * 0.1
	} else {
		hi = lo + math.Max(math.Abs(lo), 1)
	}

	x := func(t time.Time) float64 {
		return chartLeft + float64(chartColumns)*float64(t.Sub(start))/float64(end.Sub(start))
	}
	y := func(v float64) float64 {
		return chartBottom - float64(chartBottom-chartTop)*(v-lo)/(hi-lo)
	}
	c := &chart{Width: chartWidth, Height: chartHeight, ThresholdY: -1,
		Left: chartLeft, Right: chartRight, TopY: chartTop, BottomY: chartBottom,
		Top: inc.Unit.Format(hi), Bottom: inc.Unit.Format(lo), Start: stamp(start), End: stamp(end)}
	if inc.Threshold != nil && finite(*inc.Threshold) {
		c.ThresholdY = y(*inc.Threshold)
		c.ThresholdLabel = "threshold " + inc.Unit.Format(*inc.Threshold)
	}

	var line []string
	last := ""
	add := func(px, py float64) {
		if v := fmt.Sprintf("%.1f,%.1f", px, py); v != last {
			line = append(line, v)
			last = v
		}
	}
	prev := -1.0
	for _, p := range thin(pts, x) {
		px, py := x(p.At), y(p.Value)
		if prev >= 0 {
			add(px, prev) // the value held until this point
		}
		add(px, py)
		prev = py
	}
	c.Line = strings.Join(line, " ")
	if len(pts) <= maxDots {
		for _, p := range pts {
			c.Dots = append(c.Dots, dot{X: x(p.At), Y: y(p.Value), Title: stamp(p.At) + ": " + inc.Unit.Format(p.Value)})
		}
	}
	c.Description = fmt.Sprintf("%s from %s to %s: %d points between %s and %s", valueName(inc), c.Start, c.End, len(pts),
		inc.Unit.Format(minOf(pts)), inc.Unit.Format(maxOf(pts)))
	return c
}

// thin keeps, of the points that fall in one column of the plot, the
// first, the lowest, the highest and the last, in their order: a week of
// minutes draws as a few thousand vertices, and no spike is lost.
func thin(pts []incident.ValuePoint, x func(time.Time) float64) []incident.ValuePoint {
	if len(pts) <= 2*chartColumns {
		return pts
	}
	var out []incident.ValuePoint
	for i := 0; i < len(pts); {
		col := int(x(pts[i].At))
		j := i
		lo, hi := i, i
		for j < len(pts) && int(x(pts[j].At)) == col {
			if pts[j].Value < pts[lo].Value {
				lo = j
			}
			if pts[j].Value > pts[hi].Value {
				hi = j
			}
			j++
		}
		keep := []int{i, lo, hi, j - 1}
		if hi < lo {
			keep[1], keep[2] = hi, lo
		}
		last := -1
		for _, k := range keep {
			if k != last {
				out = append(out, pts[k])
				last = k
			}
		}
		i = j
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func minOf(pts []incident.ValuePoint) float64 {
	m := pts[0].Value
	for _, p := range pts {
		m = math.Min(m, p.Value)
	}
	return m
}

func maxOf(pts []incident.ValuePoint) float64 {
	m := pts[0].Value
	for _, p := range pts {
		m = math.Max(m, p.Value)
	}
	return m
}

// valueName is what the value measures, "value" when the unit says not.
func valueName(inc *incident.Incident) string {
	if n := inc.Unit.Name(); n != "" {
		return n
	}
	if inc.Unit.Kind() == incident.UnitRatio {
		return "error rate"
	}
	return "value"
}

// stamp is a time as the page shows it, in UTC.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
