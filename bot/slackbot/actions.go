package slackbot

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

// parseSilence reads a silence duration: 30m, 2h, 1d; between a minute and
// a week.
func parseSilence(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < time.Minute || d > 7*24*time.Hour {
		return 0, fmt.Errorf("%q is not a duration between 1m and 7d (e.g. 30m, 2h, 1d)", s)
	}
	return d, nil
}

// maxDeploysListed bounds /warroom deploys.
const maxDeploysListed = 8

func (sl *Surface) cmdDeploys(ctx context.Context, c *cmdCall) (slackMessage, error) {
	service := ""
	if len(c.args) > 0 {
		service = slackPlain(c.args[0])
	} else if c.inc != nil {
		service = c.inc.Service
	}
	if service == "" || len(c.args) > 1 {
		return slackMessage{}, badUsage("name a service (or ask inside its war room)")
	}
	ds, err := sl.store.Deploys(ctx, incident.DeployFilter{Service: service, Limit: maxDeploysListed})
	if err != nil {
		return slackMessage{}, err
	}
	if len(ds) == 0 {
		return cmdEphemeral("No deploys of %s recorded. CI records them with `POST /api/v1/deploys` or `warroom deploys record`.", slackmsg.Escape(service)), nil
	}
	var suspect *incident.Deploy
	start := sl.now()
	if c.inc != nil && c.inc.Service == service {
		alerts, err := sl.store.Alerts(ctx, c.inc.ID, render.SummaryAlerts)
		if err != nil {
			return slackMessage{}, err
		}
		start = render.AlertStart(c.inc, alerts)
		if ev := c.inc.Evidence; ev != nil {
			suspect = ev.Suspect
		}
	}
	lines := []string{fmt.Sprintf("*Deploys of %s*, newest first:", slackmsg.Escape(service))}
	for _, d := range sl.settings(ctx).Hosts.Deploys(ds) {
		lines = append(lines, slackmsg.DeployLine(d, start, suspect != nil && d.SHA == suspect.SHA, ""))
	}
	return cmdEphemeral("%s", strings.Join(lines, "\n")), nil
}

func (sl *Surface) cmdRollback(_ context.Context, c *cmdCall) (slackMessage, error) {
	if len(c.args) > 0 {
		return slackMessage{}, badUsage("rollback takes no arguments but the incident")
	}
	text := slackmsg.RollbackText(c.inc.Evidence, c.inc.OpenedAt)
	if text == "" {
		text = "No evidence yet: warroom is still gathering the deploys."
	}
	return cmdEphemeral("*Rollback suggestion for %s*\n%s\nThe *Roll back* button of the summary asks for it (recorded on the timeline, and sent to the rule's rollback webhook if one is configured); warroom never runs commands itself.",
		c.inc.ID, slackmsg.Escape(text)), nil
}

func (sl *Surface) cmdSilence(ctx context.Context, c *cmdCall) (slackMessage, error) {
	if len(c.args) != 1 {
		return slackMessage{}, badUsage("silence needs a duration, e.g. 1h")
	}
	d, err := parseSilence(c.args[0])
	if err != nil {
		return slackMessage{}, badUsage("%s", err.Error())
	}
	if !c.inc.State.Open() {
		return slackMessage{}, incident.Errorf(incident.ECONFLICT, "%s is resolved", c.inc.ID)
	}
	text, err := sl.settings(ctx).Silencer.Silence(ctx, c.inc, c.user, d)
	if err != nil {
		return slackMessage{}, err
	}
	return cmdInChannel("*%s* %s", c.inc.ID, slackmsg.Escape(text)), nil
}

// rollbackButton records the decision to roll back, with the suggestion,
// and has the rule's webhook told.
func (sl *Surface) rollbackButton(ctx context.Context, user string, inc *incident.Incident) string {
	ev := inc.Evidence
	if ev == nil || ev.Suspect == nil || ev.Target == nil {
		why := "no suspect deploy with an earlier one to go back to"
		if ev != nil && ev.NoDeploys != "" {
			why = ev.NoDeploys
		}
		if _, err := sl.svc.Request(ctx, inc.ID, user, incident.EventRollbackRequested, "rollback requested by "+user+": "+why); err != nil {
			return sl.errorText("button rollback", err)
		}
		return fmt.Sprintf("Rollback of %s put on the timeline, but there is nothing to roll back: %s.", inc.ID, slackmsg.Escape(why))
	}
	text := fmt.Sprintf("rollback of %s to %s decided by %s", incident.ShortSHA(ev.Suspect.SHA), incident.ShortSHA(ev.Target.SHA), user)
	switch {
	case ev.Rollback != "":
		text += ": " + ev.Rollback
	case ev.RollbackWithheld != "":
		text += " (" + render.OneLine(ev.RollbackWithheld, 300) + ")"
	}
	var steps []incident.JobKind
	r, ok := sl.settings(ctx).Rules.Lookup(inc.Rule)
	hook := ok && r.Rollback.WebhookURL != ""
	if hook {
		steps = append(steps, incident.JobRollbackWebhook)
	}
	if _, err := sl.svc.Request(ctx, inc.ID, user, incident.EventRollbackRequested, text, steps...); err != nil {
		return sl.errorText("button rollback", err)
	}
	if hook {
		return "Rollback decided and sent to the deployer: " + slackmsg.Escape(text)
	}
	return "Rollback decided and put on the timeline (no rollback webhook configured, so run it yourself): " + slackmsg.Escape(text)
}
