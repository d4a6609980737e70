package config

import (
	"fmt"

	"github.com/warroom/warroom/incident"
)

// Limits caps what a storm may make warroom do. Beyond a cap on new
// war rooms, incidents are recorded (war_room false, visible with
// `incidents list --all`) with the reason on their timeline; a later
// delivery for the same key, under the cap, makes the war room.
type Limits struct {
	// MaxNewWarRoomsPerDelivery caps the war rooms one webhook delivery
	// opens. Default 10.
	MaxNewWarRoomsPerDelivery int `yaml:"max_new_war_rooms_per_delivery" json:"max_new_war_rooms_per_delivery"`
	// MaxNewWarRoomsPerMinute caps the war rooms opened in any minute,
	// across replicas. Default 20, Slack's channel creation rate.
	MaxNewWarRoomsPerMinute int `yaml:"max_new_war_rooms_per_minute" json:"max_new_war_rooms_per_minute"`
}

func (l *Limits) applyDefaults() {
	if l.MaxNewWarRoomsPerDelivery == 0 {
		l.MaxNewWarRoomsPerDelivery = incident.DefaultMaxNewWarRoomsPerDelivery
	}
	if l.MaxNewWarRoomsPerMinute == 0 {
		l.MaxNewWarRoomsPerMinute = incident.DefaultMaxNewWarRoomsPerMinute
	}
}

// maxWarRoomCap bounds the caps: beyond it a cap caps nothing, and a typo
// (an extra zero or two) should be caught, not obeyed.
const maxWarRoomCap = 1000

func (l *Limits) validate() []error {
	var errs []error
	for _, c := range []struct {
		key string
		v   int
	}{
		{"limits.max_new_war_rooms_per_delivery", l.MaxNewWarRoomsPerDelivery},
		{"limits.max_new_war_rooms_per_minute", l.MaxNewWarRoomsPerMinute},
	} {
		if c.v < 1 || c.v > maxWarRoomCap {
			errs = append(errs, fmt.Errorf("%s: %d is not from 1 to %d", c.key, c.v, maxWarRoomCap))
		}
	}
	return errs
}
