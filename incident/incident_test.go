package incident

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestFormatRatio(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v             float64
		want, precise string
	}{
		{0.03107142857142857, "3.11%", "3.10714%"},
		{0.008, "0.8%", "0.8%"},
		{0.0018253968, "0.18%", "0.18254%"},
		{0, "0%", "0%"},
		{1, "100%", "100%"},
		{-0.25, "-25%", "-25%"},
		{-1e-9, "0%", "-1e-07%"},
		{math.Copysign(0, -1), "0%", "-0%"},
		{5e-324, "0%", "4.94066e-322%"},
		{999999, "99999900%", "9.99999e+07%"},
		// Too large for a readable percentage: the ratio itself.
		{1e6, "1e+06", "1e+06"},
		{1e300, "1e+300", "1e+300"},
		{1e308, "1e+308", "1e+308"},
		{math.MaxFloat64, "1.8e+308", "1.79769e+308"},
		{-math.MaxFloat64, "-1.8e+308", "-1.79769e+308"},
		// What Prometheus may return, written as Prometheus writes it.
		{math.NaN(), "NaN", "NaN"},
		{math.Inf(1), "+Inf", "+Inf"},
		{math.Inf(-1), "-Inf", "-Inf"},
	} {
		// The zero Unit is a ratio: incidents stored before units.
		for _, u := range []Unit{UnitRatio, ""} {
			if got := u.Format(tc.v); got != tc.want {
				t.Errorf("Unit(%q).Format(%v) = %q, want %q", u, tc.v, got, tc.want)
			}
			if got := u.FormatPrecise(tc.v); got != tc.precise {
				t.Errorf("Unit(%q).FormatPrecise(%v) = %q, want %q", u, tc.v, got, tc.precise)
			}
		}
	}
}

func TestFormatUnits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		u             Unit
		v             float64
		want, precise string
	}{
		{UnitSeconds, 0.75, "750 ms", "750 ms"},
		{UnitSeconds, 0.0005, "0.5 ms", "0.5 ms"},
		{UnitSeconds, 0.5, "500 ms", "500 ms"},
		{UnitSeconds, 1.25, "1.25 s", "1.25 s"},
		{UnitSeconds, 90, "1.5 min", "1.5 min"},
		{UnitSeconds, 5400, "1.5 h", "1.5 h"},
		{UnitSeconds, 0.123456789, "123.46 ms", "123.457 ms"},
		{UnitSeconds, math.NaN(), "NaN", "NaN"},
		{UnitCount, 63, "63", "63"},
		{UnitCount, 2.5, "2.5", "2.5"},
		{CountOf("failure"), 63, "63 failures", "63 failures"},
		{CountOf("failure"), 1, "1 failure", "1 failure"},
		{CountOf("failure"), 0, "0 failures", "0 failures"},
		{CountOf("retry"), 3, "3 retries", "3 retries"},
		{CountOf("day"), 3, "3 days", "3 days"},
		{CountOf("crash"), 2, "2 crashes", "2 crashes"},
		{CountOf("person/people"), 2, "2 people", "2 people"},
		{CountOf("person/people"), 1, "1 person", "1 person"},
		{CountOf("failure"), 1e300, "1e+300", "1e+300"},
	} {
		if got := tc.u.Format(tc.v); got != tc.want {
			t.Errorf("Unit(%q).Format(%v) = %q, want %q", tc.u, tc.v, got, tc.want)
		}
		if got := tc.u.FormatPrecise(tc.v); got != tc.precise {
			t.Errorf("Unit(%q).FormatPrecise(%v) = %q, want %q", tc.u, tc.v, got, tc.precise)
		}
	}
	if k := CountOf("failure").Kind(); k != UnitCount {
		t.Errorf("CountOf(failure).Kind() = %q", k)
	}
	if k := Unit("").Kind(); k != UnitRatio {
		t.Errorf("Unit(\"\").Kind() = %q", k)
	}
}

// A unit keeps the name of what it measures and a count's window beside
// its kind and noun, and formats as its base.
func TestUnitNameAndWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		u          Unit
		kind       Unit
		noun, name string
		window     time.Duration
		format     string
	}{
		{UnitSeconds.Named("P99 latency"), UnitSeconds, "", "P99 latency", 0, "1.8 s"},
		{CountOf("auth failure").Over(10 * time.Minute), UnitCount, "auth failure", "", 10 * time.Minute, "1.8 auth failures"},
		{CountOf("failure").Named("TLS").Over(time.Minute), UnitCount, "failure", "TLS", time.Minute, "1.8 failures"},
		{UnitRatio.Named("error rate"), UnitRatio, "", "error rate", 0, "180%"},
		{UnitSeconds.Named("").Over(0), UnitSeconds, "", "", 0, "1.8 s"},
		{Unit(""), UnitRatio, "", "", 0, "180%"},
		{Unit("count:x;window=soon"), UnitCount, "x", "", 0, "1.8 xes"},
	} {
		if k, n, name, w, f := tc.u.Kind(), tc.u.Noun(), tc.u.Name(), tc.u.Window(), tc.u.Format(1.8); k != tc.kind || n != tc.noun || name != tc.name || w != tc.window || f != tc.format {
			t.Errorf("Unit(%q): kind %q, noun %q, name %q, window %v, Format(1.8) %q; want %q, %q, %q, %v, %q",
				tc.u, k, n, name, w, f, tc.kind, tc.noun, tc.name, tc.window, tc.format)
		}
	}
	for _, tc := range []struct {
		u              Unit
		v              float64
		measure, limit string
	}{
		{UnitSeconds.Named("P99 latency"), 1.8, "P99 latency 1.8 s", "1.8 s"},
		{CountOf("auth failure").Over(10 * time.Minute), 63, "63 auth failures in 10 min", "63"},
		{CountOf("TLS handshake failure").Over(5 * time.Minute), 1, "1 TLS handshake failure in 5 min", "1"},
		{UnitRatio, 0.0311, "3.11%", "3.11%"},
		{CountOf("failure"), 50, "50 failures", "50"},
	} {
		if m, l := tc.u.Measure(tc.v), tc.u.Limit(tc.v); m != tc.measure || l != tc.limit {
			t.Errorf("Unit(%q): Measure(%v) = %q, Limit = %q; want %q, %q", tc.u, tc.v, m, l, tc.measure, tc.limit)
		}
	}
	if m := UnitSeconds.Named("P99 latency").MeasurePrecise(0.5000001); m != "P99 latency 500 ms" {
		t.Errorf("MeasurePrecise = %q", m)
	}
	if u := UnitSeconds.Named("P99 latency"); u != "seconds;name=P99 latency" {
		t.Errorf("stored form %q", u)
	}
}

// TestFormatValueTotal checks, over float64 values spread across every
// exponent, that a finite value never shows as an infinity or NaN, and that
// the text stays short.
func TestFormatValueTotal(t *testing.T) {
	t.Parallel()
	for exp := -1074; exp <= 1023; exp++ {
		for _, m := range []float64{1, 1.5, 1.999999} {
			for _, sign := range []float64{1, -1} {
				v := sign * math.Ldexp(m, exp)
				if math.IsInf(v, 0) {
					continue
				}
				for name, f := range map[string]func(float64) string{
					"ratio": UnitRatio.Format, "ratio precise": UnitRatio.FormatPrecise,
					"seconds": UnitSeconds.Format, "seconds precise": UnitSeconds.FormatPrecise,
					"count": UnitCount.Format, "count precise": UnitCount.FormatPrecise,
				} {
					s := f(v)
					if strings.Contains(s, "Inf") || strings.Contains(s, "NaN") || len(s) > 16 || s == "" {
						t.Fatalf("%s(%g) = %q: want a short finite number", name, v, s)
					}
				}
			}
		}
	}
}

func TestParseID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"INC-7": "INC-7", "inc-7": "INC-7", "7": "INC-7", " INC-12 ": "INC-12"} {
		if got, err := ParseID(in); err != nil || got != want {
			t.Errorf("ParseID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "INC-", "INC-0", "INC--1", "X-7", "INC-7a"} {
		if _, err := ParseID(bad); ErrorCode(err) != EINVALID {
			t.Errorf("ParseID(%q): %v, want an invalid error", bad, err)
		}
	}
}

func TestParseState(t *testing.T) {
	t.Parallel()
	if s, err := ParseState(" Resolved "); err != nil || s != Resolved {
		t.Errorf("ParseState: %v %v", s, err)
	}
	if _, err := ParseState("exploded"); err == nil {
		t.Error("unknown state accepted")
	}
}

func TestJobKeys(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	if j := NewJob(JobSlackCreateChannel, "INC-1", JobArgs{}, now); j.Key != "slack.create_channel:INC-1" || j.Coalesce || !j.RunAt.Equal(now) {
		t.Errorf("step key %+v", j)
	}
	if j := NewJob(JobJiraComment, "INC-1", JobArgs{EventID: 9}, now); j.Key != "jira.comment:INC-1:9" {
		t.Errorf("event step key %q", j.Key)
	}
	j := NewJob(JobSlackUpdate, "INC-1", JobArgs{EventID: 9}, now)
	if j.Key != "slack.update:INC-1" || !j.Coalesce || !j.RunAt.Equal(now.Add(CoalesceDelay)) {
		t.Errorf("coalesced key %+v", j)
	}
	next := Successors(NewJob(JobSlackCreateChannel, "INC-1", JobArgs{}, now), now)
	if len(next) != 4 || next[0].Kind != JobSlackSetTopic {
		t.Errorf("successors of create_channel: %+v", next)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	if Backoff(1) != time.Second || Backoff(3) != 81*time.Second || Backoff(100) != time.Hour {
		t.Errorf("backoff: %s %s %s", Backoff(1), Backoff(3), Backoff(100))
	}
}

func TestStepTable(t *testing.T) {
	t.Parallel()
	seen := map[JobKind]bool{}
	for _, s := range steps {
		if seen[s.kind] {
			t.Errorf("%s is in the step table twice", s.kind)
		}
		seen[s.kind] = true
		if s.after != "" && s.needs != "" {
			t.Errorf("%s has both after and needs", s.kind)
		}
	}
	for _, s := range steps {
		for _, k := range []JobKind{s.after, s.needs} {
			if k != "" && !seen[k] {
				t.Errorf("%s waits for %s, which is not a step", s.kind, k)
			}
		}
		// Following needs from any step ends at a step that needs none.
		k, hops := s.kind, 0
		for ; k.Needs() != "" && hops <= len(steps); hops++ {
			k = k.Needs()
		}
		if hops > len(steps) {
			t.Errorf("%s: the steps it needs form a cycle", s.kind)
		}
	}
	for _, k := range openSteps {
		if k.Needs() != "" {
			t.Errorf("%s opens a war room but needs %s", k, k.Needs())
		}
	}
	if got := JobKinds(); len(got) != len(steps) || got[0] != JobSlackCreateChannel {
		t.Errorf("JobKinds: %v", got)
	}
	if !JobCorrelateGather.Awaited() || JobSlackPostSummary.Awaited() {
		t.Error("Awaited does not follow the table")
	}
	if JobSlackPinSummary.Needs() != JobSlackPostSummary || JobJiraTransition.Needs() != JobJiraCreateIssue || JobCorrelateGather.Needs() != "" {
		t.Error("Needs does not follow the table")
	}
}

func TestAwaitNeed(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 4, 24, 38, 0, time.UTC)
	create := func(state JobOutcome, runAt time.Time) JobStatus {
		return JobStatus{Job: Job{Kind: JobJiraCreateIssue, RunAt: runAt}, State: state}
	}
	other := JobStatus{Job: Job{Kind: JobSlackCreateChannel, RunAt: now}, State: JobPending}
	var snooze *SnoozeError
	var retry *RetryError
	for _, c := range []struct {
		name string
		jobs []JobStatus
		want func(error) bool
	}{
		{"pending, due", []JobStatus{other, create(JobPending, now)},
			func(err error) bool { return errors.As(err, &snooze) && snooze.Wait == 2*time.Second }},
		{"backing off for a minute", []JobStatus{create(JobPending, now.Add(time.Minute))},
			func(err error) bool { return errors.As(err, &snooze) && snooze.Wait == time.Minute }},
		{"running", []JobStatus{create(JobRunning, now.Add(-time.Minute))},
			func(err error) bool { return errors.As(err, &snooze) && snooze.Wait == 2*time.Second }},
		{"failed for good", []JobStatus{other, create(JobFailed, now)},
			func(err error) bool { return errors.Is(err, ErrNeedGone) }},
		{"failed once, a second run waiting", []JobStatus{create(JobFailed, now), create(JobPending, now)},
			func(err error) bool { return errors.As(err, &snooze) }},
		{"never queued", []JobStatus{other},
			func(err error) bool { return errors.Is(err, ErrNeedGone) }},
		{"done, not on the incident yet", []JobStatus{create(JobDone, now)},
			func(err error) bool { return errors.As(err, &retry) }},
	} {
		if err := AwaitNeed(JobJiraTransition, c.jobs, now); !c.want(err) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// The summary is queued once the channel exists: an update waits while
	// the channel is being made, and gives up once that failed.
	channel := func(state JobOutcome) JobStatus {
		return JobStatus{Job: Job{Kind: JobSlackCreateChannel, RunAt: now}, State: state}
	}
	if err := AwaitNeed(JobSlackUpdate, []JobStatus{channel(JobRunning)}, now); !errors.As(err, &snooze) {
		t.Errorf("update while the channel is being made: %v", err)
	}
	if err := AwaitNeed(JobSlackUpdate, []JobStatus{channel(JobFailed)}, now); !errors.Is(err, ErrNeedGone) {
		t.Errorf("update after the channel failed for good: %v", err)
	}
	if err := AwaitNeed(JobCorrelateGather, nil, now); !errors.Is(err, ErrNeedGone) {
		t.Errorf("a step that needs none: %v", err)
	}
}

// An incident is its key's, so its title names the service, not the one
// pod (or instance) whose alert happened to open it.
func TestTitle(t *testing.T) {
	t.Parallel()
	dec := Decision{Key: "api-error-rate/env=prod,service=search", Service: "search", Env: "prod"}
	for _, tc := range []struct {
		labels  map[string]string
		summary string
		dec     Decision
		want    string
	}{
		{map[string]string{"pod": "search-0", "service": "search", "env": "prod"}, "search-0 error rate is 5.107%", dec, "search error rate is 5.107%"},
		{map[string]string{"pod": "search-7d9f-x2k", "service": "search"}, "error rate of search-7d9f-x2k in prod", dec, "error rate of search in prod"},
		{map[string]string{"instance": "10.0.0.5:8080", "service": "search"}, "10.0.0.5:8080 answers 5xx", dec, "PodErrorRate on search"},
		{map[string]string{"node": "worker-3", "service": "search"}, "errors on worker-3", dec, "PodErrorRate on search"},
		// The service's own labels, and the key's, are the incident's.
		{map[string]string{"service": "search", "env": "prod", "cluster": "prod-eu-1"}, "search error rate is 5.1%", dec, "search error rate is 5.1%"},
		{map[string]string{"service": "search", "cluster": "prod-eu-1"}, "search error rate in prod-eu-1", Decision{Key: "r/cluster=prod-eu-1,service=search", Service: "search"},
			"search error rate in prod-eu-1"},
		// A value inside another word, or a number, names no member.
		{map[string]string{"pod": "arch", "shard": "12", "service": "search"}, "searching 12 shards", dec, "searching 12 shards"},
		{map[string]string{"pod": "search-0", "service": "search"}, "", dec, "PodErrorRate on search"},
		{map[string]string{"pod": "search-0"}, "search-0 is down", Decision{Key: "r/"}, "search-0 is down"},
	} {
		tc.labels["alertname"] = "PodErrorRate"
		a := &Alert{Labels: tc.labels, Annotations: map[string]string{"summary": tc.summary}}
		if got := title(a, tc.dec); got != tc.want {
			t.Errorf("title(%v, %q) = %q, want %q", tc.labels, tc.summary, got, tc.want)
		}
	}
}
