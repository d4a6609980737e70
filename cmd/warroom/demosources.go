package main

import (
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/integrations/grafana/grafanatest"
	"github.com/warroom/warroom/integrations/jaeger/jaegertest"
	"github.com/warroom/warroom/integrations/prometheus/prometheustest"
)

// demoExtras are the fakes of the correlation sources the demo starts.
type demoExtras struct {
	names   []string
	closers []func()
}

func (e *demoExtras) close() {
	for _, c := range e.closers {
		c()
	}
}

// demoQuery is the error-rate query of the demo's rule.
const demoQuery = `sum(rate(http_requests_total{service="payment-gateway",status=~"5.."}[5m])) / sum(rate(http_requests_total{service="payment-gateway"}[5m]))`

// demoSources starts fakes of Grafana, Jaeger and Prometheus seeded for
// payment-gateway, whose alert starts at start, and points cfg at them.
func demoSources(cfg *config.Config, start time.Time) *demoExtras {
	e := &demoExtras{names: []string{"Grafana", "Jaeger", "Prometheus"}}
	g := grafanatest.New()
	g.AddDashboard(grafanatest.Dashboard{UID: "api-golden-signals", Title: "API golden signals", Tags: []string{"payments"}})
	g.AddDashboard(grafanatest.Dashboard{UID: "payments-db", Title: "Payments database", Tags: []string{"payments"}})
	cfg.Grafana.URL, cfg.Grafana.Token = g.URL(), grafanatest.Token

	j := jaegertest.New()
	now := time.Now()
	for i, msg := range []string{"deadlock detected", "deadlock detected", "connection reset by peer"} {
		j.AddTrace(jaegertest.Span{Service: "payment-gateway", Operation: "POST /v1/charge", Start: now.Add(-time.Duration(i+1) * 40 * time.Second),
			Duration: time.Duration(1100+300*i) * time.Millisecond, Error: true, Message: "upstream ledger failed",
			Children: []jaegertest.Span{{Service: "ledger", Operation: "INSERT payments", Duration: 800 * time.Millisecond, Error: true, Message: msg}}})
	}
	cfg.Jaeger.URL = j.URL()

	p := prometheustest.New()
	// 3.11% when the alert started, 2.43% since: the demo's "now" is a
	// moment after the start.
	since := now
	if !since.After(start) {
		since = start.Add(time.Millisecond)
	}
	p.SetSeries(demoQuery, prometheustest.Point{At: start.Add(-time.Minute), Value: 0.0311}, prometheustest.Point{At: since, Value: 0.0243})
	cfg.Prometheus.URL = p.URL()

	e.closers = append(e.closers, g.Close, j.Close, p.Close)
	return e
}
