package httpapi

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/warroom/warroom/incident"
)

// Metrics are the bot's own Prometheus metrics. Labels are bounded: never
// an incident ID, a service name or a label value from an alert.
type Metrics struct {
	webhooks        *prometheus.CounterVec
	webhookDuration *prometheus.HistogramVec
	alerts          *prometheus.CounterVec
	jobRuns         *prometheus.CounterVec
	jobDuration     *prometheus.HistogramVec
	apiRequests     *prometheus.CounterVec
	withheld        prometheus.Counter
	reloadOK        prometheus.Gauge
	reloadAt        prometheus.Gauge
	timeToAck       *prometheus.HistogramVec
	timeToResolve   *prometheus.HistogramVec
}

// NewMetrics registers the metrics with reg; the incident counts and the
// job queue are read from store at scrape time, the queue's age as of now.
func NewMetrics(reg prometheus.Registerer, store incident.Store, now func() time.Time) *Metrics {
	f := promauto.With(reg)
	m := &Metrics{
		webhooks: f.NewCounterVec(prometheus.CounterOpts{
			Name: "warroom_webhooks_total",
			Help: "Webhook deliveries by source and outcome (accepted, bad_request, unauthorized, too_large, busy, unavailable).",
		}, []string{"source", "outcome"}),
		webhookDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "warroom_webhook_duration_seconds",
			Help:    "Time to answer a webhook, commit included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"source"}),
		alerts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "warroom_alerts_total",
			Help: "Alerts received, by the decision their rule made.",
		}, []string{"decision"}),
		jobRuns: f.NewCounterVec(prometheus.CounterOpts{
			Name: "warroom_job_runs_total",
			Help: "Side-effect job runs by kind and outcome (completed, retry, snoozed, failed).",
		}, []string{"kind", "outcome"}),
		jobDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "warroom_job_duration_seconds",
			Help:    "Duration of one job run.",
			Buckets: prometheus.DefBuckets,
		}, []string{"kind"}),
		apiRequests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "warroom_api_requests_total",
			Help: "JSON API requests by route and status code.",
		}, []string{"route", "code"}),
		withheld: f.NewCounter(prometheus.CounterOpts{
			Name: "warroom_war_rooms_withheld_total",
			Help: "War rooms not opened because of a cap on new war rooms (limits.*); the incidents were recorded instead.",
		}),
		// The names Prometheus and Alertmanager give theirs.
		reloadOK: f.NewGauge(prometheus.GaugeOpts{
			Name: "warroom_config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful.",
		}),
		reloadAt: f.NewGauge(prometheus.GaugeOpts{
			Name: "warroom_config_last_reload_success_timestamp_seconds",
			Help: "Timestamp of the last successful configuration reload.",
		}),
		timeToAck: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "warroom_time_to_acknowledge_seconds",
			Help: "Time from a war room's opening to its first acknowledge (or a mitigate before any), " +
				"by rule and severity; observed once per acknowledge that commits.",
			Buckets: responseBuckets,
		}, []string{"rule", "severity"}),
		timeToResolve: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "warroom_time_to_resolve_seconds",
			Help:    "Time from a war room's opening to its resolve, by rule and severity; observed once per resolve that commits.",
			Buckets: responseBuckets,
		}, []string{"rule", "severity"}),
	}
	reg.MustRegister(&incidentCollector{store: store, desc: prometheus.NewDesc(
		"warroom_incidents", "Incidents by state; war_room=\"false\" are the recorded ones.",
		[]string{"state", "war_room"}, nil)})
	reg.MustRegister(&jobCollector{store: store, now: now,
		jobs: prometheus.NewDesc("warroom_jobs",
			"Jobs (steps) by kind and state: available (waiting or due), running, failed (for good).",
			[]string{"kind", "state"}, nil),
		oldest: prometheus.NewDesc("warroom_jobs_oldest_due_age_seconds",
			"How long the oldest job due and not claimed has been due; 0 when none is.", nil, nil)})
	// Every series a rule or the dashboard reads exists from the start,
	// at 0, so that rate() and absence checks see it.
	for _, source := range []incident.Source{incident.SourceAlertmanager, incident.SourceGrafana} {
		for _, outcome := range webhookOutcomes {
			m.webhooks.WithLabelValues(string(source), outcome)
		}
	}
	for _, k := range incident.JobKinds() {
		m.jobRuns.WithLabelValues(string(k), string(incident.JobFailed))
	}
	return m
}

// ConfigLoaded records a load of the configuration, at start or on a
// reload: ok says whether it is in force now; at is when.
func (m *Metrics) ConfigLoaded(ok bool, at time.Time) {
	if !ok {
		m.reloadOK.Set(0)
		return
	}
	m.reloadOK.Set(1)
	m.reloadAt.Set(float64(at.UnixNano()) / 1e9)
}

// responseBuckets are the buckets of the times to acknowledge and to
// resolve: from 30 seconds to a week.
var responseBuckets = []float64{30, 60, 2 * 60, 5 * 60, 10 * 60, 15 * 60, 30 * 60, 3600, 2 * 3600, 4 * 3600,
	8 * 3600, 12 * 3600, 86400, 2 * 86400, 4 * 86400, 7 * 86400}

// WarRoomTimed observes a war room's time to acknowledge or to resolve:
// incident.Options.WarRoomTimed. The rule is the configuration's; the
// severity, which an alert's label may set, is one of the usual levels
// or "other", so that an exporter cannot grow the series.
func (m *Metrics) WarRoomTimed(t incident.Timing) {
	h := m.timeToResolve
	if t.To == incident.Acknowledged {
		h = m.timeToAck
	}
	h.WithLabelValues(t.Rule, severityLabel(t.Severity)).Observe(t.After.Seconds())
}

// severityLabel bounds the severity label: the rules' usual severities
// and the levels a responder sets, else "other".
func severityLabel(s incident.Severity) string {
	switch s {
	case incident.Critical, incident.Major, incident.Minor, incident.Warning, incident.Info:
		return string(s)
	}
	return "other"
}

// webhookOutcomes are the outcome label's values of warroom_webhooks_total.
var webhookOutcomes = []string{"accepted", "bad_request", "unauthorized", "too_large", "busy", "unavailable"}

// ObserveJob counts a run of a step of kind and its duration: the job
// worker's Observe.
func (m *Metrics) ObserveJob(kind incident.JobKind, outcome incident.JobOutcome, d time.Duration) {
	m.jobRuns.WithLabelValues(string(kind), string(outcome)).Inc()
	m.jobDuration.WithLabelValues(string(kind)).Observe(d.Seconds())
}

// incidentCollector reads incident counts from the store at scrape time, so
// that every replica reports the same truth.
type incidentCollector struct {
	store incident.Store
	desc  *prometheus.Desc
}

func (c *incidentCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *incidentCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.store.Counts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	seen := map[[2]string]bool{}
	for _, n := range counts {
		k := [2]string{string(n.State), boolLabel(n.WarRoom)}
		seen[k] = true
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n.N), k[0], k[1])
	}
	// Zeros too, so that dashboards and alerts see the series exist.
	for _, st := range []incident.State{incident.Triggered, incident.Acknowledged, incident.Mitigated, incident.Resolved} {
		for _, wr := range []bool{true, false} {
			if k := [2]string{string(st), boolLabel(wr)}; !seen[k] {
				ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 0, k[0], k[1])
			}
		}
	}
}

// jobCollector reads the job queue from the store at scrape time (a
// GROUP BY on the index of due jobs, under the store's read timeout):
// the queue is shared by the replicas, so every replica reports the same
// truth, and it outlives a restart, which counters kept by a worker would
// not.
type jobCollector struct {
	store        incident.Store
	now          func() time.Time
	jobs, oldest *prometheus.Desc
}

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.jobs; ch <- c.oldest }

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := c.now()
	q, err := c.store.JobQueue(ctx, now)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.jobs, err)
		ch <- prometheus.NewInvalidMetric(c.oldest, err)
		return
	}
	n := map[[2]string]int{}
	for _, jc := range q.Counts {
		n[[2]string{string(jc.Kind), string(jc.State)}] += jc.N
	}
	for _, k := range incident.JobKinds() {
		for _, st := range []incident.JobOutcome{incident.JobPending, incident.JobRunning, incident.JobFailed} {
			key := [2]string{string(k), string(st)}
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(n[key]), key[0], key[1])
		}
	}
	age := 0.0
	if !q.OldestDue.IsZero() {
		age = max(now.Sub(q.OldestDue).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age)
}

func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
