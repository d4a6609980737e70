package bot_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/slack/slacktest"
)

// texts are the texts of a message's blocks, one a line.
func texts(t *testing.T, m slacktest.Message) string {
	t.Helper()
	var tree any
	if err := json.Unmarshal(m.Blocks, &tree); err != nil {
		t.Fatalf("blocks %s: %v", m.Blocks, err)
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				b.WriteString(s + "\n")
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(tree)
	return b.String()
}

// A rule's meeting bridge shows in the war room (a line of the summary
// and a bookmark) and in the ticket; rendered to a host links may not
// point at, it shows in both as not linked, with why, and is not
// bookmarked.
func TestBridgeInWarRoomAndTicket(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, bridge, allowed string
		summary, ticket       string
		bookmarked            bool
	}{
		{"allowed", "https://example.zoom.us/j/{{.Labels.service}}", "*.zoom.us",
			":telephone_receiver: Bridge: <https://example.zoom.us/j/payment-gateway|Join the bridge>",
			"* Bridge: [Join the bridge|https://example.zoom.us/j/payment-gateway]", true},
		{"another host", "https://{{.Labels.service}}.zoom.evil.example/j/1", "*.zoom.us",
			":telephone_receiver: Bridge _(not linked: host payment-gateway.zoom.evil.example is not in links.allowed_hosts)_",
			"* Bridge: Join the bridge (not linked: host payment\\-gateway.zoom.evil.example is not in links.allowed\\_hosts)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			slackFake := workspace(t)
			jiraFake := jiratest.New()
			t.Cleanup(jiraFake.Close)
			h := startJira(t, jiraFake, "cloud", func(c *config.Config) {
				c.Slack.BotToken, c.Slack.APIURL, c.Slack.DryRun = slacktest.BotToken, slackFake.URL(), false
				c.Rules[0].Links.Bridge = tc.bridge
				c.Links.AllowedHosts = append(c.Links.AllowedHosts, tc.allowed)
			})
			h.deliver("alertmanager/firing-high-error-rate.json")
			is := h.ticket(t, jiraFake, "INC-1")
			h.waitFor("the war room", func() bool {
				return h.incident("INC-1").SummaryTS != "" && h.settled("INC-1") && h.jiraSettled("INC-1")
			})
			room := h.incident("INC-1").SlackChannelID
			summary := messagesOf(slackFake, room, "warroom_summary")
			if len(summary) != 1 || !strings.Contains(texts(t, summary[0]), tc.summary) {
				t.Errorf("the summary lacks %q:\n%s", tc.summary, texts(t, summary[0]))
			}
			var marked bool
			for _, b := range slackFake.Bookmarks(room) {
				marked = marked || b.Title == "Join the bridge" && strings.Contains(b.Link, "zoom")
			}
			if marked != tc.bookmarked {
				t.Errorf("bridge bookmarked %v, want %v: %+v", marked, tc.bookmarked, slackFake.Bookmarks(room))
			}
			is, _ = jiraFake.Issue(is.Key)
			if !strings.Contains(is.Description, tc.ticket) {
				t.Errorf("the ticket lacks %q:\n%s", tc.ticket, is.Description)
			}
			if !tc.bookmarked && strings.Contains(is.Description, "evil.example/j/1") {
				t.Errorf("the withheld URL is in the ticket:\n%s", is.Description)
			}
		})
	}
}
