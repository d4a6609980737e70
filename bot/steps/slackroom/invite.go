package slackroom

import (
	"context"
	"fmt"
	"strings"

	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	islack "github.com/warroom/warroom/integrations/slack"
)

// invite invites the responders of the config, of the rule and the
// commander. A responder that cannot be found or invited is named on the
// timeline and skipped: one bad entry does not keep the others out.
func (x *Executor) invite(ctx context.Context, inc *incident.Incident) error {
	if inc.SlackChannelID == "" {
		return incident.Permanent(fmt.Errorf("%s has no war-room channel", inc.ID))
	}
	bot, err := x.client.BotUser(ctx)
	if err != nil {
		return err
	}
	var users []string
	seen := map[string]bool{bot: true}
	var problems []string
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			users = append(users, id)
		}
	}
	for _, e := range x.p.Responders(inc) {
		switch {
		case strings.HasPrefix(e, "@"):
			members, err := x.client.UserGroupMembers(ctx, e)
			if err != nil {
				if !permanentLookup(err) {
					return err
				}
				problems = append(problems, e+": "+slackReason(err))
				continue
			}
			for _, m := range members {
				add(m)
			}
		case strings.Contains(e, "@"):
			id, err := x.client.UserByEmail(ctx, e)
			if err != nil {
				if !permanentLookup(err) {
					return err
				}
				problems = append(problems, e+": "+slackReason(err))
				continue
			}
			add(id)
		case steps.IsUserID(e):
			add(e)
		case e != "":
			problems = append(problems, e+": not a user ID, @user-group or email")
		}
	}
	invited := 0
	for i, c := range x.p.Invite(inc, users) { // one call per user
		if _, err := x.send(ctx, c); err != nil {
			if !permanentLookup(err) {
				return err // rate limit or outage: run again; invites already done are success then
			}
			problems = append(problems, users[i]+": "+slackReason(err))
			continue
		}
		invited++
	}
	text := fmt.Sprintf("%d responders invited", invited)
	if len(problems) > 0 {
		text += "; not invited: " + strings.Join(problems, "; ")
	}
	_, err = x.d.Service.RecordStep(ctx, inc.ID, func(*incident.Incident) (string, error) { return text, nil })
	return err
}

// permanentLookup reports a per-responder failure that retrying cannot
// fix, as opposed to a rate limit or an outage.
func permanentLookup(err error) bool {
	if _, ok := islack.RetryAfter(err); ok {
		return false
	}
	return islack.ErrorCode(err) != "" && !islack.ServerError(err) || strings.Contains(err.Error(), "no user group")
}

// slackReason is Slack's error code, or the error, for the timeline.
func slackReason(err error) string {
	if code := islack.ErrorCode(err); code != "" {
		return code
	}
	return err.Error()
}
