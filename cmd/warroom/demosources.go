package main

import "github.com/warroom/warroom/bot"

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

// demoSources starts the fakes of Grafana, Jaeger and Prometheus and
// points cfg at them.
func demoSources(cfg *bot.Config) *demoExtras {
	return &demoExtras{}
}
