package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render/slackmsg"

	"github.com/slack-go/slack"

	"github.com/warroom/warroom/bot/config"
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
func (sl *slackSurface) interaction(ctx context.Context, ic *slack.InteractionCallback) (msg slackMessage, ok bool) {
	if ic.Type != slack.InteractionTypeBlockActions || len(ic.ActionCallback.BlockActions) == 0 {
		return slackMessage{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, slackHandleBudget)
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
func (sl *slackSurface) button(ctx context.Context, user string, a *slack.BlockAction) string {
	action, ok := buttonActions[a.ActionID]
	if !ok {
		return "That button is not one of warroom's; nothing done."
	}
	id, err := incident.ParseID(a.Value)
	if err != nil {
		return "That button names no incident; nothing done."
	}
	inc, err := sl.srv.store.Incident(ctx, id)
	if err != nil {
		return sl.errorText("button "+action, err)
	}
	if refusal := sl.authorize(ctx, action, user, inc); refusal != "" {
		return refusal
	}
	switch a.ActionID {
	case slackmsg.ActionAck:
		_, err = sl.srv.svc.Ack(ctx, id, user)
	case slackmsg.ActionMitigate:
		_, err = sl.srv.svc.Mitigate(ctx, id, user)
	case slackmsg.ActionResolve:
		_, err = sl.srv.svc.Resolve(ctx, id, user, "")
	case slackmsg.ActionRollback:
		return sl.rollbackButton(ctx, user, inc)
	case slackmsg.ActionSilence:
		text, err := sl.srv.actions.Silence(ctx, inc, user, time.Hour)
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

// authorize decides whether user may do action (on inc, nil for none) by
// slack.permissions (see permission): an action it leaves open is open to
// all; otherwise user must be listed, be a member of a listed user group
// (@handle), or be the incident's commander where "commander" is listed.
// It returns "" when allowed, else the refusal, which says who may. A
// user group that cannot be looked up allows nobody (and the refusal says
// so). Commands and buttons both pass here.
func (sl *slackSurface) authorize(ctx context.Context, action, user string, inc *incident.Incident) string {
	who, restricted := permission(sl.srv.cfg.Slack.Permissions, action)
	if !restricted {
		return ""
	}
	var groups []string
	for _, w := range who {
		switch {
		case strings.EqualFold(w, "commander"):
			if inc != nil && inc.Commander != "" && inc.Commander == user {
				return ""
			}
		case strings.HasPrefix(w, "@"):
			groups = append(groups, strings.TrimPrefix(w, "@"))
		case w == user:
			return ""
		}
	}
	var unchecked []string
	for _, g := range groups {
		members, err := sl.groups.members(ctx, g)
		if err != nil {
			sl.srv.log.Warn("slack: user group not checked", "group", g, "err", err)
			unchecked = append(unchecked, "@"+g)
			continue
		}
		for _, m := range members {
			if m == user {
				return ""
			}
		}
	}
	what := action
	if inc != nil {
		what += " " + inc.ID
	}
	refusal := fmt.Sprintf("Nobody may %s (slack.permissions.%s is empty).", what, action)
	if len(who) > 0 {
		refusal = fmt.Sprintf("Only %s may %s.", describeWho(who), what)
	}
	if len(unchecked) > 0 {
		refusal += fmt.Sprintf(" (Could not check the members of %s; try again.)", strings.Join(unchecked, ", "))
	}
	return refusal
}

// permission returns who may do action by perms (slack.permissions):
// its entry, if it has one. An action without an entry is open to all,
// as it always was, with one exception. Where an entry lists "commander",
// becoming the commander gives that right; so assign without an entry of
// its own may not stay open, or anybody could make themselves commander
// and then, say, resolve. It is then restricted to everyone the entries
// that list "commander" name, "commander" included: whoever may do what
// the commander may can hand out the role, and the commander can hand it
// over.
func permission(perms map[string][]string, action string) (who []string, restricted bool) {
	if who, ok := perms[action]; ok {
		return who, true
	}
	if action != "assign" {
		return nil, false
	}
	for _, a := range config.PermissionActions() {
		if !slices.ContainsFunc(perms[a], isCommander) {
			continue
		}
		for _, w := range perms[a] {
			if !slices.ContainsFunc(who, func(v string) bool { return v == w || isCommander(v) && isCommander(w) }) {
				who = append(who, w)
			}
		}
	}
	return who, len(who) > 0
}

func isCommander(w string) bool { return strings.EqualFold(w, "commander") }

// describeWho renders a permission list for a refusal: "@sre-oncall or
// the incident commander".
func describeWho(who []string) string {
	names := make([]string, 0, len(who))
	for _, w := range who {
		switch {
		case strings.EqualFold(w, "commander"):
			names = append(names, "the incident commander")
		case strings.HasPrefix(w, "@"):
			names = append(names, slackmsg.Escape(w))
		default:
			names = append(names, cmdUserRef(w))
		}
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
