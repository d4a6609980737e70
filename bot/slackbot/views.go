package slackbot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

// The commands that only read: where the open incidents stand, where one
// stands, its timeline.

func (sl *Surface) cmdList(ctx context.Context, _ *cmdCall) (slackMessage, error) {
	all, err := sl.store.Incidents(ctx, incident.Filter{})
	if err != nil {
		return slackMessage{}, err
	}
	var b strings.Builder
	n := 0
	for _, inc := range all {
		if !inc.State.Open() {
			continue
		}
		if n++; n <= maxListed {
			fmt.Fprintf(&b, "\n• *%s* %s — %s — %s — %s", inc.ID, slackmsg.Escape(inc.Service), inc.State,
				slackmsg.Escape(render.OneLine(inc.Title, 100)), cmdChannelRef(inc))
		}
	}
	switch {
	case n == 0:
		return cmdEphemeral("No open war rooms."), nil
	case n > maxListed:
		fmt.Fprintf(&b, "\n…and %d more", n-maxListed)
	}
	return cmdEphemeral("Open war rooms:%s", b.String()), nil
}

// maxFailedSteps bounds the failed steps status names.
const maxFailedSteps = 5

func (sl *Surface) cmdStatus(ctx context.Context, c *cmdCall) (slackMessage, error) {
	inc := c.inc
	total, firing, err := sl.store.CountAlerts(ctx, inc.ID)
	if err != nil {
		return slackMessage{}, err
	}
	jobs, err := sl.store.Jobs(ctx, inc.ID)
	if err != nil {
		return slackMessage{}, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%s: %s*\n", inc.ID, slackmsg.Escape(inc.Title))
	svc := slackmsg.Escape(inc.Service)
	if inc.Env != "" {
		svc += " (" + slackmsg.Escape(inc.Env) + ")"
	}
	fmt.Fprintf(&b, "Service: %s | Severity: %s | State: *%s*\n", svc, slackmsg.Escape(string(inc.Severity)), inc.State)
	fmt.Fprintf(&b, "Value: %s\n", render.ValueVsThreshold(inc))
	fmt.Fprintf(&b, "Opened: %s (%s ago)\n", inc.OpenedAt.UTC().Format(time.RFC3339),
		sl.now().Sub(inc.OpenedAt).Truncate(time.Second))
	fmt.Fprintf(&b, "Commander: %s | Comms: %s | Scribe: %s\n", cmdUserRef(inc.Commander), cmdUserRef(inc.Comms), cmdUserRef(inc.Scribe))
	fmt.Fprintf(&b, "War room: %s", cmdChannelRef(inc))
	if inc.JiraKey != "" {
		fmt.Fprintf(&b, " | Jira: %s", slackmsg.Escape(inc.JiraKey))
	}
	fmt.Fprintf(&b, "\nAlerts: %d firing of %d", firing, total)
	switch {
	case inc.IsStorm():
		fmt.Fprintf(&b, "\nStorm: %d incidents joined, %d war rooms opened just before it; the summary lists them", len(inc.Children), len(inc.Linked))
	case inc.Storm != "":
		fmt.Fprintf(&b, "\nStorm: part of %s, whose war room shows it", inc.Storm)
	}
	// Steps that failed for good (bad token, missing channel, refused
	// field) stop; responders must see them.
	var failed []string
	for _, j := range jobs {
		if j.State == incident.JobFailed {
			failed = append(failed, fmt.Sprintf("• `%s`: %s", j.Kind, slackmsg.EscapeCut(j.LastError, 300)))
		}
	}
	if n := len(failed); n > 0 {
		fmt.Fprintf(&b, "\n:warning: %d step(s) failed for good:\n%s", n, strings.Join(failed[:min(n, maxFailedSteps)], "\n"))
		if n > maxFailedSteps {
			fmt.Fprintf(&b, "\n…and %d more", n-maxFailedSteps)
		}
	}
	return cmdEphemeral("%s", b.String()), nil
}

func (sl *Surface) cmdTimeline(ctx context.Context, c *cmdCall) (slackMessage, error) {
	events, err := sl.store.Timeline(ctx, c.inc.ID)
	if err != nil {
		return slackMessage{}, err
	}
	head := fmt.Sprintf("*Timeline of %s* (%d events, UTC):", c.inc.ID, len(events))
	// The newest events matter most: take them from the end while they fit.
	var lines []string
	size := len(head)
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		line := fmt.Sprintf("`%s` %s — %s: %s", e.At.UTC().Format("Jan 2 15:04:05"), e.Kind, cmdUserRef(e.Actor), slackmsg.Escape(render.OneLine(e.Text, 200)))
		if size+len(line)+1 > maxTimelineText {
			head += fmt.Sprintf("\n…%d earlier events not shown", i+1)
			break
		}
		size += len(line) + 1
		lines = append(lines, line)
	}
	var b strings.Builder
	b.WriteString(head)
	for i := len(lines) - 1; i >= 0; i-- {
		b.WriteString("\n" + lines[i])
	}
	return cmdEphemeral("%s", b.String()), nil
}
