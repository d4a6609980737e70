package bot

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/incident"
)

// Duration is a time.Duration written as "90s", "2h", "1h30m" in YAML and
// JSON.
type Duration time.Duration

// JobsConfig tunes the worker that runs the side-effect steps. Zero values
// take the defaults of incident.WorkerOptions.
type JobsConfig struct {
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

func (c JobsConfig) validate(bad func(string, ...any)) {
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

func (d Duration) String() string { return time.Duration(d).String() }

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// MarshalText implements encoding.TextMarshaler, for YAML and JSON.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML reports a bad duration with its line and lets the decoder
// go on, so that one run shows every problem of the file.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want a duration like 90s or 2h", n.Line)}}
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (want e.g. 90s, 2h, 1h30m)", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}
