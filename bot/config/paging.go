package config

import (
	"time"
)

// Default paging and reminder settings.
const (
	DefaultPagerDutyURL        = "https://events.pagerduty.com"
	DefaultAckWithin           = 5 * time.Minute
	DefaultUpdateEveryCritical = 30 * time.Minute
	DefaultUpdateEvery         = time.Hour
)

// PagerDuty is paging through PagerDuty's Events API v2: without a routing
// key warroom pages nobody.
type PagerDuty struct {
	// RoutingKey is the integration key of the PagerDuty service (32
	// characters), a secret.
	RoutingKey     Secret `yaml:"routing_key" json:"routing_key"`
	RoutingKeyFile string `yaml:"routing_key_file" json:"routing_key_file"`
	// URL is the Events API's base URL; default https://events.pagerduty.com.
	URL string `yaml:"url" json:"url"`
}

// Configured reports whether paging is on.
func (p PagerDuty) Configured() bool { return p.RoutingKey != "" }

// pagerDutyKeyLen is the length of a routing key
// (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).
const pagerDutyKeyLen = 32

// validate checks the section; resolved says that ResolveSecrets ran.
func (p PagerDuty) validate(bad func(string, ...any), resolved bool) {
	checkURL(bad, "pagerduty.url", p.URL)
	// Before resolution the key may be a ${VAR} reference.
	if resolved && p.RoutingKey != "" && len(p.RoutingKey) != pagerDutyKeyLen {
		bad("pagerduty.routing_key: must be %d characters (the integration key of an Events API v2 integration), is %d", pagerDutyKeyLen, len(p.RoutingKey))
	}
}

// Reminders keep an open incident moving. Each is on by default; an
// explicit 0 turns it off.
type Reminders struct {
	// AckWithin: an incident not acknowledged this long after its war
	// room opened gets a nudge in the room and the announce channel, and
	// a page when paging is configured. Default 5m.
	AckWithin *Duration `yaml:"ack_within" json:"ack_within"`
	// UpdateEvery: an open incident without a status update (a note, a
	// state change) this long gets a nudge to its commander. Default 30m
	// for critical incidents, 60m for the others.
	UpdateEvery *Duration `yaml:"update_every" json:"update_every"`
}

func (r Reminders) validate(bad func(string, ...any)) {
	if r.AckWithin != nil && *r.AckWithin < 0 {
		bad("reminders.ack_within: %v is negative (0 turns it off)", *r.AckWithin)
	}
	if r.UpdateEvery != nil && *r.UpdateEvery < 0 {
		bad("reminders.update_every: %v is negative (0 turns it off)", *r.UpdateEvery)
	}
}

// AckWithinOr is how long a war room may stay unacknowledged; 0: no
// reminder.
func (r Reminders) AckWithinOr() time.Duration {
	if r.AckWithin == nil {
		return DefaultAckWithin
	}
	return r.AckWithin.Duration()
}

// UpdateEveryFor is how long an incident, critical or not, may go
// without a status update; 0: no reminder.
func (r Reminders) UpdateEveryFor(critical bool) time.Duration {
	switch {
	case r.UpdateEvery != nil:
		return r.UpdateEvery.Duration()
	case critical:
		return DefaultUpdateEveryCritical
	}
	return DefaultUpdateEvery
}
