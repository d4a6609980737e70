package config

import (
	"strings"
	"testing"
)

func TestLimitsConfig(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("limits:\n  max_new_war_rooms_per_delivery: 3\n  max_new_war_rooms_per_minute: 40\n"), "limits.yaml")
	if err != nil || c.Limits.MaxNewWarRoomsPerDelivery != 3 || c.Limits.MaxNewWarRoomsPerMinute != 40 {
		t.Fatalf("Parse: %+v, %v", c, err)
	}
	for in, want := range map[string]string{
		"limits:\n  max_new_war_rooms_per_delivery: -1\n":  "limits.max_new_war_rooms_per_delivery: -1 is not from 1 to 1000",
		"limits:\n  max_new_war_rooms_per_minute: 20000\n": "limits.max_new_war_rooms_per_minute: 20000 is not from 1 to 1000",
		"limits:\n  max_new_war_rooms_per_hour: 5\n":       `unknown key "max_new_war_rooms_per_hour" in limits`,
	} {
		if _, err := Parse([]byte(in), "limits.yaml"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q): %v, want %q", in, err, want)
		}
	}
}
