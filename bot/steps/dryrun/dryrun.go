// Package dryrun is the executor used until Slack, Jira and PagerDuty are
// configured: for each step it logs the step's plan (steps.Planner), the
// calls the real executor would make, as JSON lines, one per call, and it
// keeps the idempotency rule of the real executors.
package dryrun

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"sync"
	"time"

	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/incident"
)

// Executor stands in for the Slack and Jira executors: for each job it
// logs the calls of the step's plan, the very plan the real executor
// sends, made without lookups (steps.Planner.Plan). It keeps the
// idempotency rule of the real executors: before "making" anything it
// looks for an earlier attempt's record (its log lines, by job key), so
// a job run twice (after a crash, say) is logged once.
type Executor struct {
	d steps.Deps
	p steps.Planner
	*journal
}

// journal is the log and what it holds: one per file, shared by the
// executors With makes, so that a step is logged once whichever of them
// runs it.
type journal struct {
	mu   sync.Mutex
	f    *os.File
	done map[string]bool
	// bookmarks are the links the log bookmarked, by channel: an update
	// of the war room knows them, as the real one lists them.
	bookmarks map[string]map[string]bool
}

// Line is one line of the dry-run log: call N of the Of calls of a
// step's plan, or, for a step whose plan has no call (Of 0: nothing to
// change, or nothing the dry run can name), a line without one, so that
// every step that ran is in the log.
type Line struct {
	Time     time.Time `json:"time"`
	Job      string    `json:"job"`
	Key      string    `json:"key"`
	Incident string    `json:"incident"`
	N        int       `json:"n"`
	Of       int       `json:"of"`
	steps.Call
}

var _ incident.Executor = (*Executor)(nil)

// New opens (or creates) the log at path and indexes the keys already in
// it. The lines of a step cut short by a crash mid-write (a torn last
// line, or fewer lines than its plan has calls) are cut off: the step
// runs again and logs its plan whole. slack and jira are the settings the
// real executors would use.
func New(path string, d steps.Deps, slack steps.SlackOptions, jira steps.JiraOptions) (*Executor, error) {
	if path == "" {
		path = "warroom-dryrun.jsonl"
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dry-run log: %w", err)
	}
	x := &Executor{d: d, p: steps.Planner{Deps: d, Slack: slack, Jira: jira},
		journal: &journal{f: f, done: map[string]bool{}, bookmarks: map[string]map[string]bool{}}}
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

// With returns an executor that plans under d, slack and jira (a reloaded
// configuration's) and logs to x's log: the steps either logged are known
// to both. Closing either closes the log.
func (x *Executor) With(d steps.Deps, slack steps.SlackOptions, jira steps.JiraOptions) *Executor {
	return &Executor{d: d, p: steps.Planner{Deps: d, Slack: slack, Jira: jira}, journal: x.journal}
}

// index reads the log and returns the length of its steps logged whole.
func (x *Executor) index() (int64, error) {
	r := bufio.NewReader(x.f)
	var good, off int64
	var step []steps.Call // the calls of the step being read
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return good, nil // a partial last line (no newline) is dropped
		}
		if err != nil {
			return 0, err
		}
		var l Line
		if json.Unmarshal(line, &l) != nil {
			return good, nil
		}
		off += int64(len(line))
		step = append(step, l.Call)
		if l.N == l.Of { // the step's last line: all of it is in
			x.logged(l.Key, step)
			step, good = nil, off
		}
	}
}

// logged notes that the step of key logged calls. The caller holds x.mu,
// or has x to itself.
func (x *journal) logged(key string, calls []steps.Call) {
	x.done[key] = true
	for _, c := range calls {
		if c.Method != "bookmarks.add" {
			continue
		}
		var b steps.SlackBookmark // a value of the type, or a map read back from the log
		if raw, err := json.Marshal(c.Args); err != nil || json.Unmarshal(raw, &b) != nil {
			continue
		}
		if x.bookmarks[b.ChannelID] == nil {
			x.bookmarks[b.ChannelID] = map[string]bool{}
		}
		x.bookmarks[b.ChannelID][b.Link] = true
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
	inc, f, calls, err := x.plan(ctx, j)
	if err != nil {
		return err
	}
	head := Line{Time: x.d.Now().UTC(), Job: string(j.Kind), Key: j.Key, Incident: inc.ID, Of: len(calls)}
	// The text as sent, readable: "<", ">" and "&" are not escaped.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	methods := make([]string, len(calls))
	for i := range max(len(calls), 1) {
		l := head
		if len(calls) > 0 {
			l.N, l.Call = i+1, calls[i]
			methods[i] = calls[i].System + " " + calls[i].Method
		}
		if err := enc.Encode(l); err != nil { // one line each
			return incident.Permanent(fmt.Errorf("dry run %s: %w", j.Key, err))
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.done[j.Key] {
		return nil
	}
	// One write: a crash cuts it short at worst, and New cuts that off.
	if _, err := x.f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("dry run %s: write log: %w", j.Key, err)
	}
	if err := x.f.Sync(); err != nil {
		return fmt.Errorf("dry run %s: sync log: %w", j.Key, err)
	}
	x.logged(j.Key, calls)
	x.d.Log.Info("dry run", "job", j.Kind, "key", j.Key, "calls", methods)
	return x.reported(ctx, j, inc, f)
}

// reported records, as the real summary and update steps do, the last
// timeline event the war room has been told: the dry-run log stands for
// the war room, so that the next update tells only what is new, and reads
// only the timeline after it (a storm's incident has thousands of
// events).
func (x *Executor) reported(ctx context.Context, j incident.Job, inc *incident.Incident, f steps.Facts) error {
	if j.Kind != incident.JobSlackPostSummary && j.Kind != incident.JobSlackUpdate || !inc.WarRoom || len(f.Timeline) == 0 {
		return nil
	}
	last := f.Timeline[len(f.Timeline)-1].ID
	if last <= inc.ReportedEvent {
		return nil
	}
	_, err := x.d.Service.RecordStep(ctx, inc.ID, func(inc *incident.Incident) (string, error) {
		inc.ReportedEvent = max(inc.ReportedEvent, last)
		return "", nil
	})
	return err
}

// plan makes the step's plan from the incident as it is now.
func (x *Executor) plan(ctx context.Context, j incident.Job) (*incident.Incident, steps.Facts, []steps.Call, error) {
	inc, err := steps.Incident(ctx, x.d.Store, j)
	if err != nil {
		return nil, steps.Facts{}, nil, err
	}
	switch j.Kind {
	case incident.JobPageAcknowledge, incident.JobPageResolve:
		// As the real step, follow a page only if one was sent.
		if err := steps.Paged(ctx, x.d, j.Kind, inc); errors.Is(err, steps.ErrNotPaged) {
			return inc, steps.Facts{}, nil, nil
		} else if err != nil {
			return nil, steps.Facts{}, nil, err
		}
	case incident.JobSlackPostSummary, incident.JobJiraCreateIssue:
		// As in the real steps, the first summary and the ticket show
		// the evidence found within the budget.
		if err := steps.WaitForEvidence(inc, x.d.EvidenceBudget, x.d.Now()); err != nil {
			return nil, steps.Facts{}, nil, err
		}
	}
	f, err := x.d.FactsFor(ctx, inc, &j)
	if err != nil {
		return nil, f, nil, err
	}
	x.mu.Lock()
	known := steps.Known{Bookmarks: maps.Clone(x.bookmarks[steps.Room(inc)])}
	x.mu.Unlock()
	calls, err := x.p.Plan(j, inc, f, known)
	return inc, f, calls, err
}
