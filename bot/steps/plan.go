package steps

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/warroom/warroom/incident"
)

// Planner makes the plans of the steps: for each kind of step, the calls
// that change the outside, from the incident, the step's arguments, the
// facts it renders and what the step's lookups found. The real executors
// send its plans, the dry run logs them and `warroom simulate` prints
// them: this is the one description of what a war room does.
type Planner struct {
	Deps
	Slack SlackOptions
	Jira  JiraOptions
}

// Known is what a plan made without lookups knows to be made already: the
// dry run knows what it logged.
type Known struct {
	// Bookmarks are the links bookmarked in the war room, by URL.
	Bookmarks map[string]bool
}

// Plan is the plan of step j as far as the incident, its facts and known
// tell it, with no lookup: what the dry run logs and simulate prints. A
// lookup would find nothing else made yet, and what only Slack or Jira
// knows stays as the config and the incident name it: the channel by its
// name until it exists, an announce channel by its name, responders as
// configured (a user group unexpanded), a transition by its name.
// Silences to expire are found in Alertmanager, so the plan without
// lookups has none.
//
// A kind with no outside change (correlate.gather, which only reads) has
// an empty plan.
func (p Planner) Plan(j incident.Job, inc *incident.Incident, f Facts, known Known) ([]Call, error) {
	var args incident.JobArgs
	if len(j.Args) > 0 {
		if err := json.Unmarshal(j.Args, &args); err != nil {
			return nil, incident.Permanent(fmt.Errorf("%s: bad arguments: %w", j.Key, err))
		}
	}
	switch j.Kind {
	case incident.JobSlackCreateChannel:
		return []Call{p.CreateChannel(inc)}, nil
	case incident.JobSlackSetTopic:
		return p.Topic(inc), nil
	case incident.JobSlackInvite:
		return p.Invite(inc, p.Responders(inc)), nil
	case incident.JobSlackPostSummary:
		c, err := p.PostSummary(inc, p.SlackView(inc, f))
		return []Call{c}, err
	case incident.JobSlackPinSummary:
		return []Call{p.Pin(inc)}, nil
	case incident.JobSlackBookmarks:
		return p.Bookmarks(inc, p.SlackView(inc, f).Links, known.Bookmarks), nil
	case incident.JobSlackAnnounce:
		ch := p.AnnounceChannel(inc)
		if ch == "" {
			return nil, nil
		}
		if !IsChannelID(ch) {
			ch = "#" + ch
		}
		return []Call{p.Announce(inc, ch)}, nil
	case incident.JobSlackUpdate:
		if !inc.WarRoom {
			return nil, nil
		}
		calls, _, err := p.Update(inc, p.SlackView(inc, f), f.Timeline, known.Bookmarks, false)
		return calls, err
	case incident.JobSlackArchive:
		if !ArchiveDue(inc, f.Timeline, args.EventID) {
			return nil, nil // reopened since: a later resolve schedules its own
		}
		return []Call{p.Archive(inc)}, nil
	case incident.JobJiraCreateIssue:
		return []Call{p.CreateIssue(inc, p.JiraView(inc, f))}, nil
	case incident.JobJiraUpdate:
		if inc.JiraKey == "" && !inc.WarRoom {
			return nil, nil
		}
		return []Call{p.SetDescription(inc, p.JiraView(inc, f))}, nil
	case incident.JobSlackUpdateTopic:
		if !inc.WarRoom {
			return nil, nil
		}
		return []Call{p.UpdateTopic(inc)}, nil
	case incident.JobJiraSetPriority:
		prio := p.Priority(inc)
		if inc.JiraKey == "" && !inc.WarRoom || prio == "" {
			return nil, nil
		}
		return []Call{p.SetPriority(inc, prio)}, nil
	case incident.JobJiraComment:
		if inc.JiraKey == "" && !inc.WarRoom {
			return nil, nil
		}
		ev, err := Event(inc, f.Timeline, args.EventID)
		if err != nil {
			return nil, err
		}
		return []Call{p.Comment(inc, ev)}, nil
	case incident.JobJiraTransition:
		if inc.JiraKey == "" && !inc.WarRoom || inc.State != args.Target {
			return nil, nil
		}
		name, resolution := p.TransitionTo(args.Target)
		return []Call{p.Transition(inc, JiraRef{Name: name}, resolution)}, nil
	case incident.JobJiraFollowup:
		if inc.JiraKey == "" && !inc.WarRoom {
			return nil, nil
		}
		ev, err := Event(inc, f.Timeline, args.EventID)
		if err != nil {
			return nil, err
		}
		return p.Followup(inc, ev), nil
	case incident.JobCorrelateGather:
		return nil, nil // reads only
	case incident.JobRollbackWebhook:
		c, ok, err := p.Rollback(inc, f.Timeline, j.Key, args.EventID)
		if !ok {
			return nil, err
		}
		return []Call{c}, err
	case incident.JobExpireSilences:
		return nil, nil // the silences are found in Alertmanager
	case incident.JobPageTrigger, incident.JobPageAcknowledge, incident.JobPageResolve:
		return p.planPage(j.Kind, inc), nil
	case incident.JobRemindAck, incident.JobRemindUpdate, incident.JobStormSettle:
		return nil, nil // the domain's: it changes nothing outside
	case incident.JobSlackNudge:
		if !inc.WarRoom {
			return nil, nil
		}
		ev, err := Event(inc, f.Timeline, args.EventID)
		if err != nil {
			return nil, err
		}
		ch := ""
		if ev.Kind == incident.EventNudgedAck {
			if ch = p.AnnounceChannel(inc); ch != "" && !IsChannelID(ch) {
				ch = "#" + ch
			}
		}
		return p.Nudge(inc, ev, ch, j.Key), nil
	case incident.JobSlackPostmortem:
		if !PostmortemDue(inc, f.Timeline, args.EventID) {
			return nil, nil // reopened since: its next resolve posts its own
		}
		return []Call{p.PostPostmortem(inc, f, args.EventID)}, nil
	case incident.JobJiraPostmortem:
		if inc.JiraKey == "" && !inc.WarRoom || !PostmortemDue(inc, f.Timeline, args.EventID) {
			return nil, nil
		}
		return []Call{p.AttachPostmortem(inc, f, args.EventID)}, nil
	}
	return nil, incident.Permanent(fmt.Errorf("no plan for steps of kind %q", j.Kind))
}

// Event returns the timeline event a step is about: one that is not
// there stops the step for good.
func Event(inc *incident.Incident, tl []incident.Event, id int64) (incident.Event, error) {
	for _, e := range tl {
		if e.ID == id {
			return e, nil
		}
	}
	return incident.Event{}, incident.Permanent(fmt.Errorf("event %d of %s not found", id, inc.ID))
}

// ArchiveDue reports whether an archive scheduled by the resolve event
// resolvedBy still stands: the incident is resolved, by that very event.
func ArchiveDue(inc *incident.Incident, tl []incident.Event, resolvedBy int64) bool {
	if inc.State != incident.Resolved {
		return false
	}
	var last int64
	for _, e := range tl {
		if e.Kind == incident.EventResolved {
			last = e.ID
		}
	}
	return last == resolvedBy
}

// dedupe returns xs without empty strings and repeats, in order.
func dedupe(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0:0]
	for _, s := range xs {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// trimChannel is a channel setting without its "#".
func trimChannel(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "#") }
