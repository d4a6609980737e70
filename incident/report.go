package incident

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ReportIncident is what the report reads of one incident
// (Store.ReportIncidents).
type ReportIncident struct {
	Service string
	WarRoom bool
	// InStorm: a storm's child, whose war room is its storm's.
	InStorm        bool
	OpenedAt       time.Time
	AcknowledgedAt *time.Time
	MitigatedAt    *time.Time
	ResolvedAt     *time.Time
	// Suspect: correlation named a suspect deploy.
	Suspect bool
	// RollbackRequested: a rollback was requested on the timeline (read
	// only when Suspect).
	RollbackRequested bool
	// Alerts counts the alerts of a recorded incident (0 for the others).
	Alerts int
}

// Report is what a team learns from the incidents opened in a window:
// per service, how many, how fast their war rooms were acknowledged and
// resolved, and how often the suspect deploy was rolled back.
type Report struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Services are ordered by incidents, most first, then by name.
	Services []ServiceReport `json:"services"`
	// Total is every service's incidents together (its service is "").
	Total ServiceReport `json:"total"`
}

// ServiceReport is one service's row of a Report.
type ServiceReport struct {
	Service   string `json:"service"`
	Incidents int    `json:"incidents"`
	// WarRooms, StormChildren and Recorded split Incidents: war rooms of
	// their own (storms among them, as the service "storm"), children of
	// a storm, and incidents only recorded.
	WarRooms       int `json:"war_rooms"`
	StormChildren  int `json:"storm_children"`
	Recorded       int `json:"recorded"`
	RecordedAlerts int `json:"recorded_alerts"`
	// TimeToAcknowledge is over the war rooms acknowledged (or mitigated
	// before any acknowledge); Unacknowledged counts the others, still
	// open or resolved without one. TimeToResolve is over the war rooms
	// resolved; Unresolved counts those still open. Neither is guessed
	// for the ones left out.
	TimeToAcknowledge Durations `json:"time_to_acknowledge"`
	Unacknowledged    int       `json:"unacknowledged"`
	TimeToResolve     Durations `json:"time_to_resolve"`
	Unresolved        int       `json:"unresolved"`
	// SuspectDeploys counts the incidents with a suspect deploy,
	// RolledBack those of them with a rollback requested on their
	// timeline; RollbackRate is RolledBack / SuspectDeploys, nil when
	// there were none.
	SuspectDeploys int      `json:"suspect_deploys"`
	RolledBack     int      `json:"rolled_back"`
	RollbackRate   *float64 `json:"rollback_rate"`
}

// Durations summarises measured durations: how many, their median and
// 90th percentile (Percentile), in seconds; nil when none was measured.
type Durations struct {
	Count  int      `json:"count"`
	Median *float64 `json:"median_seconds"`
	P90    *float64 `json:"p90_seconds"`
}

// summarise sorts ds and summarises them.
func summarise(ds []time.Duration) Durations {
	slices.Sort(ds)
	out := Durations{Count: len(ds)}
	if m, ok := Percentile(ds, 0.5); ok {
		v := m.Seconds()
		out.Median = &v
	}
	if p, ok := Percentile(ds, 0.9); ok {
		v := p.Seconds()
		out.P90 = &v
	}
	return out
}

// Percentile returns the p-quantile (0 ≤ p ≤ 1) of sorted durations by
// linear interpolation between the closest ranks (the definition of
// PostgreSQL's percentile_cont and of numpy's default): the median of an
// even count is the mean of the two middle values, of one value that
// value. ok is false when there is none.
func Percentile(sorted []time.Duration, p float64) (d time.Duration, ok bool) {
	if len(sorted) == 0 {
		return 0, false
	}
	p = min(max(p, 0), 1)
	rank := p * float64(len(sorted)-1)
	lo := int(math.Floor(rank))
	hi := min(lo+1, len(sorted)-1)
	frac := rank - float64(lo)
	return sorted[lo] + time.Duration(math.Round(frac*float64(sorted[hi]-sorted[lo]))), true
}

// BuildReport summarises the incidents opened between since and until.
func BuildReport(rows []ReportIncident, since, until time.Time) *Report {
	type acc struct {
		row      ServiceReport
		ack, res []time.Duration
	}
	by := map[string]*acc{}
	total := &acc{}
	for _, r := range rows {
		a := by[r.Service]
		if a == nil {
			a = &acc{row: ServiceReport{Service: r.Service}}
			by[r.Service] = a
		}
		for _, into := range []*acc{a, total} {
			into.row.add(r)
			if !r.WarRoom {
				continue
			}
			// Someone is on it from the first acknowledge, or from a
			// mitigate that came first (as the metric counts it).
			if at := cmp.Or(r.AcknowledgedAt, r.MitigatedAt); at != nil {
				into.ack = append(into.ack, max(at.Sub(r.OpenedAt), 0))
			} else {
				into.row.Unacknowledged++
			}
			if r.ResolvedAt != nil {
				into.res = append(into.res, max(r.ResolvedAt.Sub(r.OpenedAt), 0))
			} else {
				into.row.Unresolved++
			}
		}
	}
	finish := func(a *acc) ServiceReport {
		a.row.TimeToAcknowledge, a.row.TimeToResolve = summarise(a.ack), summarise(a.res)
		if a.row.SuspectDeploys > 0 {
			v := float64(a.row.RolledBack) / float64(a.row.SuspectDeploys)
			a.row.RollbackRate = &v
		}
		return a.row
	}
	out := &Report{Since: since.UTC(), Until: until.UTC(), Services: []ServiceReport{}, Total: finish(total)}
	for _, a := range by {
		out.Services = append(out.Services, finish(a))
	}
	slices.SortFunc(out.Services, func(x, y ServiceReport) int {
		return cmp.Or(cmp.Compare(y.Incidents, x.Incidents), strings.Compare(x.Service, y.Service))
	})
	return out
}

// add counts one incident in the row.
func (s *ServiceReport) add(r ReportIncident) {
	s.Incidents++
	switch {
	case r.WarRoom:
		s.WarRooms++
	case r.InStorm:
		s.StormChildren++
	default:
		s.Recorded++
		s.RecordedAlerts += r.Alerts
	}
	if r.Suspect {
		s.SuspectDeploys++
		if r.RollbackRequested {
			s.RolledBack++
		}
	}
}

// Report summarises the incidents opened within window before now.
func (s *Service) Report(ctx context.Context, window time.Duration) (*Report, error) {
	until := s.opts.Now()
	since := until.Add(-window)
	rows, err := s.store.ReportIncidents(ctx, since)
	if err != nil {
		return nil, err
	}
	return BuildReport(rows, since, until), nil
}

// DefaultReportWindow is how far back a report looks unless told.
const DefaultReportWindow = 30 * 24 * time.Hour

// MaxReportWindow bounds how far back a report may look: ten years.
const MaxReportWindow = 3650 * 24 * time.Hour

// ParseReportWindow parses how far back a report looks: whole days
// ("30d") or a Go duration ("36h", "90m", "1h30m"), more than zero and at
// most 3650d. Anything else is EINVALID, naming the forms.
func ParseReportWindow(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(in, "d"); ok {
		var n int64
		n, err = strconv.ParseInt(days, 10, 64)
		if err == nil && n > int64(MaxReportWindow/(24*time.Hour)) {
			return 0, Errorf(EINVALID, "%q is out of range: at most 3650d", truncate(s, 20))
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(in)
	}
	switch {
	case err != nil:
		return 0, Errorf(EINVALID, "%q is not a window: want days such as 30d, or a Go duration such as 36h or 90m", truncate(s, 20))
	case d <= 0:
		return 0, Errorf(EINVALID, "%q: the window must be longer than zero (days such as 30d, or a Go duration such as 36h)", truncate(s, 20))
	case d > MaxReportWindow:
		return 0, Errorf(EINVALID, "%q is out of range: at most 3650d", truncate(s, 20))
	}
	return d, nil
}

// FormatReportWindow renders a window as ParseReportWindow reads it:
// whole days as "30d", anything else as a Go duration.
func FormatReportWindow(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	// As asked: 36h, not 36h0m0s; 1h30m, not 1h30m0s.
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// truncate cuts s to at most n runes, so that an error never echoes a
// long input.
func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
