package dryrun_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/bot/steps/actions"
	"github.com/warroom/warroom/bot/steps/dryrun"
	"github.com/warroom/warroom/bot/steps/evidence"
	"github.com/warroom/warroom/bot/steps/jiraticket"
	"github.com/warroom/warroom/bot/steps/paging"
	"github.com/warroom/warroom/bot/steps/slackroom"
	"github.com/warroom/warroom/correlate"
	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/integrations/alertmanager"
	"github.com/warroom/warroom/integrations/alertmanager/amtest"
	ijira "github.com/warroom/warroom/integrations/jira"
	"github.com/warroom/warroom/integrations/jira/jiratest"
	"github.com/warroom/warroom/integrations/pagerduty"
	"github.com/warroom/warroom/integrations/pagerduty/pagerdutytest"
	islack "github.com/warroom/warroom/integrations/slack"
	"github.com/warroom/warroom/integrations/slack/slacktest"
	"github.com/warroom/warroom/rules"
)

// For every kind of step, the dry run logs the very calls the real
// executor makes: each step runs once through the dry run and once for
// real against the strict fakes (Slack, Jira, Alertmanager, and an
// httptest server as the rollback webhook), on the same incident and
// clock, and the dry-run lines must equal the requests the fakes took
// that change something (their lookups aside), method and arguments.
// The steps run in the order a war room runs them, so each finds the
// state its predecessors made. A kind without a case fails the test.
func TestDryRunLogsTheCallsTheExecutorsMake(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	covered := map[incident.JobKind]bool{}
	step := func(kind incident.JobKind, args incident.JobArgs) (logged []steps.Call, sent []steps.Call) {
		t.Helper()
		covered[kind] = true
		return w.run(ctx, incident.NewJob(kind, w.inc, args, w.clock.Now()))
	}
	same := func(kind incident.JobKind, args incident.JobArgs) {
		t.Helper()
		logged, sent := step(kind, args)
		if len(sent) == 0 {
			t.Errorf("%s: the fakes took no call: the case shows nothing", kind)
		}
		w.equal(kind, logged, sent)
	}

	// Evidence is pure reads: no plan, and no fake took a call.
	logged, sent := step(incident.JobCorrelateGather, incident.JobArgs{})
	if len(logged) != 0 || len(sent) != 0 {
		t.Errorf("%s: changes nothing outside, but the dry run logged %v and the fakes took %v", incident.JobCorrelateGather, logged, sent)
	}
	if inc := w.incident(ctx); inc.Evidence == nil || inc.Evidence.Suspect == nil {
		t.Fatalf("no suspect deploy in the evidence %+v", inc.Evidence)
	}

	same(incident.JobSlackCreateChannel, incident.JobArgs{})
	same(incident.JobSlackSetTopic, incident.JobArgs{})
	same(incident.JobSlackInvite, incident.JobArgs{})
	same(incident.JobSlackPostSummary, incident.JobArgs{})
	same(incident.JobSlackAnnounce, incident.JobArgs{})
	same(incident.JobSlackPinSummary, incident.JobArgs{})
	same(incident.JobSlackBookmarks, incident.JobArgs{}) // the runbook: no ticket yet
	same(incident.JobJiraCreateIssue, incident.JobArgs{})
	// The rule pages: the trigger, with the war room and the ticket
	// linked. The acknowledge and the resolve below follow it once it is
	// done.
	same(incident.JobPageTrigger, incident.JobArgs{})
	w.finish(ctx, incident.JobPageTrigger)

	// The reminders (and a storm's settling) are the domain's: no call of
	// their own, but the unacknowledged one puts a nudge on the timeline
	// for Slack to post, in the war room and the announce channel.
	w.clock.Add(5 * time.Minute)
	for _, k := range append(incident.ReminderKinds(), incident.StormKinds()...) {
		logged, sent := step(k, incident.JobArgs{Round: 1})
		if len(logged) != 0 || len(sent) != 0 {
			t.Errorf("%s: changes nothing outside, but the dry run logged %v and the fakes took %v", k, logged, sent)
		}
	}
	nudge := incident.NewJob(incident.JobSlackNudge, w.inc, incident.JobArgs{EventID: w.lastEvent(ctx, incident.EventNudgedAck)}, w.clock.Now())
	same(incident.JobSlackNudge, incident.JobArgs{EventID: w.lastEvent(ctx, incident.EventNudgedAck)})
	if n := len(w.logged(nudge.Key)); n != 2 {
		t.Errorf("the nudge: %d calls, want the war room's and the announce channel's", n)
	}

	// A restarted dry run knows from its log what it bookmarked.
	w.restartDryRun()
	w.clock.Add(time.Minute)
	if _, err := w.svc.Ack(ctx, w.inc, "U0ALICE01"); err != nil {
		t.Fatal(err)
	}
	ack := w.lastEvent(ctx, incident.EventAcknowledged)
	// The summary and the announce line in place, the ticket's bookmark
	// (the runbook's is there), and the change.
	same(incident.JobSlackUpdate, incident.JobArgs{EventID: ack})
	same(incident.JobJiraComment, incident.JobArgs{EventID: ack})
	same(incident.JobPageAcknowledge, incident.JobArgs{EventID: ack})
	same(incident.JobJiraUpdate, incident.JobArgs{})

	// A change of severity: the topic and the ticket's priority follow.
	w.clock.Add(time.Minute)
	if _, _, err := w.svc.SetSeverity(ctx, w.inc, "U0ALICE01", incident.Major); err != nil {
		t.Fatal(err)
	}
	sev := w.lastEvent(ctx, incident.EventSeverityChanged)
	same(incident.JobSlackUpdateTopic, incident.JobArgs{EventID: sev})
	same(incident.JobJiraSetPriority, incident.JobArgs{EventID: sev})

	// A follow-up: its issue, then the link to the ticket. Only Jira
	// knows the new issue's key: the dry run leaves it out of the link,
	// and the test maps the key the fake took back to nothing.
	w.clock.Add(time.Minute)
	fu, err := w.svc.Followup(ctx, w.inc, "U0ALICE01", "alert on the connection pool")
	if err != nil {
		t.Fatal(err)
	}
	logged, sent = step(incident.JobJiraFollowup, incident.JobArgs{EventID: fu.ID})
	if len(sent) != 2 {
		t.Errorf("%s: the fakes took %s, want the issue and its link", incident.JobJiraFollowup, show(sent))
	}
	for _, c := range sent {
		if c.Method == "POST /rest/api/2/issueLink" {
			c.Args.(map[string]any)["inwardIssue"] = map[string]any{}
		}
	}
	w.equal(incident.JobJiraFollowup, logged, sent)

	w.clock.Add(time.Minute)
	req, err := w.svc.Request(ctx, w.inc, "U0ALICE01", incident.EventRollbackRequested, "rollback decided by U0ALICE01",
		incident.JobRollbackWebhook)
	if err != nil {
		t.Fatal(err)
	}
	same(incident.JobRollbackWebhook, incident.JobArgs{EventID: req.ID})
	if _, err := w.actions.Silence(ctx, w.incident(ctx), "U0ALICE01", time.Hour); err != nil {
		t.Fatal(err)
	}

	w.clock.Add(time.Minute)
	// Jira takes a transition by its ID, which only Jira knows: the dry
	// run names it. The test maps the ID the fake took back to the name
	// through the fake's workflow, before the transition moves the
	// ticket.
	ts, err := w.jiraClient.Transitions(ctx, w.incident(ctx).JiraKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Resolve(ctx, w.inc, "U0ALICE01", "fixed"); err != nil {
		t.Fatal(err)
	}
	resolved := w.lastEvent(ctx, incident.EventResolved)
	logged, sent = step(incident.JobJiraTransition, incident.JobArgs{EventID: resolved, Target: incident.Resolved})
	for _, c := range sent {
		args := c.Args.(map[string]any)
		id := args["transition"].(map[string]any)["id"]
		for _, tr := range ts {
			if tr.ID == id {
				args["transition"] = map[string]any{"name": tr.Name}
			}
		}
	}
	if len(sent) == 0 {
		t.Errorf("%s: the fakes took no call", incident.JobJiraTransition)
	}
	w.equal(incident.JobJiraTransition, logged, sent)

	// The silences to expire are found in Alertmanager, by the tag of
	// their comment: the dry run, which asks nobody, names none. The
	// fake took exactly the plan of those it holds.
	var tagged []string
	for _, s := range w.am.Silences() {
		if strings.HasPrefix(s.Comment, steps.SilenceTag(w.inc)) {
			tagged = append(tagged, s.ID)
		}
	}
	logged, sent = step(incident.JobExpireSilences, incident.JobArgs{EventID: resolved})
	if len(logged) != 0 {
		t.Errorf("%s: the dry run logged %v, want no call", incident.JobExpireSilences, logged)
	}
	if len(tagged) != 1 {
		t.Fatalf("silences tagged for %s: %v, want the one made", w.inc, tagged)
	}
	w.equal(incident.JobExpireSilences, steps.Planner{}.ExpireSilences(tagged), sent)
	if s, _ := w.am.Silence(tagged[0]); s.State != amtest.StateExpired {
		t.Errorf("silence %s is %s, want expired", s.ID, s.State)
	}

	// The postmortem's draft, in the war room as a file (Slack's three
	// calls of an upload are the plan's one) and on the ticket.
	same(incident.JobSlackPostmortem, incident.JobArgs{EventID: resolved})
	same(incident.JobJiraPostmortem, incident.JobArgs{EventID: resolved})
	if f := w.slack.Files(); len(f) != 1 || !strings.HasPrefix(string(f[0].Content), "# Postmortem: "+w.inc) {
		t.Errorf("files in Slack: %+v", f)
	}

	same(incident.JobSlackArchive, incident.JobArgs{EventID: resolved})
	same(incident.JobPageResolve, incident.JobArgs{EventID: resolved})
	if got := w.pd.Status(w.inc); got != pagerdutytest.Resolved {
		t.Errorf("the page of %s is %q, want resolved", w.inc, got)
	}

	// The summary and the update told the war room what happened: their
	// dry runs recorded it, so that the next update tells only what is new.
	if fmt.Sprint(w.reported) != fmt.Sprint([]incident.JobKind{incident.JobSlackPostSummary, incident.JobSlackUpdate}) {
		t.Errorf("dry runs that recorded the event they told: %v, want the summary and the update", w.reported)
	}
	for _, k := range incident.JobKinds() {
		if !covered[k] {
			t.Errorf("no case for steps of kind %s: add one, so that its dry run is proved equal to its calls", k)
		}
	}
}

// world is one war room's outside: the strict fakes, a store, the real
// executors through the step table, and the dry run.
type world struct {
	t          *testing.T
	clock      *clock
	store      *sqlstore.Store
	svc        *incident.Service
	slack      *slacktest.Server
	jira       *jiratest.Server
	jiraClient *ijira.Client
	am         *amtest.Server
	pd         *pagerdutytest.Server
	hook       *hook
	real       *steps.Table
	dry        *dryrun.Executor
	newDry     func() (*dryrun.Executor, error)
	actions    *actions.Executor
	dryLog     string
	inc        string // the incident's ID
	// reported lists the steps whose dry run recorded the event it told.
	reported []incident.JobKind
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	w := &world{t: t, clock: &clock{now: time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC)}, dryLog: filepath.Join(dir, "dry.jsonl")}
	var err error
	if w.store, err = sqlstore.Open(ctx, sqlstore.SQLite, filepath.Join(dir, "warroom.db"), sqlstore.Options{Now: w.clock.Now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.store.Close() })

	w.slack = slacktest.New()
	t.Cleanup(w.slack.Close)
	w.slack.AddUser("U0ALICE01", "alice", "alice@example.com")
	w.slack.AddUser("U0BOB0001", "bob", "bob@example.com")
	announce := w.slack.AddChannel("reliability-alert", false, false)
	w.slack.SetMembers(announce, slacktest.BotUserID)
	w.jira = jiratest.New(jiratest.WithClock(w.clock.Now))
	t.Cleanup(w.jira.Close)
	w.jira.AddProject("OPS", "Operations", "Task") // follow-ups are tasks
	if w.jiraClient, err = ijira.New(ijira.Options{URL: w.jira.URL(), Deployment: ijira.Cloud,
		Email: jiratest.DefaultEmail, APIToken: jiratest.DefaultAPIToken}); err != nil {
		t.Fatal(err)
	}
	w.am = amtest.New(amtest.WithClock(w.clock.Now))
	t.Cleanup(w.am.Close)
	w.hook = newHook(t)
	w.pd = pagerdutytest.New(t)

	set, err := rules.New([]rules.Rule{{Name: "api-error-rate", Match: `{alertname="HighErrorRate"}`, Severity: incident.Critical,
		Responders: []string{"U0BOB0001"}, AnnounceChannel: announce, Runbook: "https://runbooks.example.com/{{.Service}}",
		Rollback: rules.Rollback{Command: "deployctl rollback {{.Service}} {{.TargetRevision}}", WebhookURL: w.hook.URL + "/rollback"}, Page: true}})
	if err != nil {
		t.Fatal(err)
	}
	w.svc = incident.NewService(w.store, set, incident.Options{Now: w.clock.Now, ArchiveAfter: time.Hour})
	d := steps.Deps{Store: w.store, Service: w.svc, Rules: set,
		Hosts:          render.NewHosts([]string{"runbooks.example.com"}, w.jira.URL()),
		Sites:          steps.Sites{JiraURL: w.jira.URL()},
		EvidenceBudget: time.Second, Log: slog.New(slog.DiscardHandler), Now: w.clock.Now}
	slackOpts := steps.SlackOptions{Responders: []string{"U0ALICE01"}}
	jiraOpts := steps.JiraOptions{Project: "OPS", IssueType: "Incident", Priorities: map[string]string{"critical": "Highest", "major": "High"},
		ResolveTransition: "Done", ReopenTransition: "Reopen", Labels: []string{"warroom"}, IndexLag: time.Second}

	src, err := evidence.NewSources(w.store, evidence.SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.actions = actions.New(d, alertmanager.NewSilenceClient(w.am.URL(), nil), "rollback-secret", nil)
	if w.real, err = steps.NewTable(incident.JobKinds(),
		steps.Route{Kinds: slackroom.Kinds(), Exec: slackroom.New(islack.New(slacktest.BotToken, w.slack.URL(), nil), d, slackOpts)},
		steps.Route{Kinds: jiraticket.Kinds(), Exec: jiraticket.New(w.jiraClient, d, jiraOpts)},
		steps.Route{Kinds: evidence.Kinds(), Exec: evidence.New(correlate.New(src, correlate.Options{Budget: time.Second, Now: w.clock.Now}), d)},
		steps.Route{Kinds: actions.Kinds(), Exec: w.actions},
		steps.Route{Kinds: paging.Kinds(), Exec: paging.New(pagerduty.New(pagerduty.Options{URL: w.pd.URL(), RoutingKey: pagerdutytest.RoutingKey}), d)},
		steps.Route{Kinds: incident.ReminderKinds(), Exec: w.svc.Reminders()},
		steps.Route{Kinds: incident.StormKinds(), Exec: w.svc.Storms()},
	); err != nil {
		t.Fatal(err)
	}
	w.newDry = func() (*dryrun.Executor, error) { return dryrun.New(w.dryLog, d, slackOpts, jiraOpts) }
	if w.dry, err = w.newDry(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.dry.Close() })

	// The suspect deploy and the one before it, then the alert.
	now := w.clock.Now()
	for _, dep := range []incident.Deploy{
		{Service: "payments", Env: "prod", SHA: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", FinishedAt: now.Add(-3 * time.Hour)},
		{Service: "payments", Env: "prod", SHA: "1b2c3d4e5f60718293a4b5c6d7e8f90123456789", FinishedAt: now.Add(-20 * time.Minute)},
	} {
		if _, err := w.svc.RecordDeploy(ctx, &dep); err != nil {
			t.Fatal(err)
		}
	}
	res, err := w.svc.Ingest(ctx, &incident.Delivery{Source: incident.SourceAlertmanager, Status: "firing", ReceivedAt: now,
		Alerts: []incident.Alert{{Fingerprint: "afb663c01ce7e058", Status: incident.AlertFiring, Source: incident.SourceAlertmanager,
			Labels:      map[string]string{"alertname": "HighErrorRate", "service": "payments", "env": "prod", "severity": "critical"},
			Annotations: map[string]string{"summary": "payments error rate <b>& up</b>", "error_rate": "0.031"},
			StartsAt:    now.Add(-5 * time.Minute)}}})
	if err != nil {
		t.Fatal(err)
	}
	opened := res.Incidents(incident.OutcomeOpened)
	if len(opened) != 1 {
		t.Fatalf("ingest opened %v, want one war room", opened)
	}
	w.inc = opened[0]
	return w
}

// restartDryRun closes the dry run and opens its log again.
func (w *world) restartDryRun() {
	w.t.Helper()
	if err := w.dry.Close(); err != nil {
		w.t.Fatal(err)
	}
	var err error
	if w.dry, err = w.newDry(); err != nil {
		w.t.Fatal(err)
	}
}

// run runs j through the dry run, then for real on the same state, and
// returns the calls the dry run logged and those the fakes took that
// change something.
func (w *world) run(ctx context.Context, j incident.Job) (logged, sent []steps.Call) {
	w.t.Helper()
	before := w.incident(ctx).ReportedEvent
	if err := w.dry.Execute(ctx, j); err != nil {
		w.t.Fatalf("dry run of %s: %v", j.Key, err)
	}
	logged = w.logged(j.Key)
	// The dry run records the last event it told, as the real summary and
	// update do; the real step then starts from the state the dry run
	// started from.
	if after := w.incident(ctx).ReportedEvent; after != before {
		if j.Kind != incident.JobSlackPostSummary && j.Kind != incident.JobSlackUpdate {
			w.t.Fatalf("the dry run of %s moved the reported event from %d to %d", j.Key, before, after)
		}
		if _, err := w.svc.RecordStep(ctx, w.inc, func(inc *incident.Incident) (string, error) {
			inc.ReportedEvent = before
			return "", nil
		}); err != nil {
			w.t.Fatal(err)
		}
		w.reported = append(w.reported, j.Kind)
	}
	mark := w.mark()
	if err := w.real.Execute(ctx, j); err != nil {
		w.t.Fatalf("%s: %v", j.Key, err)
	}
	return logged, w.sent(mark)
}

// logged reads the dry-run lines of the step of key: its calls, none for
// a step logged with none.
func (w *world) logged(key string) []steps.Call {
	w.t.Helper()
	f, err := os.Open(w.dryLog)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	var lines []dryrun.Line
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l dryrun.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			w.t.Fatalf("dry-run line %s: %v", sc.Text(), err)
		}
		if l.Key == key {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		w.t.Fatalf("%s is not in the dry-run log", key)
	}
	var calls []steps.Call
	for i, l := range lines {
		if l.Of != len(lines) && (l.Of != 0 || len(lines) != 1) || l.Of > 0 && l.N != i+1 {
			w.t.Errorf("%s: line %d is call %d of %d, among %d lines", key, i+1, l.N, l.Of, len(lines))
		}
		if l.Of > 0 {
			calls = append(calls, l.Call)
		}
	}
	return calls
}

// mark is how many calls each fake had taken.
type mark struct{ slack, jira, am, hook, pd int }

func (w *world) mark() mark {
	return mark{len(w.slack.Calls()), len(w.jira.Calls()), len(w.am.Calls()), len(w.hook.calls()), len(w.pd.Calls())}
}

// finish marks the incident's job of kind done, as the worker would
// after its run: the steps that follow it look at the jobs' states.
func (w *world) finish(ctx context.Context, kind incident.JobKind) {
	w.t.Helper()
	now := w.clock.Now()
	found := false
	err := w.store.Update(ctx, "", func(tx incident.Tx) error {
		found = false
		jobs, err := tx.ClaimJobs(1000, now.Add(time.Hour), time.Minute)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if j.Kind == kind && j.IncidentID == w.inc {
				found = true
				err = tx.FinishJob(j.Lease(), incident.JobDone, now, "", nil)
			} else {
				err = tx.ReleaseJob(j.Lease(), j.RunAt)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || !found {
		w.t.Fatalf("finish %s of %s: found %v, %v", kind, w.inc, found, err)
	}
}

// changes are the Slack methods that change something; the others are
// lookups.
var changes = []string{"conversations.create", "conversations.setTopic", "conversations.setPurpose", "conversations.invite",
	"chat.postMessage", "chat.update", "pins.add", "bookmarks.add", "conversations.archive", "conversations.unarchive"}

// sent are the calls the fakes took since m that change something, as
// Calls: Slack's form fields; Jira's route, with the path's parameters
// and the JSON body's fields as arguments; Alertmanager's likewise; the
// webhook's URL, idempotency key and body.
func (w *world) sent(m mark) []steps.Call {
	w.t.Helper()
	var out []steps.Call
	var upload map[string]any // the upload under way, of files.getUploadURLExternal
	for _, c := range w.slack.Calls()[m.slack:] {
		switch c.Method {
		case "files.getUploadURLExternal":
			// Slack's three calls of a file are the plan's one:
			// files.uploadV2, with the arguments of the three.
			upload = map[string]any{"filename": c.Params.Get("filename"), "length": c.Params.Get("length")}
			continue
		case "files.completeUploadExternal":
			var files []struct{ ID, Title string }
			if err := json.Unmarshal([]byte(c.Params.Get("files")), &files); err != nil || len(files) != 1 || upload == nil {
				w.t.Fatalf("files.completeUploadExternal %v (%v) after %v", c.Params, err, upload)
			}
			upload["title"], upload["channel_id"], upload["initial_comment"] = files[0].Title, c.Params.Get("channel_id"), c.Params.Get("initial_comment")
			for _, f := range w.slack.Files() {
				if f.ID == files[0].ID {
					upload["content"] = string(f.Content)
				}
			}
			out = append(out, steps.Call{System: steps.SystemSlack, Method: "files.uploadV2", Args: upload})
			continue
		}
		if !slices.Contains(changes, c.Method) {
			continue
		}
		args := map[string]any{}
		for k := range c.Params {
			args[k] = c.Params.Get(k)
		}
		out = append(out, steps.Call{System: steps.SystemSlack, Method: c.Method, Args: args})
	}
	for _, c := range w.jira.Calls()[m.jira:] {
		if c.Method == http.MethodGet || strings.HasPrefix(c.Route, "POST /rest/api/2/search") {
			continue
		}
		if strings.HasSuffix(c.Route, "/attachments") {
			out = append(out, steps.Call{System: steps.SystemJira, Method: c.Route, Args: w.attachment(c.Route, c.Path, c.Body)})
			continue
		}
		out = append(out, steps.Call{System: steps.SystemJira, Method: c.Route, Args: w.rest(c.Route, c.Path, c.Body)})
	}
	for _, c := range w.am.Calls()[m.am:] {
		if c.Method == http.MethodGet {
			continue
		}
		route := map[string]string{amtest.OpDeleteSilence: "DELETE /api/v2/silence/{id}", amtest.OpPostSilences: "POST /api/v2/silences"}[c.Op]
		out = append(out, steps.Call{System: steps.SystemAlertmanager, Method: route, Args: w.rest(route, c.Path, c.Body)})
	}
	for _, c := range w.pd.Calls()[m.pd:] {
		raw, err := json.Marshal(c.Event)
		if err != nil {
			w.t.Fatal(err)
		}
		var args map[string]any
		if err := json.Unmarshal(raw, &args); err != nil {
			w.t.Fatal(err)
		}
		if args["routing_key"] != pagerdutytest.RoutingKey {
			w.t.Errorf("PagerDuty took the routing key %v", args["routing_key"])
		}
		delete(args, "routing_key") // the client's, never in a plan
		out = append(out, steps.Call{System: steps.SystemPagerDuty, Method: "POST /v2/enqueue", Args: args})
	}
	for _, c := range w.hook.calls()[m.hook:] {
		var body any
		if err := json.Unmarshal(c.body, &body); err != nil {
			w.t.Errorf("webhook body %s: %v", c.body, err)
		}
		out = append(out, steps.Call{System: steps.SystemWebhook, Method: c.method,
			Args: map[string]any{"url": w.hook.URL + c.path, "idempotency_key": c.key, "body": body}})
	}
	return out
}

// rest reads a REST call as a Call's arguments: the parameters of the
// route's path ({key}) and the fields of the JSON body.
func (w *world) rest(route, path, body string) map[string]any {
	w.t.Helper()
	args := map[string]any{}
	if strings.TrimSpace(body) != "" {
		if err := json.Unmarshal([]byte(body), &args); err != nil {
			w.t.Errorf("%s: body %s: %v", route, body, err)
		}
	}
	_, tmpl, _ := strings.Cut(route, " ")
	want, got := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(want) != len(got) {
		w.t.Errorf("%s: path %s does not fit the route", route, path)
		return args
	}
	for i, seg := range want {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			args[strings.TrimSuffix(name, "}")] = got[i]
		}
	}
	return args
}

// attachment reads an attachment's multipart form as a Call's arguments:
// the path's key, the file's name and content.
func (w *world) attachment(route, path, body string) map[string]any {
	w.t.Helper()
	args := w.rest(route, path, "")
	boundary, _, _ := strings.Cut(strings.TrimPrefix(body, "--"), "\r\n")
	part, err := multipart.NewReader(strings.NewReader(body), boundary).NextPart()
	if err != nil || part.FormName() != "file" {
		w.t.Fatalf("%s: no file part (%v)", route, err)
	}
	content, err := io.ReadAll(part)
	if err != nil {
		w.t.Fatal(err)
	}
	args["filename"], args["content"] = part.FileName(), string(content)
	return args
}

// equal fails unless the calls the dry run logged are those the fakes
// took. A Slack form field is compared with the argument as text, or,
// for an argument that is not a string (blocks, metadata, a flag), as
// the JSON it carries.
func (w *world) equal(kind incident.JobKind, logged, sent []steps.Call) {
	w.t.Helper()
	if len(logged) != len(sent) {
		w.t.Errorf("%s: the dry run logged %d calls, the fakes took %d:\nlogged %s\nsent   %s", kind, len(logged), len(sent), show(logged), show(sent))
		return
	}
	for i := range logged {
		want, got := decode(w.t, logged[i]), decode(w.t, sent[i])
		if want.System == steps.SystemSlack {
			wantArgs, _ := want.Args.(map[string]any)
			gotArgs, _ := got.Args.(map[string]any)
			for k, v := range gotArgs {
				if _, isText := wantArgs[k].(string); !isText {
					var parsed any
					if err := json.Unmarshal([]byte(v.(string)), &parsed); err == nil {
						gotArgs[k] = parsed
					}
				}
			}
		}
		if !reflect.DeepEqual(want, got) {
			w.t.Errorf("%s: call %d differs:\ndry run %s\nsent    %s", kind, i+1, show(logged[i:i+1]), show(sent[i:i+1]))
		}
	}
}

// decode is c as read back from its JSON, as the dry-run log holds it.
func decode(t *testing.T, c steps.Call) steps.Call {
	t.Helper()
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out steps.Call
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func show(calls []steps.Call) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, c := range calls {
		_ = enc.Encode(c)
	}
	return b.String()
}

func (w *world) incident(ctx context.Context) *incident.Incident {
	w.t.Helper()
	inc, err := w.store.Incident(ctx, w.inc)
	if err != nil {
		w.t.Fatal(err)
	}
	return inc
}

func (w *world) lastEvent(ctx context.Context, kind incident.EventKind) int64 {
	w.t.Helper()
	tl, err := w.store.Timeline(ctx, w.inc)
	if err != nil {
		w.t.Fatal(err)
	}
	var id int64
	for _, e := range tl {
		if e.Kind == kind {
			id = e.ID
		}
	}
	if id == 0 {
		w.t.Fatalf("no %s event on %s", kind, w.inc)
	}
	return id
}

// clock is the test's time, moved by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// hook is the rollback webhook: it takes every request and keeps it.
type hook struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []hookCall
}

type hookCall struct {
	method, path, key string
	body              []byte
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("rollback webhook: %v", err)
		}
		h.mu.Lock()
		h.reqs = append(h.reqs, hookCall{method: r.Method, path: r.URL.Path, key: r.Header.Get("Idempotency-Key"), body: body})
		h.mu.Unlock()
		rw.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) calls() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}
