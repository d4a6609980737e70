package config

import "time"

// Default storm settings.
const (
	DefaultStormThreshold = 5
	DefaultStormWindow    = 5 * time.Minute
)

// maxStormWindow bounds storm.window: the war rooms' starts are kept a
// day, and a storm is a burst, not a bad week.
const maxStormWindow = 24 * time.Hour

// Storm turns many war rooms at once (a shared dependency failing) into
// one storm war room: once Threshold war rooms have opened within Window,
// the incidents that would open more join the storm instead, until it
// resolves (docs/DECISIONS.md, D18).
type Storm struct {
	// Threshold is how many war rooms open within Window before a storm
	// is declared. Default 5; 0 turns storms off.
	Threshold *int `yaml:"threshold" json:"threshold"`
	// Window is how close together they open. Default 5m.
	Window *Duration `yaml:"window" json:"window"`
}

func (s Storm) validate(bad func(string, ...any)) {
	if s.Threshold != nil && (*s.Threshold < 0 || *s.Threshold > maxWarRoomCap) {
		bad("storm.threshold: %d is not from 0 (off) to %d", *s.Threshold, maxWarRoomCap)
	}
	if s.Window != nil && (*s.Window <= 0 || s.Window.Duration() > maxStormWindow) {
		bad("storm.window: %v is not above 0 and at most 24h", *s.Window)
	}
}

// ThresholdOr is the storm threshold; 0: no storms.
func (s Storm) ThresholdOr() int {
	if s.Threshold == nil {
		return DefaultStormThreshold
	}
	return *s.Threshold
}

// WindowOr is the storm window.
func (s Storm) WindowOr() time.Duration {
	if s.Window == nil {
		return DefaultStormWindow
	}
	return s.Window.Duration()
}
