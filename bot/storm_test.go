package bot_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
	"github.com/warroom/warroom/internal/loadgen"
)

// stormPayload is service i's webhook of a 40-service storm, firing or
// resolved: one alert, its fingerprint the same in both.
func stormPayload(i int, resolved bool) []byte {
	b := string(loadgen.Payload(loadgen.Options{Alerts: 1, Services: 40, Value: 0.031, Seed: "storm"}, i))
	if resolved {
		b = strings.ReplaceAll(b, `"status":"firing"`, `"status":"resolved"`)
		b = strings.Replace(b, `"endsAt":"0001-01-01T00:00:00Z"`, `"endsAt":"2026-11-26T05:00:00Z"`, 1)
	}
	return []byte(b)
}

// stormRun is what a 40-service storm made in Slack and Jira.
type stormRun struct {
	h          *harness
	slack      *slacktest.Server
	jira       *jiratest.Server
	warRooms   []*incident.Incident // their own channels, the storm's among them
	channels   int                  // created in Slack, the announce channel aside
	tickets    int
	announces  int
	stormRoom  string // the storm's summary as Slack holds it, "" without a storm
	stormID    string
	stormState string
}

// breachAll delivers the 40 services' webhooks, eight at a time, within
// a minute of the test clock, and waits for every war room's steps.
func breachAll(t *testing.T, threshold int) *stormRun {
	t.Helper()
	r := &stormRun{slack: workspace(t), jira: jiratest.New()}
	t.Cleanup(r.jira.Close)
	r.h = startJira(t, r.jira, "cloud", func(c *config.Config) {
		c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, r.slack.URL(), false
		c.Slack.AnnounceChannel = "reliability-alert"
		c.Storm.Threshold = &threshold
		// The storm, not the caps on new war rooms, is what this shows.
		c.Limits.MaxNewWarRoomsPerDelivery, c.Limits.MaxNewWarRoomsPerMinute = 1000, 1000
	})
	t.Cleanup(func() {
		if t.Failed() {
			n := map[string]int{}
			for _, c := range r.slack.Calls() {
				n[c.Method]++
			}
			t.Logf("Slack calls by method: %v", n)
		}
	})
	r.deliver(t, false)
	all := r.h.list("?all=true&limit=1000")
	if len(all) < 40 {
		t.Fatalf("%d incidents for 40 breaching services", len(all))
	}
	for _, inc := range all {
		if inc.WarRoom {
			r.warRooms = append(r.warRooms, inc)
		}
	}
	if threshold == 0 {
		// Forty channels wait on Slack's pace for conversations.create
		// (about 20 a minute, in real time): the tickets show the count.
		r.h.waitFor("40 tickets", func() bool { return len(r.jira.Issues()) == 40 })
	}
	for _, inc := range r.warRooms {
		if threshold > 0 {
			r.h.waitFor(inc.ID+"'s war room", func() bool { return r.h.ready(inc.ID) && r.h.jiraSettled(inc.ID) })
		}
	}
	r.observe(t)
	return r
}

// deliver sends every service's webhook, firing or resolved.
func (r *stormRun) deliver(t *testing.T, resolved bool) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range 40 {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if code, body := r.h.deliverBody(stormPayload(i, resolved)); code != 200 {
				t.Errorf("svc-%d: HTTP %d %s", i, code, body)
			}
		})
		if i%8 == 7 {
			r.h.clock.Add(10 * time.Second) // 40 services within a minute
		}
	}
	wg.Wait()
}

// observe counts what Slack and Jira hold, and reads the storm's room.
func (r *stormRun) observe(t *testing.T) {
	t.Helper()
	r.channels, r.announces = 0, 0
	for _, c := range r.slack.Channels() {
		if strings.HasPrefix(c.Name, "inc-") {
			r.channels++
		}
	}
	if ch, ok := r.slack.ChannelByName("reliability-alert"); ok {
		r.announces = len(messagesOf(r.slack, ch.ID, "warroom_announce"))
	}
	r.tickets = len(r.jira.Issues())
	for _, inc := range r.warRooms {
		if inc.IsStorm() {
			v := r.h.incident(inc.ID)
			r.stormID, r.stormState = inc.ID, string(v.State)
			if s := messagesOf(r.slack, v.SlackChannelID, "warroom_summary"); len(s) == 1 {
				r.stormRoom = blocksText(s[0])
			}
		}
	}
}

// A 40-service storm (40 services breaching within a minute) opens at
// most storm.threshold ordinary war rooms and one storm room: one
// channel, one announce line and one ticket for the rest, every service
// listed in the storm's room; once every service recovers, everything
// is resolved, the storm's ticket too. With storm.threshold 0 the same
// storm opens 40 war rooms: 40 channels queued behind Slack's pace and 40
// tickets.
func TestStormOfFortyServices(t *testing.T) {
	t.Parallel()
	t.Run("storm", func(t *testing.T) {
		t.Parallel()
		r := breachAll(t, 5)
		t.Logf("40 breaching services: %d channels, %d tickets, %d announce lines", r.channels, r.tickets, r.announces)
		eq(t, "war rooms", len(r.warRooms), 6)
		eq(t, "channels", r.channels, 6)
		eq(t, "tickets", r.tickets, 6)
		eq(t, "announce lines", r.announces, 6)
		if r.stormID == "" {
			t.Fatal("no storm was declared")
		}
		storm := r.h.incident(r.stormID)
		if !regexp.MustCompile(`^inc-\d{8}-storm-1$`).MatchString(storm.SlackChannel) {
			t.Errorf("storm channel #%s, want #inc-<date>-storm-1", storm.SlackChannel)
		}
		eq(t, "children", len(storm.Children), 35)
		eq(t, "the storm's kind", storm.Kind, incident.KindStorm)
		eq(t, "children listed by ?storm=", len(r.h.list("?storm="+strings.ToLower(r.stormID))), 35)
		if bad := r.h.get("/api/v1/incidents?storm=storm-1"); bad.code != 400 || !strings.Contains(string(bad.body), "not an incident ID") {
			t.Errorf("?storm=storm-1: %d %s, want 400 naming the bad ID", bad.code, bad.body)
		}
		eq(t, "linked war rooms", len(storm.Linked), 5)
		r.h.waitFor("the storm's room to list every service", func() bool {
			r.observe(t)
			return len(listedServices(r.stormRoom)) == 40
		})
		for _, id := range storm.Children {
			child := r.h.incident(id)
			if child.WarRoom || child.Storm != r.stormID || child.SlackChannelID != "" || child.JiraKey != "" {
				t.Errorf("%s: war room %v, storm %q, channel %q, ticket %q; want a child of %s", id, child.WarRoom, child.Storm, child.SlackChannelID, child.JiraKey, r.stormID)
			}
		}
		if reply := r.h.command("status " + r.stormID); !strings.Contains(reply, "Storm: 35 incidents joined, 5 war rooms opened just before it") {
			t.Errorf("/warroom status %s: %q", r.stormID, reply)
		}
		if reply := r.h.command("status " + storm.Children[0]); !strings.Contains(reply, "Storm: part of "+r.stormID) {
			t.Errorf("/warroom status %s: %q", storm.Children[0], reply)
		}
		is, _ := r.jira.Issue(storm.JiraKey)
		for i := range 40 {
			if !regexp.MustCompile(`svc\\?-` + fmt.Sprint(i) + `\b`).MatchString(is.Description) {
				t.Errorf("the storm's ticket does not list svc-%d", i)
			}
		}

		r.h.clock.Add(time.Minute)
		r.deliver(t, true)
		r.h.waitFor("every incident and the storm resolved", func() bool {
			for _, inc := range r.h.list("?all=true&limit=1000") {
				if inc.State != incident.Resolved {
					return false
				}
			}
			return r.h.jiraSettled(r.stormID) && r.h.settled(r.stormID)
		})
		if is, _ := r.jira.Issue(storm.JiraKey); is.Status != "Done" {
			t.Errorf("the storm's ticket is %q after the storm, want Done", is.Status)
		}
		r.observe(t)
		if !strings.Contains(r.stormRoom, "Storm over") {
			t.Errorf("the storm's room does not say it is over: %.300s", r.stormRoom)
		}
	})
	t.Run("threshold 0", func(t *testing.T) {
		t.Parallel()
		r := breachAll(t, 0)
		paced := 0
		for _, inc := range r.warRooms {
			for _, j := range r.h.incident(inc.ID).Jobs {
				if j.Kind == incident.JobSlackCreateChannel {
					paced++
				}
			}
		}
		t.Logf("40 breaching services without storms: %d war rooms, %d channels to create (%d made so far at Slack's pace), %d tickets",
			len(r.warRooms), paced, r.channels, r.tickets)
		eq(t, "war rooms", len(r.warRooms), 40)
		eq(t, "channels to create", paced, 40)
		eq(t, "tickets", r.tickets, 40)
		eq(t, "storm", r.stormID, "")
	})
}

// listedServices are the services a storm's room names.
func listedServices(room string) map[string]bool {
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bsvc-(\d+)\b`).FindAllStringSubmatch(room, -1) {
		out[m[1]] = true
	}
	return out
}
