package bot_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/internal/storetest"
)

// A commit the database itself refuses (internal/storetest.FailCommits: a
// deferred constraint, as a full disk or a lost connection would fail it),
// not a closed store: the webhook is answered 503, so that Alertmanager
// sends it again; nothing of it is stored or done (no incident, no step in
// the dry-run log); /readyz says so; and the same webhook, once the
// database takes commits again, opens the war room whole.
func TestFailedCommitIs503AndWritesNothing(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(b.Name(), func(t *testing.T) {
			t.Parallel()
			dsn := b.DSN(t)
			h := start(t, func(cfg *config.Config) { cfg.Storage.Driver, cfg.Storage.DSN = b.Driver, dsn })
			fault := storetest.FailCommits(t, b.Driver, dsn, "alerts")

			fault.On(t)
			r := h.post("/api/v1/alerts/alertmanager", fixture(t, "alertmanager/firing-high-error-rate.json"), nil)
			if r.code != http.StatusServiceUnavailable {
				t.Fatalf("webhook while commits fail: HTTP %d %s, want 503", r.code, r.body)
			}
			if incs := h.list("?all=true"); len(incs) != 0 {
				t.Fatalf("a failed commit left %d incidents: %+v", len(incs), incs[0])
			}
			if r := h.get("/readyz"); r.code != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "commit") {
				t.Errorf("readyz after a failed commit: HTTP %d %s", r.code, r.body)
			}
			if log, err := os.ReadFile(h.dryRun); err == nil && len(log) > 0 {
				t.Errorf("a failed commit made steps run: %s", log)
			}

			fault.Off(t)
			got := h.deliver("alertmanager/firing-high-error-rate.json")
			if len(got.Opened) != 1 || got.Opened[0] != "INC-1" {
				t.Fatalf("the same webhook after the fault: %+v", got)
			}
			if v := h.incident("INC-1"); !v.WarRoom || len(v.Alerts) == 0 {
				t.Errorf("the war room after the fault: war_room %v, %d alerts", v.WarRoom, len(v.Alerts))
			}
		})
	}
}
