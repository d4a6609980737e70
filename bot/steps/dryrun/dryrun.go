// Package dryrun is the executor used until Slack and Jira are
// configured: for each step it logs, as one JSON line, the call it would
// make, and keeps the idempotency rule of the real executors.
package dryrun

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/warroom/warroom/bot/render"
	"github.com/warroom/warroom/bot/render/jirawiki"
	"github.com/warroom/warroom/bot/render/slackmsg"
	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
)

// Executor stands in for the Slack and Jira executors: for each job it
// logs, as one JSON line, the call it would make. It keeps the
// idempotency rule of the real executors: before "making" anything it looks
// for an earlier attempt's record (its log line, by job key), so a job run
// twice (after a crash, say) is logged once.
type Executor struct {
	d     steps.Deps
	slack steps.SlackOptions
	jira  steps.JiraOptions

	mu   sync.Mutex
	f    *os.File
	done map[string]bool
}

// Call is one line of the dry-run log.
type Call struct {
	Time     time.Time      `json:"time"`
	Job      string         `json:"job"`
	Key      string         `json:"key"`
	Incident string         `json:"incident"`
	System   string         `json:"system"`
	Method   string         `json:"method"`
	Params   map[string]any `json:"params"`
}

var _ incident.Executor = (*Executor)(nil)

// New opens (or creates) the log at path and indexes the keys already in
// it. A torn last line, left by a crash mid-write, is cut off. slack and
// jira are the settings the real executors would use.
func New(path string, d steps.Deps, slack steps.SlackOptions, jira steps.JiraOptions) (*Executor, error) {
	if path == "" {
		path = "warroom-dryrun.jsonl"
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dry-run log: %w", err)
	}
	x := &Executor{d: d, slack: slack, jira: jira, f: f, done: map[string]bool{}}
	good, err := x.index()
	if err == nil {
		err = f.Truncate(good)
	}
	if err == nil {
		_, err = f.Seek(good, io.SeekStart)
	}
	if err != nil {
		_ = f.Close() // the error above is the one to report
		return nil, fmt.Errorf("dry-run log %s: %w", path, err)
	}
	return x, nil
}

// index reads the complete lines of the log and returns their length.
func (x *Executor) index() (int64, error) {
	r := bufio.NewReader(x.f)
	var good int64
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return good, nil // a partial last line (no newline) is dropped
		}
		if err != nil {
			return 0, err
		}
		var c Call
		if json.Unmarshal(line, &c) != nil {
			return good, nil
		}
		x.done[c.Key] = true
		good += int64(len(line))
	}
}

// Close closes the log.
func (x *Executor) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.f.Close()
}

// Execute implements incident.Executor.
func (x *Executor) Execute(ctx context.Context, j incident.Job) error {
	x.mu.Lock()
	seen := x.done[j.Key]
	x.mu.Unlock()
	if seen {
		return nil // an earlier attempt did it
	}
	call, err := x.render(ctx, j)
	if err != nil {
		return err
	}
	line, err := json.Marshal(call)
	if err != nil {
		return incident.Permanent(fmt.Errorf("dry run %s: %w", j.Key, err))
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.done[j.Key] {
		return nil
	}
	if _, err := x.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("dry run %s: write log: %w", j.Key, err)
	}
	if err := x.f.Sync(); err != nil {
		return fmt.Errorf("dry run %s: sync log: %w", j.Key, err)
	}
	x.done[j.Key] = true
	x.d.Log.Info("dry run", "job", call.Job, "key", call.Key, "system", call.System, "method", call.Method, "params", call.Params)
	return nil
}

// render builds the call a job would make, from the incident as it is now.
func (x *Executor) render(ctx context.Context, j incident.Job) (*Call, error) {
	inc, err := steps.Incident(ctx, x.d.Store, j)
	if err != nil {
		return nil, err
	}
	var args incident.JobArgs
	_ = json.Unmarshal(j.Args, &args)
	c := &Call{Time: x.d.Now().UTC(), Job: string(j.Kind), Key: j.Key, Incident: inc.ID, System: "slack"}
	channel := "#" + inc.SlackChannel
	summaryMeta := map[string]any{"event_type": "warroom_summary", "event_payload": map[string]string{"incident": inc.ID}}
	switch j.Kind {
	case incident.JobSlackCreateChannel:
		c.Method, c.Params = "conversations.create", map[string]any{"name": inc.SlackChannel, "is_private": x.slack.PrivateChannels}
	case incident.JobSlackSetTopic:
		c.Method, c.Params = "conversations.setTopic", map[string]any{"channel": channel, "topic": slackmsg.Topic(inc)}
	case incident.JobSlackInvite:
		c.Method, c.Params = "conversations.invite", map[string]any{"channel": channel, "users": x.responders(inc)}
	case incident.JobSlackPostSummary, incident.JobSlackUpdate:
		alerts, err := x.d.Store.Alerts(ctx, inc.ID, render.SummaryAlerts)
		if err != nil {
			return nil, err
		}
		total, _, err := x.d.Store.CountAlerts(ctx, inc.ID)
		if err != nil {
			return nil, err
		}
		c.Method = "chat.postMessage"
		if j.Kind == incident.JobSlackUpdate {
			c.Method = "chat.update"
		}
		c.Params = map[string]any{"channel": channel, "text": slackmsg.SummaryText(inc, alerts, total), "metadata": summaryMeta}
	case incident.JobSlackPinSummary:
		c.Method, c.Params = "pins.add", map[string]any{"channel": channel, "message": "summary"}
	case incident.JobSlackBookmarks:
		links := map[string]string{}
		if inc.JiraKey != "" && x.d.Sites.JiraURL != "" {
			links["Jira"] = x.d.Sites.JiraURL + "/browse/" + inc.JiraKey
		}
		c.Method, c.Params = "bookmarks.add", map[string]any{"channel_id": channel, "links": links}
	case incident.JobSlackAnnounce:
		c.Method, c.Params = "chat.postMessage", map[string]any{"channel": x.slack.AnnounceChannel,
			"text": fmt.Sprintf("%s %s: war room %s", inc.ID, slackmsg.Escape(inc.Title), channel), "metadata": summaryMeta}
	case incident.JobSlackArchive:
		current, err := steps.ArchiveDue(ctx, x.d.Store, inc, args.EventID)
		if err != nil {
			return nil, err
		}
		if !current {
			// Reopened since: this archive belongs to an earlier resolve
			// (a later one, if any, scheduled its own).
			c.Method, c.Params = "none", map[string]any{"skipped": "incident reopened since this resolve"}
			break
		}
		c.Method, c.Params = "conversations.archive", map[string]any{"channel": channel}
	case incident.JobJiraCreateIssue:
		c.System, c.Method = "jira", "POST /rest/api/2/issue"
		c.Params = map[string]any{"fields": map[string]any{
			"project": map[string]string{"key": x.jira.Project}, "issuetype": map[string]string{"name": x.jira.IssueType},
			"priority": map[string]string{"name": x.jira.Priorities[string(inc.Severity)]},
			"summary":  jirawiki.Summary(inc), "labels": []string{"warroom", "warroom-" + render.Slug(inc.ID), render.Slug(inc.Service)},
		}}
	case incident.JobJiraComment:
		text, err := x.eventText(ctx, inc.ID, args.EventID)
		if err != nil {
			return nil, err
		}
		c.System, c.Method = "jira", "POST /rest/api/2/issue/{key}/comment"
		c.Params = map[string]any{"issue": inc.JiraKey, "body": text}
	case incident.JobJiraTransition:
		name := x.jira.ResolveTransition
		if args.Target != incident.Resolved {
			name = x.jira.ReopenTransition
		}
		c.System, c.Method = "jira", "POST /rest/api/2/issue/{key}/transitions"
		c.Params = map[string]any{"issue": inc.JiraKey, "transition": name}
	case incident.JobCorrelateGather:
		c.System, c.Method = "correlate", "gather"
		c.Params = map[string]any{"service": inc.Service, "env": inc.Env, "sources": "none configured"}
	case incident.JobRollbackWebhook, incident.JobExpireSilences:
		c.System, c.Method = "none", string(j.Kind)
		c.Params = map[string]any{"skipped": "not configured"}
	case incident.JobJiraUpdate:
		c.System, c.Method = "jira", "PUT /rest/api/2/issue/{key}"
		c.Params = map[string]any{"issue": inc.JiraKey, "fields": "description"}
	default:
		return nil, incident.Permanent(fmt.Errorf("dry run: unknown job kind %q", j.Kind))
	}
	return c, nil
}

func (x *Executor) responders(inc *incident.Incident) []string {
	out := append([]string{}, x.slack.Responders...)
	if r, ok := x.d.Rules.Lookup(inc.Rule); ok {
		out = append(out, r.Responders...)
	}
	return out
}

func (x *Executor) eventText(ctx context.Context, id string, eventID int64) (string, error) {
	tl, err := x.d.Store.Timeline(ctx, id)
	if err != nil {
		return "", err
	}
	for _, e := range tl {
		if e.ID == eventID {
			return fmt.Sprintf("%s (%s, %s) [warroom-event:%d]", e.Text, e.Actor, e.At.Format(time.RFC3339), e.ID), nil
		}
	}
	return "", incident.Permanent(fmt.Errorf("event %d of %s not found", eventID, id))
}
