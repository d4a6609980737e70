package slackbot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

// The buttons of the war-room summary and the permission action of each.
var buttonActions = map[string]string{
	slackmsg.ActionAck:      "ack",
	slackmsg.ActionMitigate: "mitigate",
	slackmsg.ActionResolve:  "resolve",
	slackmsg.ActionRollback: "rollback",
	slackmsg.ActionSilence:  "silence",
}

// interaction runs the button presses of a block_actions payload,
// whichever transport brought it, and returns what to tell the user
// (ephemeral); ok is false when there is nothing to say (another kind of
// interaction).
func (sl *Surface) interaction(ctx context.Context, ic *slack.InteractionCallback) (msg slackMessage, ok bool) {
	if ic.Type != slack.InteractionTypeBlockActions || len(ic.ActionCallback.BlockActions) == 0 {
		return slackMessage{}, false
	}
	ctx, cancel := context.WithTimeout(sl.begin(ctx), slackHandleBudget)
	defer cancel()
	if !cmdUserID.MatchString(ic.User.ID) {
		return cmdEphemeral("Slack sent this button press without a user; nothing done."), true
	}
	var lines []string
	for _, a := range ic.ActionCallback.BlockActions {
		lines = append(lines, sl.button(ctx, ic.User.ID, a))
	}
	return cmdEphemeral("%s", strings.Join(lines, "\n")), true
}

// button runs one button press by user and says how it went.
func (sl *Surface) button(ctx context.Context, user string, a *slack.BlockAction) string {
	action, ok := buttonActions[a.ActionID]
	if !ok {
		return "That button is not one of warroom's; nothing done."
	}
	id, err := incident.ParseID(a.Value)
	if err != nil {
		return "That button names no incident; nothing done."
	}
	inc, err := sl.store.Incident(ctx, id)
	if err != nil {
		return sl.errorText("button "+action, err)
	}
	if refusal := sl.authorize(ctx, action, user, inc); refusal != "" {
		return refusal
	}
	switch a.ActionID {
	case slackmsg.ActionAck:
		_, err = sl.svc.Ack(ctx, id, user)
	case slackmsg.ActionMitigate:
		_, err = sl.svc.Mitigate(ctx, id, user)
	case slackmsg.ActionResolve:
		_, err = sl.svc.Resolve(ctx, id, user, "")
	case slackmsg.ActionRollback:
		return sl.rollbackButton(ctx, user, inc)
	case slackmsg.ActionSilence:
		text, err := sl.settings(ctx).Silencer.Silence(ctx, inc, user, time.Hour)
		if err != nil {
			return sl.errorText("button "+action, err)
		}
		return "Done: " + slackmsg.Escape(text)
	}
	if err != nil {
		return sl.errorText("button "+action, err)
	}
	switch a.ActionID {
	case slackmsg.ActionAck:
		return fmt.Sprintf("You acknowledged %s.", id)
	case slackmsg.ActionMitigate:
		return fmt.Sprintf("You marked %s mitigated.", id)
	case slackmsg.ActionResolve:
		return fmt.Sprintf("You resolved %s.", id)
	}
	return ""
}
