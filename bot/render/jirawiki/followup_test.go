package jirawiki_test

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/warroom/warroom/bot/render/jirawiki"
	"github.com/warroom/warroom/incident"
)

func TestFollowupIssue(t *testing.T) {
	t.Parallel()
	inc := jiraIncident()
	inc.JiraKey = "OPS-1"
	ev := incident.Event{ID: 42, Kind: incident.EventFollowup, Actor: "U024BE7LH", At: jiraNow, Text: "alert on the connection pool"}
	if got, want := jirawiki.FollowupSummary(inc, ev.Text), "[INC-7] Follow-up: alert on the connection pool"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	want := "h2. Follow-up\nalert on the connection pool\n\n" +
		`Asked for by Slack user U024BE7LH on 2025-03-04 10:23 UTC, during INC\-7 (payment\-gateway, prod): High error rate on payment\-gateway. ` +
		"Its ticket is OPS-1, linked to this issue."
	if got := jirawiki.FollowupDescription(inc, ev); got != want {
		t.Errorf("description:\n%s\nwant:\n%s", got, want)
	}

	// What a responder typed is escaped: no macro, link, mention or
	// heading of theirs survives; the summary is plain text on one line,
	// within Jira's 255 (UTF-16 units).
	ev.Text = "{code}x{code} [evil|https://evil.example] [~admin] h1. big"
	d := jirawiki.FollowupDescription(inc, ev)
	for _, bad := range []string{"{code}", "[evil|", "[~admin]"} {
		if strings.Contains(d, bad) {
			t.Errorf("description keeps %q:\n%s", bad, d)
		}
	}
	long := strings.Repeat("😀", incident.MaxFollowupText)
	if s := jirawiki.FollowupSummary(inc, long); len(utf16.Encode([]rune(s))) > 255 || strings.ContainsAny(s, "\n\r") {
		t.Errorf("summary of %d UTF-16 units: %q", len(utf16.Encode([]rune(s))), s)
	}
	// A ticket key that is not one is escaped too.
	inc.JiraKey = "[x|https://evil.example]"
	if d := jirawiki.FollowupDescription(inc, ev); strings.Contains(d, "[x|") {
		t.Errorf("a key that is no key stands unescaped:\n%s", d)
	}
}
