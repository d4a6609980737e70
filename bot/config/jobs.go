package config

import (
	"time"

	"github.com/warroom/warroom/incident"
)

// Jobs tunes the worker that runs the side-effect steps. Zero values
// take the defaults of incident.WorkerOptions.
type Jobs struct {
	// Lease is how long a claimed job stays this replica's without a
	// heartbeat; a job held by a replica that died runs elsewhere within
	// about Lease + Lease/3. Default 15s.
	Lease Duration `yaml:"lease" json:"lease"`
	// Heartbeat is how often running jobs renew their leases; default
	// Lease/3.
	Heartbeat Duration `yaml:"heartbeat" json:"heartbeat"`
	// ShutdownGrace is how long running jobs may go on after SIGTERM
	// before they are cancelled and their leases released; default 5s.
	ShutdownGrace Duration `yaml:"shutdown_grace" json:"shutdown_grace"`
	// Concurrency is how many jobs run at once; default 8.
	Concurrency int `yaml:"concurrency" json:"concurrency"`
}

func (c Jobs) validate(bad func(string, ...any)) {
	if c.Lease < 0 || c.Heartbeat < 0 || c.ShutdownGrace < 0 || c.Concurrency < 0 {
		bad("jobs: lease, heartbeat, shutdown_grace and concurrency must not be negative")
	}
	if c.Lease > 0 && c.Lease.Duration() < 3*time.Second {
		bad("jobs.lease: %v is too short (at least 3s: a heartbeat must reach the store in time)", c.Lease)
	}
	lease := c.Lease.Duration()
	if lease == 0 {
		lease = incident.DefaultLease
	}
	if c.Heartbeat > 0 && c.Heartbeat.Duration() >= lease {
		bad("jobs.heartbeat: %v must be shorter than the lease (%v)", c.Heartbeat, lease)
	}
}
