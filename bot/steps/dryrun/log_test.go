package dryrun_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/bot/steps"
	"github.com/warroom/warroom/bot/steps/dryrun"
	"github.com/warroom/warroom/incident"
)

// A step is logged whole or not at all: opening the log cuts off the
// lines of a step a crash cut short (some of its calls, a torn line), so
// that the step runs again and logs its plan whole, and a step logged
// whole is not logged again.
func TestLogKeepsWholeSteps(t *testing.T) {
	t.Parallel()
	whole := `{"time":"2026-11-26T05:00:00Z","job":"slack.set_topic","key":"slack.set_topic:INC-1","incident":"INC-1","n":1,"of":2,"system":"slack","method":"conversations.setTopic","args":{"channel":"#inc-1","topic":"t"}}
{"time":"2026-11-26T05:00:00Z","job":"slack.set_topic","key":"slack.set_topic:INC-1","incident":"INC-1","n":2,"of":2,"system":"slack","method":"conversations.setPurpose","args":{"channel":"#inc-1","purpose":"p"}}
{"time":"2026-11-26T05:00:00Z","job":"slack.archive","key":"slack.archive:INC-1:9","incident":"INC-1","n":0,"of":0}
`
	cut := `{"time":"2026-11-26T05:00:00Z","job":"slack.invite","key":"slack.invite:INC-1","incident":"INC-1","n":1,"of":3,"system":"slack","method":"conversations.invite","args":{"channel":"#inc-1","users":"U1"}}
{"time":"2026-11-26T05:00:00Z","job":"slack.invite","key":"slack.invite:INC-1","incident":"INC-1","n":2,"of":3,"sys`
	path := filepath.Join(t.TempDir(), "dry.jsonl")
	if err := os.WriteFile(path, []byte(whole+cut), 0o600); err != nil {
		t.Fatal(err)
	}
	// No store: a step the log has whole is done before it is planned.
	x, err := dryrun.New(path, steps.Deps{Log: slog.New(slog.DiscardHandler), Now: time.Now}, steps.SlackOptions{}, steps.JiraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != whole {
		t.Errorf("log after opening:\n%s\nwant the whole steps only:\n%s", got, whole)
	}
	for _, key := range []string{"slack.set_topic:INC-1", "slack.archive:INC-1:9"} {
		kind, _, _ := strings.Cut(key, ":")
		j := incident.NewJob(incident.JobKind(kind), "INC-1", incident.JobArgs{}, time.Now())
		j.Key = key
		if err := x.Execute(context.Background(), j); err != nil {
			t.Errorf("%s, logged whole: %v, want done", key, err)
		}
		// The executor of a reloaded configuration shares the log, and
		// what it knows.
		y := x.With(steps.Deps{Log: slog.New(slog.DiscardHandler), Now: time.Now}, steps.SlackOptions{Responders: []string{"@new"}}, steps.JiraOptions{})
		if err := y.Execute(context.Background(), j); err != nil {
			t.Errorf("%s, logged whole, by the executor of a reload: %v, want done", key, err)
		}
	}
}
