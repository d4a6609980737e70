package bot_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident"
)

// A follow-up may be asked for once the incident resolved (README: "open
// or resolved"), so also once its war room is archived, days later, when
// the postmortem is written: asking must not leave a Slack step failed
// for good against the archived channel (warroom_jobs{state="failed"}).
func TestFollowupAfterTheArchive(t *testing.T) {
	t.Parallel()
	fake := workspace(t)
	h := startSlack(t, fake)
	h.deliver("alertmanager/firing-high-error-rate.json")
	h.waitFor("INC-1's war room", func() bool { return h.ready("INC-1") && h.settled("INC-1") })
	h.deliver("alertmanager/resolved-high-error-rate.json")
	h.settle()
	h.advance(config.DefaultArchiveAfter)
	h.waitFor("the archive", func() bool {
		for _, c := range fake.Channels() {
			if c.ID == h.incident("INC-1").SlackChannelID {
				return c.Archived
			}
		}
		return false
	})
	h.settle()
	if r := h.post("/api/v1/incidents/INC-1/followups", []byte(`{"actor": "alice", "text": "resize the pool by default"}`), nil); r.code != http.StatusCreated {
		t.Fatalf("POST followups: HTTP %d %s", r.code, r.body)
	}
	h.settle()
	h.advance(time.Hour) // past the first retries
	h.settle()
	for _, j := range h.incident("INC-1").Jobs {
		if j.State == incident.JobPending && j.LastError != "" {
			t.Errorf("after a follow-up in an archived war room, the step %s still retries: %s", j.Kind, j.LastError)
		}
		if j.State == incident.JobFailed {
			t.Errorf("after a follow-up in an archived war room, the step %s failed: %s", j.Kind, fmt.Sprint(j.LastError))
		}
	}
}
