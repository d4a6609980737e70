package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/incident"
	"github.com/warroom/warroom/incident/sqlstore"
	"github.com/warroom/warroom/internal/storetest"
)

// recordRules records every alert: no war room, no ticket.
type recordRules struct{}

func (recordRules) Evaluate(alerts []incident.Alert) []incident.Decision {
	out := make([]incident.Decision, len(alerts))
	for i, a := range alerts {
		out[i] = incident.Decision{Action: incident.ActionRecord, Rule: "r", Key: "r/service=" + a.Labels["service"],
			Service: a.Labels["service"], Env: "prod", Severity: incident.Warning}
	}
	return out
}

func TestCleanFollowupText(t *testing.T) {
	t.Parallel()
	if got, err := incident.CleanFollowupText("  add a canary\n\tfor the pool "); err != nil || got != "add a canary for the pool" {
		t.Errorf("CleanFollowupText = %q, %v", got, err)
	}
	if got, err := incident.CleanFollowupText(strings.Repeat("é", incident.MaxFollowupText)); err != nil || got == "" {
		t.Errorf("%d characters: %q, %v", incident.MaxFollowupText, got, err)
	}
	for in, want := range map[string]string{
		"":                       "a follow-up needs text",
		" \n\t ":                 "a follow-up needs text",
		strings.Repeat("x", 201): "a follow-up is at most 200 characters (this one has 201): it becomes the summary of a Jira issue; put the detail in a note",
		"ring \a the bell":       "a follow-up cannot hold the control character U+0007",
	} {
		_, err := incident.CleanFollowupText(in)
		if incident.ErrorCode(err) != incident.EINVALID || incident.ErrorMessage(err) != want {
			t.Errorf("CleanFollowupText(%q): %v, want EINVALID %q", in, err, want)
		}
	}
}

// A follow-up is one event with its actor and the Jira step keyed by
// it, in one transaction, on an open or a resolved war room; its filed
// event is written once, and Followups reads both back.
func TestFollowup(t *testing.T) {
	onWarRoom(t, func(t *testing.T, _ storetest.Backend, _ string, s *sqlstore.Store, svc *incident.Service) {
		ctx := context.Background()
		ev, err := svc.Followup(ctx, "INC-1", "U0ALICE01", "alert on the\nconnection pool")
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind != incident.EventFollowup || ev.Actor != "U0ALICE01" || ev.Text != "alert on the connection pool" || ev.ID == 0 {
			t.Errorf("event %+v", ev)
		}
		jobs, err := s.Jobs(ctx, "INC-1")
		if err != nil {
			t.Fatal(err)
		}
		want := incident.NewJob(incident.JobJiraFollowup, "INC-1", incident.JobArgs{EventID: ev.ID}, time.Now()).Key
		var keys []string
		for _, j := range jobs {
			keys = append(keys, j.Key)
		}
		if !strings.Contains(strings.Join(keys, " "), want) {
			t.Errorf("no step %s among %v", want, keys)
		}
		if incident.JobJiraFollowup.Needs() != incident.JobJiraCreateIssue {
			t.Errorf("%s needs %q, want the ticket", incident.JobJiraFollowup, incident.JobJiraFollowup.Needs())
		}

		// Resolved, it still takes follow-ups: that is when most are asked.
		if _, err := svc.Resolve(ctx, "INC-1", "U0ALICE01", "pool resized"); err != nil {
			t.Fatal(err)
		}
		second, err := svc.Followup(ctx, "INC-1", "U0BOB0001", "resize the pool by default")
		if err != nil {
			t.Fatalf("a follow-up on a resolved incident: %v", err)
		}

		for range 2 { // a repeat of the step finds its event
			if _, err := svc.FollowupFiled(ctx, "INC-1", *ev, "OPS-2"); err != nil {
				t.Fatal(err)
			}
		}
		if wrote, err := svc.FollowupFiled(ctx, "INC-1", *ev, "OPS-2"); err != nil || wrote {
			t.Errorf("a third record: wrote %v, %v", wrote, err)
		}
		if _, err := svc.FollowupFiled(ctx, "INC-1", incident.Event{ID: 1, Kind: incident.EventNote}, "OPS-3"); incident.ErrorCode(err) != incident.EINVALID {
			t.Errorf("a note recorded as a follow-up: %v", err)
		}
		tl, err := s.Timeline(ctx, "INC-1")
		if err != nil {
			t.Fatal(err)
		}
		filed := 0
		for _, e := range tl {
			if e.Kind == incident.EventFollowupFiled {
				filed++
				if e.Actor != incident.ActorSystem || e.Text != "follow-up OPS-2 filed: alert on the connection pool" {
					t.Errorf("filed event %+v", e)
				}
			}
		}
		if filed != 1 {
			t.Errorf("%d filed events, want 1", filed)
		}
		got := incident.Followups(tl)
		if len(got) != 2 || got[0].Key != "OPS-2" || got[0].Actor != "U0ALICE01" || got[1].Key != "" || got[1].Text != second.Text {
			t.Errorf("Followups = %+v", got)
		}

		if _, err := svc.Followup(ctx, "INC-404", "U0ALICE01", "x"); incident.ErrorCode(err) != incident.ENOTFOUND {
			t.Errorf("an unknown incident: %v", err)
		}
		if _, err := svc.Followup(ctx, "INC-1", "U0ALICE01", " "); incident.ErrorCode(err) != incident.EINVALID {
			t.Errorf("no text: %v", err)
		}
	})
}

// A recorded incident has no ticket to link a follow-up to.
func TestFollowupNeedsAWarRoom(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends {
		t.Run(b.Driver, func(t *testing.T) {
			t.Parallel()
			s := b.Open(t, b.DSN(t))
			svc := incident.NewService(s, recordRules{}, incident.Options{})
			openWarRoom(t, svc, "pay") // recorded, by these rules
			_, err := svc.Followup(context.Background(), "INC-1", "U0ALICE01", "add a canary")
			if incident.ErrorCode(err) != incident.ECONFLICT || incident.ErrorMessage(err) != "INC-1 has no war room, so no Jira ticket to link a follow-up to" {
				t.Errorf("a follow-up on a recorded incident: %v", err)
			}
			if tl, _ := s.Timeline(context.Background(), "INC-1"); len(incident.Followups(tl)) != 0 {
				t.Errorf("refused, and on the timeline: %+v", tl)
			}
		})
	}
}
