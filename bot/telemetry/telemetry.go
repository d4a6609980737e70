// Package telemetry is what warroom tells about itself beyond its domain
// metrics (bot/httpapi): the Go and process collectors, its build, its
// calls to outside systems (a RoundTripper that counts, times and traces
// each one by API and method) and the OpenTelemetry tracer, on only when
// an OTLP endpoint is configured. It imports no package of the project.
package telemetry

import (
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are the process's metrics and those of outside calls.
type Metrics struct {
	outbound    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	ready       prometheus.Histogram
}

// NewMetrics registers the Go and process collectors, warroom_build_info
// (version is the stamped version, "" to take the module's) and the
// metrics of outside calls and war rooms with reg.
func NewMetrics(reg prometheus.Registerer, version string) *Metrics {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := promauto.With(reg)
	b := Build(version, debug.ReadBuildInfo)
	f.NewGauge(prometheus.GaugeOpts{
		Name:        "warroom_build_info",
		Help:        "Always 1: the version, VCS revision and Go version warroom was built from.",
		ConstLabels: prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion},
	}).Set(1)
	return &Metrics{
		outbound: f.NewHistogramVec(prometheus.HistogramOpts{
			Name: "warroom_outbound_request_duration_seconds",
			Help: "Calls to outside systems by API (slack, jira, grafana, jaeger, prometheus, alertmanager, rollback), " +
				"method (the API method or route pattern) and outcome (ok, client_error, rate_limited, server_error, error): " +
				"the time to the answer's headers.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"api", "method", "outcome"}),
		rateLimited: f.NewCounterVec(prometheus.CounterOpts{
			Name: "warroom_outbound_rate_limited_total",
			Help: "Calls to outside systems answered 429 Too Many Requests, by API and method.",
		}, []string{"api", "method"}),
		ready: f.NewHistogram(prometheus.HistogramOpts{
			Name: "warroom_war_room_ready_seconds",
			Help: "Time from the webhook that opened an incident to its war room ready: " +
				"the channel with its summary and the ticket, of the systems not in dry run.",
			Buckets: []float64{.25, .5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 900},
		}),
	}
}

// WarRoomReady observes the time a war room took to be ready
// (incident.Options.WarRoomReady).
func (m *Metrics) WarRoomReady(d time.Duration) { m.ready.Observe(d.Seconds()) }

// BuildInfo says what warroom was built from.
type BuildInfo struct {
	Version, Revision, GoVersion string
}

// Build returns the build's version (stamped, else the module's, else
// "(devel)"), VCS revision ("unknown" without one) and Go version.
func Build(stamped string, read func() (*debug.BuildInfo, bool)) BuildInfo {
	b := BuildInfo{Version: stamped, Revision: "unknown", GoVersion: runtime.Version()}
	bi, ok := read()
	if !ok {
		if b.Version == "" {
			b.Version = "(unknown)"
		}
		return b
	}
	if b.Version == "" {
		b.Version = bi.Main.Version
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	if bi.GoVersion != "" {
		b.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			b.Revision = s.Value
		}
	}
	return b
}
