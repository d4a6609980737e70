package bot_test

import (
	"testing"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/internal/loadgen"
)

// The storm's room and ticket list about a hundred and 150 of its
// incidents and send responders to `warroom incidents list --storm ID`
// for the rest (D18: "the command that lists them all"). That command
// is GET /api/v1/incidents?storm=ID, and the CLI sets no limit: past the
// listing's default 200, the rest are nowhere.
func TestStormListingListsEveryChild(t *testing.T) {
	t.Parallel()
	threshold := 3
	h := start(t, func(c *config.Config) {
		c.Storm.Threshold = &threshold
		c.Limits.MaxNewWarRoomsPerDelivery, c.Limits.MaxNewWarRoomsPerMinute = 1000, 1000
	})
	const n = 250
	for i := range n {
		if code, body := h.deliverBody(loadgen.Payload(loadgen.Options{Alerts: 1, Services: n, Value: 0.031, Seed: "big"}, i)); code != 200 {
			t.Fatalf("svc-%d: HTTP %d %s", i, code, body)
		}
	}
	storm := h.incident("INC-4")
	if !storm.IsStorm() || len(storm.Children) != n-3 {
		t.Fatalf("INC-4: kind %q with %d children, want the storm of %d", storm.Kind, len(storm.Children), n-3)
	}
	if got := h.list("?storm=INC-4"); len(got) != len(storm.Children) {
		t.Errorf("incidents list --storm INC-4 lists %d of the storm's %d incidents", len(got), len(storm.Children))
	}
}
