// Package jiraticket runs the Jira steps of a war room: file the ticket
// (once: a repeat searches for the incident's label first), keep its
// description up to date, comment the timeline's events and move it
// through its workflow on resolve and reopen. Each call is the step's plan
// (steps.Planner), sent through the typed client exactly as planned.
package jiraticket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/warroom/warroom/bot/render/jirawiki"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
	ijira "github.com/warroom/warroom/integrations/jira"
)

// Executor runs the Jira steps of a war room (docs/ARCHITECTURE.md, the steps), each safe
// to run twice.
type Executor struct {
	client *ijira.Client
	d      steps.Deps
	p      steps.Planner
}

var _ incident.Executor = (*Executor)(nil)

// Kinds are the steps the Jira executor runs (or the dry run in its
// place).
func Kinds() []incident.JobKind {
	return []incident.JobKind{incident.JobJiraCreateIssue, incident.JobJiraComment, incident.JobJiraTransition, incident.JobJiraUpdate,
		incident.JobJiraSetPriority, incident.JobJiraFollowup, incident.JobJiraPostmortem}
}

// New returns the Jira executor.
func New(client *ijira.Client, d steps.Deps, opts steps.JiraOptions) *Executor {
	return &Executor{client: client, d: d, p: steps.Planner{Deps: d, Jira: opts}}
}

// Execute implements incident.Executor.
func (x *Executor) Execute(ctx context.Context, j incident.Job) error {
	inc, err := steps.Incident(ctx, x.d.Store, j)
	if err != nil {
		return err
	}
	var args incident.JobArgs
	if err := json.Unmarshal(j.Args, &args); err != nil {
		return incident.Permanent(fmt.Errorf("%s: bad arguments: %w", j.Key, err))
	}
	switch j.Kind {
	case incident.JobJiraCreateIssue:
		err = x.create(ctx, inc, j)
	case incident.JobJiraComment:
		err = x.comment(ctx, inc, args.EventID)
	case incident.JobJiraTransition:
		err = x.transition(ctx, inc, args.Target)
	case incident.JobJiraUpdate:
		err = x.update(ctx, inc)
	case incident.JobJiraSetPriority:
		err = x.setPriority(ctx, inc)
	case incident.JobJiraFollowup:
		err = x.followup(ctx, inc, j, args.EventID)
	case incident.JobJiraPostmortem:
		err = x.postmortem(ctx, inc, j, args.EventID)
	default:
		return incident.Permanent(fmt.Errorf("no Jira step %s", j.Kind))
	}
	return x.outcome(err)
}

// outcome maps a Jira failure to what the job does next. A create whose
// outcome is unknown (5xx, no answer) waits out the search index lag, so
// that the retry's search finds the ticket if it was filed.
func (x *Executor) outcome(err error) error {
	if err == nil {
		return nil
	}
	var made *filed
	if errors.As(err, &made) {
		// What was filed stays filed: spend the attempt, so that the next
		// run searches for it (a snooze would give the attempt back).
		if wait, ok := ijira.RetryAfter(err); ok {
			return &incident.RetryError{Wait: max(wait, 5*time.Second), Err: err}
		}
		if ijira.Permanent(err) || incident.IsPermanent(err) {
			return incident.Permanent(err)
		}
		return err
	}
	if wait, ok := ijira.RetryAfter(err); ok {
		if wait <= 0 {
			wait = 5 * time.Second // 503 without Retry-After
		}
		return &incident.SnoozeError{Wait: wait, Err: err}
	}
	var lost *unknownCreate
	if errors.As(err, &lost) {
		// The ticket may be filed: the next attempt searches for it, once
		// the search index has caught up.
		return &incident.RetryError{Wait: x.indexLag(), Err: lost.err}
	}
	if ijira.Permanent(err) || incident.IsPermanent(err) {
		return incident.Permanent(err)
	}
	return err
}

func (x *Executor) indexLag() time.Duration { return x.p.Jira.IndexLag }

// send makes one planned call through the client, as planned; a create
// returns the new ticket's key.
func (x *Executor) send(ctx context.Context, c steps.Call) (string, error) {
	switch a := c.Args.(type) {
	case steps.JiraCreateIssue:
		return x.client.Create(ctx, a.Issue)
	case steps.JiraSetDescription:
		return "", x.client.SetDescription(ctx, a.Key, a.Fields.Description)
	case steps.JiraSetPriority:
		return "", x.client.SetPriority(ctx, a.Key, a.Fields.Priority.Name)
	case steps.JiraComment:
		return "", x.client.AddComment(ctx, a.Key, a.Body)
	case steps.JiraTransition:
		if a.Transition.ID == "" {
			break // Jira takes a transition by its ID only
		}
		resolution := ""
		if a.Fields != nil {
			resolution = a.Fields.Resolution.Name
		}
		return "", x.client.DoTransition(ctx, a.Key, a.Transition.ID, resolution)
	case steps.JiraLink:
		return "", x.client.Link(ctx, a.Type.Name, a.InwardIssue.Key, a.OutwardIssue.Key)
	case steps.JiraAttach:
		return "", x.client.Attach(ctx, a.Key, a.Filename, []byte(a.Content))
	}
	return "", incident.Permanent(fmt.Errorf("jira: cannot send %s %T", c.Method, c.Args))
}

// unknownCreate is a create that may have filed the ticket.
type unknownCreate struct{ err error }

func (e *unknownCreate) Error() string { return e.err.Error() }
func (e *unknownCreate) Unwrap() error { return e.err }

// create files the ticket once: the search for the incident's label finds
// a ticket an earlier run filed. A war room whose key fired again after
// reopen_window links its ticket to the earlier incident's; the key is
// stored first, so that a link that must wait (429) never files again.
func (x *Executor) create(ctx context.Context, inc *incident.Incident, j incident.Job) error {
	if inc.JiraKey != "" {
		return x.linkPrevious(ctx, inc, inc.JiraKey)
	}
	project, _, _ := x.p.TicketKind(inc)
	label := steps.TicketLabel(inc)
	// Only a run after one that may have reached Jira can find a ticket of
	// an earlier run. Its search trusts a miss only once the index has
	// caught up with that run (a crash or a lost lease leaves no RetryError
	// to wait for it).
	var found []ijira.Ref
	if !j.FirstRun() {
		if wait := j.LastRunAt.Add(x.indexLag()).Sub(x.d.Now()); !j.LastRunAt.IsZero() && wait > 0 {
			return &incident.SnoozeError{Wait: wait, Err: errors.New("an earlier run may have filed the ticket: waiting for Jira's search index")}
		}
		var err error
		if found, err = x.client.FindByLabel(ctx, project, label); err != nil {
			return err
		}
	}
	key, how := "", "filed"
	if len(found) > 0 {
		key, how = found[0].Key, "found (filed by an earlier run)"
	} else {
		if err := steps.WaitForEvidence(inc, x.d.EvidenceBudget, x.d.Now()); err != nil {
			return err
		}
		v, err := x.view(ctx, inc)
		if err != nil {
			return err
		}
		if key, err = x.send(ctx, x.p.CreateIssue(inc, v)); err != nil {
			if ijira.OutcomeUnknown(err) {
				return &unknownCreate{err}
			}
			return err
		}
	}
	if _, err := x.d.Service.AttachTicket(ctx, inc.ID, key, fmt.Sprintf("Jira %s %s", key, how)); err != nil {
		// Not stored: the next run is not a first run, and searches.
		return err
	}
	return x.linkPrevious(ctx, inc, key)
}

// linkPrevious links the ticket to the previous incident's of the same
// key, if any, once.
func (x *Executor) linkPrevious(ctx context.Context, inc *incident.Incident, key string) error {
	prev, err := x.previousTicket(ctx, inc)
	if err != nil || prev == "" {
		return err
	}
	return x.linkOnce(ctx, key, prev)
}

// previousTicket returns the ticket of the last resolved incident with the
// same key, if any: a new incident for a key that fired again after
// reopen_window.
func (x *Executor) previousTicket(ctx context.Context, inc *incident.Incident) (string, error) {
	list, err := x.d.Store.Incidents(ctx, incident.Filter{Service: inc.Service, State: incident.Resolved, All: true})
	if err != nil {
		return "", err
	}
	var best *incident.Incident
	for _, o := range list {
		if o.Key == inc.Key && o.Seq < inc.Seq && o.JiraKey != "" && (best == nil || o.Seq > best.Seq) {
			best = o
		}
	}
	if best == nil {
		return "", nil
	}
	return best.JiraKey, nil
}

// linkOnce links key to prev ("relates to") unless they are linked.
func (x *Executor) linkOnce(ctx context.Context, key, prev string) error {
	linked, err := x.client.Links(ctx, key)
	if err != nil {
		return err
	}
	for _, k := range linked {
		if k == prev {
			return nil
		}
	}
	_, err = x.send(ctx, x.p.Link(key, prev))
	return err
}

// view gathers what the ticket shows.
func (x *Executor) view(ctx context.Context, inc *incident.Incident) (jirawiki.View, error) {
	f, err := x.d.Facts(ctx, inc, math.MaxInt64)
	if err != nil {
		return jirawiki.View{}, err
	}
	return x.d.JiraView(inc, f), nil
}

// update brings the description up to date: evidence that arrived after
// the ticket was filed. Overwriting is safe to repeat.
func (x *Executor) update(ctx context.Context, inc *incident.Incident) error {
	if inc.JiraKey == "" {
		return x.waitForTicket(ctx, inc, incident.JobJiraUpdate)
	}
	v, err := x.view(ctx, inc)
	if err != nil {
		return err
	}
	_, err = x.send(ctx, x.p.SetDescription(inc, v))
	return err
}

// setPriority gives the ticket the priority jira.priorities maps the
// incident's severity to, unless it has it already: an earlier run set
// it, or the ticket was filed after the change. A severity the mapping
// does not name leaves the priority alone.
func (x *Executor) setPriority(ctx context.Context, inc *incident.Incident) error {
	if inc.JiraKey == "" {
		return x.waitForTicket(ctx, inc, incident.JobJiraSetPriority)
	}
	want := x.p.Priority(inc)
	if want == "" {
		return nil
	}
	have, err := x.client.Priority(ctx, inc.JiraKey)
	if err != nil {
		return err
	}
	if have == want {
		return nil
	}
	_, err = x.send(ctx, x.p.SetPriority(inc, want))
	return err
}

// comment adds a timeline event to the ticket once: the event's marker in
// a comment means an earlier attempt added it.
func (x *Executor) comment(ctx context.Context, inc *incident.Incident, eventID int64) error {
	if inc.JiraKey == "" {
		return x.waitForTicket(ctx, inc, incident.JobJiraComment)
	}
	tl, err := x.d.Store.TimelineSince(ctx, inc.ID, eventID-1)
	if err != nil {
		return err
	}
	ev, err := steps.Event(inc, tl, eventID)
	if err != nil {
		return err
	}
	marker := jirawiki.Marker(eventID)
	comments, err := x.client.Comments(ctx, inc.JiraKey)
	if err != nil {
		return err
	}
	for _, c := range comments {
		if strings.Contains(c.Body, marker) {
			return nil
		}
	}
	_, err = x.send(ctx, x.p.Comment(inc, ev))
	return err
}

// waitForTicket is the answer of a step that needs the ticket before it
// is filed: wait while the create step may still succeed; once it cannot,
// a comment or a transition fails for good (what it would have told the
// ticket is lost, and status says so), while a description or priority
// update, or the postmortem's attachment, gives up quietly: the ticket it
// would add to does not exist, and the create's own failure already says
// why (the draft is in the war room and the API all the same).
func (x *Executor) waitForTicket(ctx context.Context, inc *incident.Incident, kind incident.JobKind) error {
	if !inc.WarRoom {
		return nil
	}
	quiet := kind == incident.JobJiraUpdate || kind == incident.JobJiraSetPriority || kind == incident.JobJiraPostmortem
	return steps.AwaitNeed(ctx, x.d, kind, inc, !quiet)
}

// transition moves the ticket to the incident's state: the resolve
// transition (resolution Done) or the reopen one. A ticket already in the
// transition's target status is left alone.
func (x *Executor) transition(ctx context.Context, inc *incident.Incident, target incident.State) error {
	if inc.JiraKey == "" {
		return x.waitForTicket(ctx, inc, incident.JobJiraTransition)
	}
	name, resolution := x.p.TransitionTo(target)
	if inc.State != target {
		return nil // changed again since: a later step moves the ticket
	}
	// Twice: another transition of the incident (a reopen, then this
	// resolve) may move the ticket between the read of its transitions
	// and the read of its status, and a ticket that is not where the
	// first read left it is read again before the step gives up.
	for read := 1; ; read++ {
		ts, err := x.client.Transitions(ctx, inc.JiraKey)
		if err != nil {
			return err
		}
		var names []string
		for _, t := range ts {
			if !strings.EqualFold(t.Name, name) {
				names = append(names, fmt.Sprintf("%q", t.Name))
				continue
			}
			if !t.Resolution {
				resolution = "" // the transition's screen has no resolution
			}
			_, err := x.send(ctx, x.p.Transition(inc, steps.JiraRef{ID: t.ID}, resolution))
			return err
		}
		status, err := x.client.Status(ctx, inc.JiraKey)
		if err != nil {
			return err
		}
		if x.alreadyThere(status, target) {
			return nil
		}
		if read == 2 {
			return incident.Permanent(fmt.Errorf("%s (status %q) has no transition %q; it has %s", inc.JiraKey, status, name,
				orNone(strings.Join(names, ", "))))
		}
	}
}

// alreadyThere reports a status that is where the transition leads: a
// retry after the transition happened, or somebody moved it by hand.
func (x *Executor) alreadyThere(status string, target incident.State) bool {
	done := strings.EqualFold(status, "Done") || strings.EqualFold(status, "Closed") || strings.EqualFold(status, "Resolved")
	if target == incident.Resolved {
		return done
	}
	return !done
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
