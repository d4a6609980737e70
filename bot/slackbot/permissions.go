package slackbot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/bot/config"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/incident"
)

// authorize decides whether user may do action (on inc, nil for none) by
// slack.permissions (see permission): an action it leaves open is open to
// all; otherwise user must be listed, be a member of a listed user group
// (@handle), or be the incident's commander where "commander" is listed.
// It returns "" when allowed, else the refusal, which says who may. A
// user group that cannot be looked up allows nobody (and the refusal says
// so). Commands and buttons both pass here.
func (sl *Surface) authorize(ctx context.Context, action, user string, inc *incident.Incident) string {
	st := sl.settings(ctx)
	who, restricted := permission(st.Permissions, action)
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
		members, err := sl.groups.members(ctx, st.Directory, g)
		if err != nil {
			sl.log.Warn("slack: user group not checked", "group", g, "err", err)
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

// groupCache keeps user-group memberships for a while, so that a burst of
// button presses costs one usergroups.users.list call.
type groupCache struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[string]groupEntry
}

type groupEntry struct {
	members []string
	at      time.Time
}

var errNoDirectory = errors.New("no Slack directory configured")

// members returns the user IDs of the group handle (without "@"), asking
// dir when they are not known. Failures are not cached.
func (g *groupCache) members(ctx context.Context, dir Directory, handle string) ([]string, error) {
	if dir == nil {
		return nil, errNoDirectory
	}
	g.mu.Lock()
	e, ok := g.m[handle]
	g.mu.Unlock()
	if ok && g.now().Sub(e.at) < g.ttl {
		return e.members, nil
	}
	members, err := dir.UserGroupMembers(ctx, handle)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.m[handle] = groupEntry{members: members, at: g.now()}
	g.mu.Unlock()
	return members, nil
}
